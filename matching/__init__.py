"""Coffee Rounds matching library: monthly small-group matching of hospital clinicians.

Pure NumPy/SciPy/scikit-learn; never imports the service.
"""

from matching._availability import (
    SLOTS_PER_WEEK,
    find_meeting_time,
    group_common_window,
    slot_matrix,
    start_matrix,
    weekly_slots,
)
from matching._explain import display_name, explain_group
from matching._partition import forbidden_pairs_used, partition, partition_score
from matching._people import (
    MatchWeights,
    PastGroup,
    Person,
    Topic,
    parse_availability,
)
from matching._result import MatchedGroup, RoundResult, RoundStats
from matching._round import RoundMatcher, match_round
from matching.introductions import (
    IntroductionProfile,
    IntroductionQuery,
    IntroductionRanker,
    RankedCandidate,
)
from matching.recommend import ResourceRanker, rank_resources

try:  # written in parallel by another engineer; optional until it lands
    from matching.datasets import default_topics, make_hospital_cohort
except ImportError:  # pragma: no cover
    default_topics = None  # type: ignore[assignment]
    make_hospital_cohort = None  # type: ignore[assignment]

__all__ = [
    "SLOTS_PER_WEEK",
    "IntroductionProfile",
    "IntroductionQuery",
    "IntroductionRanker",
    "MatchWeights",
    "MatchedGroup",
    "PastGroup",
    "Person",
    "RankedCandidate",
    "ResourceRanker",
    "RoundMatcher",
    "RoundResult",
    "RoundStats",
    "Topic",
    "default_topics",
    "display_name",
    "explain_group",
    "find_meeting_time",
    "forbidden_pairs_used",
    "group_common_window",
    "make_hospital_cohort",
    "match_round",
    "parse_availability",
    "partition",
    "partition_score",
    "rank_resources",
    "slot_matrix",
    "start_matrix",
    "weekly_slots",
]

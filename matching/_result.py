"""Result types of a matching round."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ._people import Topic

__all__ = ["MatchedGroup", "RoundResult", "RoundStats"]


@dataclass(frozen=True)
class MatchedGroup:
    """One coffee group.

    Attributes
    ----------
    members : tuple of str
        Person keys, in cohort order.
    topic : Topic or None
        None when the organization has no topic catalog.
    starters : tuple of three str
        Conversation starters (the topic's own, topped up with generic ones).
    reason : str
        Why these people were grouped, in one or two sentences.
    has_common_window : bool
        Whether all members share a 30-minute weekly window in the round's month.
    """

    members: tuple[str, ...]
    topic: Topic | None
    starters: tuple[str, str, str]
    reason: str
    has_common_window: bool


@dataclass
class RoundStats:
    """Quality figures of a round, for reports and monitoring.

    ``senior_trainee_mix_share`` is the number of groups with both a senior (attending, NP/PA)
    and a trainee (resident, fellow, student) divided by the number of groups that *could* be
    mixed, ``min(groups, seniors, trainees)``; None when no group can be mixed.
    ``repeats`` lists ``(key_a, key_b, month_last_grouped)``; ``avoid_violations`` lists
    do-not-match pairs that were nevertheless grouped (only when no partition avoids them).
    """

    n_people: int = 0
    n_groups: int = 0
    group_sizes: dict[int, int] = field(default_factory=dict)
    repeats: list[tuple[str, str, str]] = field(default_factory=list)
    avoid_violations: list[tuple[str, str]] = field(default_factory=list)
    groups_without_common_window: int = 0
    mean_affinity: float = 0.0
    mean_interest_similarity: float = 0.0
    senior_trainee_mix_share: float | None = None
    cross_department_share: float = 0.0
    elapsed_seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-friendly dictionary."""
        out = asdict(self)
        out["group_sizes"] = {str(k): v for k, v in sorted(self.group_sizes.items())}
        out["repeats"] = [list(r) for r in self.repeats]
        out["avoid_violations"] = [list(r) for r in self.avoid_violations]
        return out


@dataclass
class RoundResult:
    """Outcome of :meth:`RoundMatcher.match`."""

    groups: list[MatchedGroup]
    unplaced: list[str]
    warnings: list[str]
    stats: RoundStats

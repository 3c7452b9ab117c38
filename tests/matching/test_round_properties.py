"""Property tests of the hard rules: everyone placed once, sizes, do-not-match, no repeats
when a repeat-free grouping is known to exist."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import PastGroup, Person, match_round

ROLES = ("attending", "resident", "nurse", "student", "np_pa")
FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@st.composite
def cohorts(draw, min_n: int = 0, max_n: int = 13):
    n = draw(st.integers(min_n, max_n))
    # A do-not-match list forming a matching (each person avoids at most one other).
    order = draw(st.permutations(range(n)))
    n_pairs = draw(st.integers(0, n // 2))
    avoid: dict[int, set[str]] = {i: set() for i in range(n)}
    for k in range(n_pairs):
        a, b = order[2 * k], order[2 * k + 1]
        avoid[a].add(f"k{b}")  # one direction only: the rule applies both ways
    interests = st.lists(st.sampled_from(["sepsis", "wellness", "teaching", "research"]),
                         max_size=2, unique=True)
    people = [Person(key=f"k{i}", name=f"N{i}", role=draw(st.sampled_from(ROLES)),
                     interests=tuple(draw(interests)), avoid=frozenset(avoid[i]))
              for i in range(n)]
    return people


def pairs_together(result) -> set[frozenset[str]]:
    return {frozenset((a, b)) for g in result.groups for a in g.members for b in g.members
            if a != b}


@FAST
@given(cohorts(), st.sampled_from([(3, 4), (3, 3), (4, 4), (2, 3)]))
def test_everyone_placed_once_and_sizes_within_bounds(people, bounds) -> None:
    lo, hi = bounds
    result = match_round(people, month="2026-05", min_size=lo, max_size=hi)
    placed = [k for g in result.groups for k in g.members]
    assert len(placed) == len(set(placed))
    assert sorted(placed + result.unplaced) == sorted(p.key for p in people)
    if len(people) < 3:
        assert placed == []
        return
    if len(result.groups) == 1 and len(people) < 2 * lo:
        assert len(placed) == len(people)  # one group of everyone (e.g. 5 in 3-4)
        return
    assert all(lo <= len(g.members) <= hi for g in result.groups)
    assert len(result.unplaced) < lo  # only the remainder that no size mix can take


@FAST
@given(cohorts(min_n=6))
def test_do_not_match_pairs_are_never_grouped_when_avoidable(people) -> None:
    result = match_round(people, month="2026-05")
    together = pairs_together(result)
    for p in people:
        for other in p.avoid:
            assert frozenset((p.key, other)) not in together
    assert result.stats.avoid_violations == []


@FAST
@given(cohorts(min_n=6, max_n=13), st.randoms(use_true_random=False))
def test_no_repeats_when_a_repeat_free_grouping_exists(people, rnd) -> None:
    people = [Person(key=p.key, name=p.name, role=p.role) for p in people]  # no avoid lists
    keys = [p.key for p in people]
    rnd.shuffle(keys)
    # A known repeat-free grouping: consecutive chunks of a shuffled order.
    n = len(keys)
    chunks, start = [], 0
    n_groups = -(-n // 4)
    base, extra = divmod(n, n_groups)
    for g in range(n_groups):
        size = base + (1 if g < extra else 0)
        chunks.append(keys[start:start + size])
        start += size
    known = {frozenset((a, b)) for c in chunks for a in c for b in c if a != b}
    # History: random earlier pairs that the known grouping never uses.
    candidates = [(a, b) for i, a in enumerate(keys) for b in keys[i + 1:]
                  if frozenset((a, b)) not in known]
    past = rnd.sample(candidates, k=min(len(candidates), n))
    history = [PastGroup(f"2026-0{1 + k % 3}", pair) for k, pair in enumerate(past)]
    result = match_round(people, history=history, month="2026-05")
    assert result.stats.repeats == []
    assert not (pairs_together(result) & {frozenset(p) for p in past})

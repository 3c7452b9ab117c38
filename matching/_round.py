"""The monthly round: who is placed, how many groups of each size, and the optimization.

Order of concerns (see the issue): hard rules (everyone placed, sizes, do-not-match, no
repeats when avoidable), then a common time, then affinity; topics and reasons come last.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import numpy as np

from ._affinity import CohortFeatures
from ._blocks import bisection_order, feasible_group_counts, split_counts
from ._explain import explain_group
from ._history import PairHistory
from ._partition import forbidden_pairs_used, partition
from ._people import MatchWeights, PastGroup, Person, Topic, check_month
from ._repair import repair_groups
from ._repair3 import repair_groups_three_way
from ._repair_chain import repair_groups_chain
from ._repair_mix import fewest_groups_without_window, repair_mix_by_pools
from ._repair_polish import polish_groups
from ._repair_seats import repair_groups_by_seats
from ._repair_swaps import tabu_swap_groups
from ._result import MatchedGroup, RoundResult, RoundStats
from ._round_plan import planned_round
from ._topics import choose_topics, starters_for

__all__ = ["RoundMatcher", "match_round"]

#: Weight penalty of a do-not-match pair when it cannot be made forbidden-only.
_AVOID_PENALTY = 1000.0
#: Size mixes (group counts) tried when history forces a choice, for small cohorts.
_MAX_SIZE_MIXES = 6
_SIZE_SEARCH_LIMIT = 400
#: Up to this many people the optimizer runs on its deterministic iteration budget by default.
_DETERMINISTIC_LIMIT = 300
#: Months of repeat-free smaller-group rounds a bigger-group mix must leave possible, and the
#: cohort size up to which this lookahead runs (repeats only bind in small pools).
_LOOKAHEAD = 4
_LOOKAHEAD_LIMIT = 100
#: Extra optimizer seeds tried to keep next month repeat-free when only one size mix exists.
_RESEEDS = 4
#: Weight of the tie-break that spreads past partners (small: only breaks near-ties).
_FREEDOM_WEIGHT = 0.05
#: Up to this many people with history, this month's groups are the first round of a jointly
#: planned run of repeat-free rounds (``_round_plan``).
_PLAN_LIMIT = 64
#: Up to this many people per block, a grouping below 95% of the senior-trainee mixes its
#: windows allow is re-planned exactly (``_repair_mix``; pools are small and the programme
#: quick there).
_POOL_MIX_LIMIT = 300
#: Smallest per-block budget (seconds) at which the seat repair runs (large cohorts split
#: into many blocks leave each block too little time for it).
_SEATS_MIN_BUDGET = 4.0


class RoundMatcher:
    """Form this month's coffee groups.

    Parameters
    ----------
    min_size, max_size : int, default=3, 4
        Group size bounds of the organization.
    weights : MatchWeights, optional
        Affinity weights; ``MatchWeights()`` defaults when None.
    time_limit : float, optional
        Wall-clock budget in seconds for the optimizer: the whole round's budget when several
        blocks are solved, else the budget of each optimizer call (small cohorts with history
        compare a few size mixes). None: the optimizer's deterministic iteration budget up to
        300 people, else ``min(40, 10 + n / 200)`` seconds.
    block_size : int, default=1000
        Cohorts larger than this are split into blocks of compatible people (see ``_blocks``).
    random_state : int, default=0
        Seed; the same input and seed give the same groups (with a wall-clock ``time_limit``,
        or above ``block_size``, results can depend on machine speed).
    """

    def __init__(self, min_size: int = 3, max_size: int = 4, *,
                 weights: MatchWeights | None = None, time_limit: float | None = None,
                 block_size: int = 1000, random_state: int = 0) -> None:
        self.min_size = min_size
        self.max_size = max_size
        self.weights = weights
        self.time_limit = time_limit
        self.block_size = block_size
        self.random_state = random_state

    def _check_params(self) -> MatchWeights:
        for name in ("min_size", "max_size", "block_size", "random_state"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an integer, got {value!r}")
        if not 2 <= self.min_size <= self.max_size:
            raise ValueError(f"need 2 <= min_size <= max_size, got {self.min_size}, "
                             f"{self.max_size}")
        if self.block_size < 4 * self.max_size:
            raise ValueError(f"block_size must be at least {4 * self.max_size}")
        if self.time_limit is not None and not (isinstance(self.time_limit, int | float)
                                                and self.time_limit > 0):
            raise ValueError(f"time_limit must be a positive number, got {self.time_limit!r}")
        weights = self.weights if self.weights is not None else MatchWeights()
        if not isinstance(weights, MatchWeights):
            raise TypeError("weights must be a MatchWeights instance")
        return weights

    def match(self, people: Sequence[Person], *, history: Sequence[PastGroup] = (),
              topics: Sequence[Topic] = (), month: str) -> RoundResult:
        """Group ``people`` for ``month`` (``YYYY-MM``); see :class:`RoundResult`."""
        started = time.perf_counter()
        weights = self._check_params()
        check_month(month)
        people = list(people)
        for p in people:
            if not isinstance(p, Person):
                raise TypeError(f"people must be Person objects, got {type(p).__name__}")
        keys = [p.key for p in people]
        duplicates = sorted({k for k in keys if keys.count(k) > 1}) if len(set(keys)) < len(
            keys) else []
        if duplicates:
            raise ValueError(f"duplicate participant keys: {', '.join(duplicates[:10])}")
        warnings: list[str] = []
        placed, unplaced = self._choose_placed(people, warnings)
        if not placed:
            stats = RoundStats(n_people=len(people), elapsed_seconds=time.perf_counter() - started)
            return RoundResult(groups=[], unplaced=[p.key for p in people], warnings=warnings,
                               stats=stats)
        cohort = [people[i] for i in placed]
        features = CohortFeatures.from_people(cohort, month)
        hist = PairHistory.build([p.key for p in cohort], [p.avoid for p in cohort],
                                 history, month)
        warnings.extend(hist.warnings)
        groups, affinity, similarity = self._optimize(cohort, features, hist, weights, started)
        return self._assemble(cohort, people, unplaced, groups, affinity, similarity, features,
                              hist, topics, warnings, started)

    def _choose_placed(self, people: list[Person], warnings: list[str]
                       ) -> tuple[list[int], list[str]]:
        """Indices of the people to place; the rest are returned as unplaced keys."""
        n = len(people)
        if n < 3:
            warnings.append(f"only {n} active participant(s): at least 3 are needed, so nobody "
                            "was grouped this round")
            return [], [p.key for p in people]
        if feasible_group_counts(n, self.min_size, self.max_size):
            return list(range(n)), []
        if n < 2 * self.min_size:
            warnings.append(f"{n} people cannot be split into groups of {self.min_size}-"
                            f"{self.max_size}, so they form one group of {n}")
            return list(range(n)), []
        drop = next(r for r in range(1, n) if feasible_group_counts(n - r, self.min_size,
                                                                    self.max_size))
        rng = np.random.default_rng(self.random_state)
        ranking = sorted(range(n), key=lambda i: (people[i].priority, rng.random()))
        dropped = sorted(ranking[:drop])
        warnings.append(f"{n} people cannot all be placed in groups of {self.min_size}-"
                        f"{self.max_size}; {drop} not marked priority left unplaced: "
                        + ", ".join(people[i].key for i in dropped))
        return [i for i in range(n) if i not in dropped], [people[i].key for i in dropped]

    def _optimize(self, cohort: list[Person], features: CohortFeatures, hist: PairHistory,
                  weights: MatchWeights, started: float
                  ) -> tuple[list[list[int]], list[float], list[float]]:
        n = len(cohort)
        counts = feasible_group_counts(n, self.min_size, self.max_size)
        if not counts:  # one oversized group (e.g. 5 people with sizes 3-4)
            idx = np.arange(n)
            aff = features.affinity(idx, weights)
            sim = features.interest_similarity(idx)
            iu = np.triu_indices(n, 1)
            return [list(range(n))], [float(aff[iu].mean())], [float(sim[iu].mean())]
        total = self.time_limit
        if total is None and n > _DETERMINISTIC_LIMIT:
            total = min(40.0, 10.0 + n / 200.0)
        if n <= self.block_size:
            blocks = [(np.arange(n), counts)]
        else:
            order = bisection_order(features.embedding(random_state=self.random_state),
                                    max(self.block_size // 2, 1))
            plan = split_counts(n, counts[0], -(-n // self.block_size), self.min_size,
                                self.max_size)
            blocks, start = [], 0
            for size, n_groups in plan:
                blocks.append((np.sort(order[start:start + size]), [n_groups]))
                start += size
        groups: list[list[int]] = []
        affinity: list[float] = []
        similarity: list[float] = []
        for b, (idx, block_counts) in enumerate(blocks):
            budget = total
            if total is not None and len(blocks) > 1:
                left = total - (time.perf_counter() - started)
                budget = max(0.5, 0.5 * left / (len(blocks) - b))
            local, aff_matrix, sim_matrix = self._solve_block(idx, block_counts, features, hist,
                                                              weights, budget)
            for members in local:
                groups.append(sorted(int(idx[m]) for m in members))
                sub = np.ix_(members, members)
                iu = np.triu_indices(len(members), 1)
                affinity.append(float(aff_matrix[sub][iu].mean()))
                similarity.append(float(sim_matrix[sub][iu].mean()))
        order_ = sorted(range(len(groups)), key=lambda g: groups[g][0])
        return ([groups[g] for g in order_], [affinity[g] for g in order_],
                [similarity[g] for g in order_])

    def _solve_block(self, idx: np.ndarray, counts: list[int], features: CohortFeatures,
                     hist: PairHistory, weights: MatchWeights, budget: float | None
                     ) -> tuple[list[list[int]], np.ndarray, np.ndarray]:
        aff = features.affinity(idx, weights)
        past, penalty, avoid = hist.block_matrices(idx, features.n)
        forbidden = past | avoid
        base = aff - penalty - _AVOID_PENALTY * avoid
        if past.any() and len(idx) <= _LOOKAHEAD_LIMIT:
            # Tie-break toward grouping people whose past partners differ: people who met the
            # same others stay easy to group together later (Triska & Musliu's "freedom").
            met = past.astype(np.float64)
            common = met @ met
            base -= _FREEDOM_WEIGHT * common / max(float(common.max()), 1.0)
        np.fill_diagonal(base, 0.0)
        if len(idx) > _SIZE_SEARCH_LIMIT or not past.any():
            counts = counts[:1]
        elif len(counts) > _MAX_SIZE_MIXES:
            # Fewest groups first (most max-size groups), then evenly up to all-min-size.
            step = (len(counts) - 1) / (_MAX_SIZE_MIXES - 1)
            counts = sorted({counts[round(k * step)] for k in range(_MAX_SIZE_MIXES)})
        planned = None
        if past.any() and len(idx) <= _PLAN_LIMIT:
            planned = planned_round(aff, base, forbidden, counts, min_size=self.min_size,
                                    max_size=self.max_size, seed=self.random_state,
                                    budget=budget)
        if planned is not None:
            found, keep_apart = planned
        else:
            found = self._best_size_mix(aff, base, past, penalty, avoid, counts, budget)
            keep_apart = forbidden
        # The repair gets 60% of the optimizer's budget on top (no limit without a budget).
        deadline = None if budget is None else time.perf_counter() + max(0.6 * budget, 0.2)
        found = repair_groups(found, features.starts[idx], base, keep_apart,
                              senior=features.senior[idx] > 0, trainee=features.trainee[idx] > 0,
                              min_size=self.min_size, seed=self.random_state,
                              deadline=deadline)
        # Then triples of groups, for fixes that need a 3-cycle of moves (its own 40% budget).
        deadline = None if budget is None else time.perf_counter() + max(0.4 * budget, 0.2)
        found = repair_groups_three_way(found, features.starts[idx], base, keep_apart,
                                        senior=features.senior[idx] > 0,
                                        trainee=features.trainee[idx] > 0,
                                        min_size=self.min_size, seed=self.random_state,
                                        deadline=deadline)
        # Then everyone at once: seats of the groups reassigned around their meeting starts
        # (fixes that need a role to travel through several groups; often raises affinity).
        # Against a deadline it goes before the chain search, as it fixes the most per second;
        # with no deadline the chain search runs to the end first and this pass polishes it.
        if budget is not None:
            found = self._seats(found, idx, features, base, keep_apart, budget)
        # Then chains of sideways swaps through other groups, for what no local re-split fixes.
        deadline = None if budget is None else time.perf_counter() + max(0.4 * budget, 0.2)
        found = repair_groups_chain(found, features.starts[idx], base, keep_apart,
                                    senior=features.senior[idx] > 0,
                                    trainee=features.trainee[idx] > 0, min_size=self.min_size,
                                    seed=self.random_state, deadline=deadline)
        found = self._seats(found, idx, features, base, keep_apart, budget)
        # Once windows are held exactly, a bonus for pairs whose free times coincide only
        # crowds out shared interests: the last passes use the affinity without it.
        settled = base - aff + features.affinity(idx, dataclasses.replace(
            weights, no_common_time=0.0))
        senior, trainee = features.senior[idx] > 0, features.trainee[idx] > 0
        if len(idx) <= _POOL_MIX_LIMIT:
            # More groups without a window than the cohort needs, or short of 95% of the mixes
            # its windows allow: re-plan exactly by pools.
            lacking = sum(not np.logical_and.reduce(features.starts[idx[g]], axis=0).any()
                          for g in found)
            fewest, _ = fewest_groups_without_window(
                features.starts[idx], senior, trainee, [len(g) for g in found],
                at_most=lacking, time_limit=budget)
            mixed = repair_mix_by_pools(found, features.starts[idx], settled, keep_apart,
                                        senior=senior, trainee=trainee,
                                        min_size=self.min_size, max_without_window=fewest,
                                        seed=self.random_state, time_limit=budget)
            if mixed is not found:
                found = self._seats(mixed, idx, features, base, keep_apart, budget, rounds=30)
        deadline = None if budget is None else time.perf_counter() + max(0.2 * budget, 0.2)
        found = polish_groups(found, features.starts[idx], settled, keep_apart, senior=senior,
                              trainee=trainee, min_size=self.min_size, deadline=deadline)
        if len(idx) <= _POOL_MIX_LIMIT:
            # Past the pair-split optimum through exchanges that first lose a little (each
            # step scores all n^2 swaps, so only for small blocks).
            deadline = None if budget is None else time.perf_counter() + max(0.3 * budget, 0.2)
            swapped = tabu_swap_groups(found, features.starts[idx], settled, keep_apart,
                                       senior=senior, trainee=trainee, seed=self.random_state,
                                       deadline=deadline)
            found = polish_groups(swapped, features.starts[idx], settled, keep_apart,
                                  senior=senior, trainee=trainee, min_size=self.min_size,
                                  deadline=deadline)
        return found, aff, features.interest_similarity(idx)

    def _seats(self, found: list[list[int]], idx: np.ndarray, features: CohortFeatures,
               base: np.ndarray, keep_apart: np.ndarray, budget: float | None,
               rounds: int = 6) -> list[list[int]]:
        if budget is not None and budget < _SEATS_MIN_BUDGET:
            return found  # one assignment costs about a second per 1,000 people
        deadline = None if budget is None else time.perf_counter() + max(0.2 * budget, 0.2)
        return repair_groups_by_seats(found, features.starts[idx], base, keep_apart,
                                      senior=features.senior[idx] > 0,
                                      trainee=features.trainee[idx] > 0, rounds=rounds,
                                      seed=self.random_state, deadline=deadline)

    def _best_size_mix(self, aff: np.ndarray, base: np.ndarray, past: np.ndarray,
                       penalty: np.ndarray, avoid: np.ndarray, counts: list[int],
                       budget: float | None) -> list[list[int]]:
        """The optimizer's grouping for the best number of groups: fewest do-not-match pairs,
        then fewest repeats, then a size mix that keeps next months repeat-free, then most
        max-size groups."""
        n = base.shape[0]
        forbidden = past | avoid
        bounds_of = {g: [(self.min_size, self.max_size)] * g for g in counts}
        best: tuple[tuple[int, int, int, int], list[list[int]]] | None = None
        for rank, n_groups in enumerate(counts):
            found = partition(base, group_bounds=bounds_of[n_groups],
                              forbidden=forbidden if forbidden.any() else None,
                              time_limit=budget, seed=self.random_state)
            used = forbidden_pairs_used(forbidden, found) if forbidden.any() else []
            n_avoid = sum(1 for i, j in used if avoid[i, j])
            # A repeat-free mix that forces a repeat next month loses to a smaller-group mix
            # that does not (the 40-people-in-3-4 case: quads too long burn too many pairs).
            repeat_soon = 0
            if (not used and n <= _LOOKAHEAD_LIMIT and rank < len(counts) - 1):
                repeat_soon = int(not self._next_round_clean(base, forbidden, found, counts[-1],
                                                             budget))
            key = (n_avoid, len(used) - n_avoid, repeat_soon, rank)
            if best is None or key < best[0]:
                best = (key, found)
            if key[:3] == (0, 0, 0):
                break
        assert best is not None
        (n_avoid, n_repeats, _, rank), found = best
        if (len(counts) == 1 and past.any() and not n_avoid and not n_repeats
                and n <= _LOOKAHEAD_LIMIT):
            found = self._keep_next_round_open(base, forbidden, found, counts[0], budget)
        if n_avoid:
            # Do-not-match outranks repeats: forbid only avoid pairs, make repeats very costly.
            strict = aff - _AVOID_PENALTY * (past.astype(float) + penalty / penalty.max()
                                             if past.any() else 0.0)
            np.fill_diagonal(strict, 0.0)
            retry = partition(strict, group_bounds=bounds_of[counts[rank]], forbidden=avoid,
                              time_limit=budget, seed=self.random_state)
            if len(forbidden_pairs_used(avoid, retry)) < n_avoid:
                found = retry
        return found

    def _keep_next_round_open(self, base: np.ndarray, forbidden: np.ndarray,
                              found: list[list[int]], n_groups: int,
                              budget: float | None) -> list[list[int]]:
        """With a single size mix (e.g. groups of exactly 4), prefer a repeat-free grouping
        after which next month can still be repeat-free: try a few more seeds if needed."""
        if self._next_round_clean(base, forbidden, found, n_groups, budget, depth=1):
            return found
        bounds = [(self.min_size, self.max_size)] * n_groups
        for extra in range(1, _RESEEDS + 1):
            other = partition(base, group_bounds=bounds, forbidden=forbidden, time_limit=budget,
                              seed=self.random_state + 7919 * extra)
            if forbidden_pairs_used(forbidden, other):
                continue
            if self._next_round_clean(base, forbidden, other, n_groups, budget, depth=1):
                return other
        return found

    def _next_round_clean(self, base: np.ndarray, forbidden: np.ndarray,
                          groups: list[list[int]], n_groups: int, budget: float | None,
                          depth: int = _LOOKAHEAD) -> bool:
        """Whether ``depth`` repeat-free rounds of ``n_groups`` groups can follow ``groups``."""
        after = forbidden.copy()
        for _ in range(depth):
            for members in groups:
                after[np.ix_(members, members)] = True
            np.fill_diagonal(after, False)
            groups = partition(base, group_bounds=[(self.min_size, self.max_size)] * n_groups,
                               forbidden=after, time_limit=budget, seed=self.random_state)
            if forbidden_pairs_used(after, groups):
                return False
        return True

    def _assemble(self, cohort: list[Person], people: list[Person], unplaced: list[str],
                  groups: list[list[int]], affinity: list[float], similarity: list[float],
                  features: CohortFeatures, hist: PairHistory, topics: Sequence[Topic],
                  warnings: list[str], started: float) -> RoundResult:
        last_met = hist.last_met()
        avoid_pairs = hist.avoid_set()
        windows = [bool(np.logical_and.reduce(features.starts[g], axis=0).any()) for g in groups]
        repeats, violations, group_is_new = [], [], []
        for members in groups:
            new = True
            for a, i in enumerate(members):
                for j in members[a + 1:]:
                    if (i, j) in last_met:
                        repeats.append((cohort[i].key, cohort[j].key, last_met[(i, j)]))
                        new = False
                    if (i, j) in avoid_pairs:
                        violations.append((cohort[i].key, cohort[j].key))
            group_is_new.append(new)
        if repeats:
            warnings.append(f"{len(repeats)} pair(s) met before: no partition avoiding them was "
                            "found, so the oldest pairings were repeated")
        if violations:
            warnings.append(f"{len(violations)} do-not-match pair(s) could not be kept apart")
        texts = [" ; ".join(" ; ".join([*cohort[i].interests, cohort[i].goals]) for i in g)
                 for g in groups]
        excluded = [set().union(*(hist.recent_topics[i] for i in g)) for g in groups]
        chosen, exhausted = choose_topics(texts, excluded, list(topics))
        if exhausted:
            warnings.append(f"{exhausted} group(s) had already had every catalog topic recently "
                            "and were given the best fit anyway")
        matched = [
            MatchedGroup(
                members=tuple(cohort[i].key for i in g), topic=topic, starters=starters_for(topic),
                reason=explain_group([cohort[i] for i in g], has_common_window=window,
                                     is_new=new),
                has_common_window=window)
            for g, topic, window, new in zip(groups, chosen, windows, group_is_new, strict=True)
        ]
        sizes: dict[int, int] = {}
        for g in groups:
            sizes[len(g)] = sizes.get(len(g), 0) + 1
        senior, trainee = features.senior > 0, features.trainee > 0
        mixed = sum(1 for g in groups if senior[g].any() and trainee[g].any())
        can_mix = min(len(groups), int(senior.sum()), int(trainee.sum()))
        departments = features.department
        cross = sum(1 for g in groups if len({int(d) for d in departments[g] if d >= 0}) >= 2)
        stats = RoundStats(
            n_people=len(people), n_groups=len(groups), group_sizes=sizes, repeats=repeats,
            avoid_violations=violations, groups_without_common_window=windows.count(False),
            mean_affinity=float(np.mean(affinity)), mean_interest_similarity=float(
                np.mean(similarity)),
            senior_trainee_mix_share=(mixed / can_mix) if can_mix else None,
            cross_department_share=cross / len(groups),
            elapsed_seconds=time.perf_counter() - started)
        return RoundResult(groups=matched, unplaced=unplaced, warnings=warnings, stats=stats)


def match_round(people: Sequence[Person], *, history: Sequence[PastGroup] = (),
                topics: Sequence[Topic] = (), month: str, min_size: int = 3, max_size: int = 4,
                weights: MatchWeights | None = None, time_limit: float | None = None,
                random_state: int = 0) -> RoundResult:
    """Convenience wrapper: ``RoundMatcher(...).match(people, history=..., topics=..., month=...)``.
    """
    matcher = RoundMatcher(min_size, max_size, weights=weights, time_limit=time_limit,
                           random_state=random_state)
    return matcher.match(people, history=history, topics=topics, month=month)

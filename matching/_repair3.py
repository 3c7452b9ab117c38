"""Three-group repair: re-split a bad group together with two other groups.

The two-group repair (:mod:`matching._repair`) cannot fix a group when no single partner group
holds what it lacks *and* can spare it: a group without a trainee may need a trainee from one
group while that group takes someone else's senior from a third. Re-splitting three groups of
at most four covers these 3-cycles: 12 members have 5,775 splits into three groups of four.

All splits are scored from one table per candidate triple: every ``m``-member subset of the
``3 m`` pooled slots (495 for ``m = 4``) is scored once (common window from packed availability
bits, senior-trainee mix, affinity, forbidden pairs, size), and each split is three look-ups
into it. A re-split is accepted only when it lowers (groups without a common window, groups
without a mix) lexicographically, adds no forbidden pair (past or do-not-match) and keeps every
size within ``[min_size, m]``; among the best such splits the highest affinity wins.
"""

from __future__ import annotations

import time
from functools import lru_cache
from itertools import combinations

import numpy as np

from ._repair import _Scorer

__all__ = ["repair_groups_three_way"]

#: Partner groups considered per bad group: by shared free time, by spare roles, at random.
_TIME_PARTNERS = 12
_ROLE_PARTNERS = 12
_RANDOM_PARTNERS = 6
#: Donor groups whose possible replacements are also pooled, and how many per donor.
_DONORS_FOLLOWED = 4
_FOLLOW_PARTNERS = 4
#: Candidate triples scored in one NumPy batch (bounds memory to a few tens of MiB).
_BATCH = 64
#: Passes in a row without a fix before giving up (random partners differ per pass).
_PATIENCE = 1
#: Largest group size handled (the split table grows as (3m)! / (m!^3 3!)).
_MAX_GROUP = 4


@lru_cache(maxsize=4)
def _split_tables(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Subsets of ``m`` of ``3 m`` slots, and every split of the slots into three of them.

    Returns
    -------
    subsets : int array (s, m)
        Slot indices of each ``m``-subset, in ``combinations`` order.
    splits : int array (k, 3)
        Subset indices of the three groups of each split; row 0 is the identity split (slots
        ``0..m-1``, ``m..2m-1``, ``2m..3m-1``).
    """
    slots = 3 * m
    subsets = list(combinations(range(slots), m))
    index = {s: i for i, s in enumerate(subsets)}
    splits = []
    for rest_a in combinations(range(1, slots), m - 1):
        first = (0, *rest_a)
        rest = [s for s in range(slots) if s not in first]
        for rest_b in combinations(rest[1:], m - 1):
            second = (rest[0], *rest_b)
            third = tuple(s for s in rest if s not in second)
            splits.append((index[first], index[second], index[third]))
    return np.array(subsets, dtype=np.int64), np.array(splits, dtype=np.int64)


class _TripleScorer(_Scorer):
    """Scores candidate groups (index arrays padded with ``n``) of one block, as whole
    groups (the pair re-split's scorer, with a per-group breakdown)."""

    def groups(self, members: np.ndarray) -> dict[str, np.ndarray]:
        """Per group of ``members`` (..., m): window, mixed, affinity, forbidden, valid."""
        m = members.shape[-1]
        aff = np.zeros(members.shape[:-1])
        forb = np.zeros(members.shape[:-1], dtype=np.int64)
        for a, b in combinations(range(m), 2):
            aff += self.weights[members[..., a], members[..., b]]
            forb += self.forbidden[members[..., a], members[..., b]]
        return {
            "window": np.bitwise_and.reduce(self.packed[members], axis=-2).any(axis=-1),
            "mixed": self.senior[members].any(axis=-1) & self.trainee[members].any(axis=-1),
            "aff": aff,
            "forb": forb,
            "valid": (members != self.pad).sum(axis=-1) >= self.min_size,
        }


def _free_at_window(scorer: _TripleScorer, table: np.ndarray, g: int) -> np.ndarray:
    """Per person (and padding): free at one of group g's common slots (all False if none)."""
    window = np.logical_and.reduce(scorer.bits[table[g]], axis=0)
    return scorer.bits[:, window].any(axis=1) if window.any() else np.zeros(len(scorer.bits),
                                                                             dtype=bool)


def _top(score: np.ndarray, g: int, k: int) -> np.ndarray:
    score = score.astype(np.float64)
    score[g] = -np.inf
    return np.argsort(-score, kind="stable")[:k]


def _pairs_of(first: np.ndarray, second: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Unordered pairs within ``first``, or between ``first`` and ``second``."""
    if second is None:
        return list(combinations(first.tolist(), 2))
    return [(a, b) for a in first.tolist() for b in second.tolist() if a != b]


def _partner_pairs(scorer: _TripleScorer, table: np.ndarray, g: int, lacks_window: bool,
                   lacks_senior: bool, lacks_trainee: bool,
                   rng: np.random.Generator) -> np.ndarray:
    """Pairs of groups worth pooling with group ``g``.

    Partners: groups with members free when most of g is; groups with the role g lacks (free
    at g's window, spare first); groups that could replace that member (free at the donor's
    window); and a few random ones. Pairs: within the time partners, within the donors, each
    donor with its replacements, and every partner with the random ones.
    """
    n_groups = table.shape[0]
    pairs: list[tuple[int, int]] = []
    chosen: list[np.ndarray] = []
    if lacks_window:
        slot_counts = scorer.bits[table[g]].sum(axis=0, dtype=np.int64)
        person = np.where(scorer.bits[:-1], slot_counts, 0).max(axis=1)
        by_time = _top(np.append(person, -1)[table].max(axis=1), g, _TIME_PARTNERS)
        chosen.append(by_time)
        pairs += _pairs_of(by_time)
    if lacks_senior or lacks_trainee:
        seniors = scorer.senior[table].sum(axis=1)
        trainees = scorer.trainee[table].sum(axis=1)
        # A role is spare when the group keeps its mix without it (or has no mix to keep).
        spare = np.zeros(n_groups)
        wanted = np.zeros(len(scorer.bits), dtype=bool)
        if lacks_senior:
            spare += np.where(trainees > 0, seniors - 1, seniors)
            wanted |= scorer.senior
        if lacks_trainee:
            spare += np.where(seniors > 0, trainees - 1, trainees)
            wanted |= scorer.trainee
        free = _free_at_window(scorer, table, g)
        if free.any():
            wanted &= free
        # Groups holding a wanted member free at g's window come first, spare ones before.
        score = 10 * wanted[table].any(axis=1) + spare + 0.01 * rng.random(n_groups)
        donors = _top(score, g, _ROLE_PARTNERS)
        chosen.append(donors)
        pairs += _pairs_of(donors)
        for h in donors[:_DONORS_FOLLOWED]:
            # Who could take the donated member's place: people free at the donor's window.
            follow = _top(_free_at_window(scorer, table, int(h))[table].sum(axis=1)
                          + 0.01 * rng.random(n_groups), int(h), _FOLLOW_PARTNERS)
            pairs += _pairs_of(np.array([h]), follow)
    picked = np.concatenate([*chosen, [g]]) if chosen else np.array([g])
    others = np.setdiff1d(np.arange(n_groups), picked)
    if len(others):
        random = rng.choice(others, size=min(_RANDOM_PARTNERS, len(others)), replace=False)
        pairs += _pairs_of(np.unique(picked), random) + _pairs_of(random)
    unique = {(min(a, b), max(a, b)) for a, b in pairs if a != g and b != g and a != b}
    return np.array(sorted(unique), dtype=np.int64).reshape(-1, 2)


def _best_split(scorer: _TripleScorer, table: np.ndarray, g: int, pairs: np.ndarray,
                current: dict[str, np.ndarray], subsets: np.ndarray, splits: np.ndarray
                ) -> tuple[tuple[int, int, int], np.ndarray] | None:
    """The best improving re-split of ``g`` with one of ``pairs`` of groups, or None."""
    if not len(pairs):
        return None
    best: tuple[int, float, tuple[int, int, int], np.ndarray] | None = None
    for start in range(0, len(pairs), _BATCH):
        chunk = pairs[start:start + _BATCH]
        trio = np.column_stack([np.full(len(chunk), g), chunk])  # (T, 3) group ids
        pooled = table[trio].reshape(len(chunk), -1)  # (T, 3m)
        sub = scorer.groups(pooled[:, subsets])  # each (T, s)
        # Windows first: 16 outweighs any change in the (at most 3) unmixed groups.
        bad = (~sub["window"]).astype(np.int64) * 16 + ~sub["mixed"]
        new_key = bad[:, splits].sum(axis=-1)  # (T, k)
        old = (~current["window"][trio]).astype(np.int64) * 16 + ~current["mixed"][trio]
        old_key = old.sum(axis=1, keepdims=True)
        forb = sub["forb"][:, splits].sum(axis=-1)
        old_forb = current["forb"][trio].sum(axis=1, keepdims=True)
        ok = sub["valid"][:, splits].all(axis=-1) & (forb <= old_forb) & (new_key < old_key)
        if not ok.any():
            continue
        aff = sub["aff"][:, splits].sum(axis=-1)
        key = np.where(ok, new_key, np.iinfo(np.int64).max)
        low = key.min()
        score = np.where(key == low, aff, -np.inf)
        t, k = np.unravel_index(int(np.argmax(score)), score.shape)
        if best is None or (low, -score[t, k]) < (best[0], -best[1]):
            groups = pooled[t][subsets[splits[k]]]  # (3, m)
            best = (int(low), float(score[t, k]), tuple(int(x) for x in trio[t]), groups)
    if best is None:
        return None
    return best[2], best[3]


def repair_groups_three_way(groups: list[list[int]], starts: np.ndarray, weights: np.ndarray,
                            forbidden: np.ndarray, *, senior: np.ndarray | None = None,
                            trainee: np.ndarray | None = None, min_size: int = 3,
                            max_rounds: int = 20, seed: int = 0,
                            deadline: float | None = None) -> list[list[int]]:
    """Re-split triples of groups to fix groups with no common window or no senior-trainee mix.

    Parameters
    ----------
    groups : list of list of int
        Local indices ``0..n-1``. New sorted lists are returned, sizes within
        ``[min_size, largest current group]``. Groups larger than 4 are returned unchanged.
    starts : bool array (n, 672)
        Meeting-start vectors (see :func:`matching.start_matrix`).
    weights : float array (n, n)
        Affinity, used to choose among equally good repairs.
    forbidden : bool array (n, n)
        Pairs (past or do-not-match) a repair may not add.
    senior, trainee : bool arrays (n,), optional
        Roles; without them only common windows are repaired. Mix is repaired only while
        fewer groups are mixed than ``min(groups, seniors, trainees)``.
    min_size : int, default=3
        Smallest allowed group.
    max_rounds : int, default=20
        Passes over the bad groups; each pass stops early when nothing improves.
    seed : int, default=0
        Seed of the random partner groups (same input and seed: same result).
    deadline : float, optional
        ``time.perf_counter()`` value after which no further repair is tried.

    Returns
    -------
    list of list of int
    """
    groups = [sorted(int(x) for x in g) for g in groups]
    n = starts.shape[0]
    if n == 0 or len(groups) < 3:
        return groups
    m = max(len(g) for g in groups)
    if m > _MAX_GROUP:
        return groups
    senior = np.zeros(n, bool) if senior is None else np.asarray(senior, bool)
    trainee = np.zeros(n, bool) if trainee is None else np.asarray(trainee, bool)
    mix_cap = min(len(groups), int(senior.sum()), int(trainee.sum()))
    scorer = _TripleScorer(starts, weights, forbidden, senior, trainee, min_size)
    table = np.full((len(groups), m), n, dtype=np.int64)
    for g, members in enumerate(groups):
        table[g, :len(members)] = members
    subsets, splits = _split_tables(m)
    rng = np.random.default_rng(seed)
    stale = 0
    for _round in range(max_rounds):
        current = scorer.groups(table)
        count_mix = int(current["mixed"].sum()) < mix_cap
        bad = ~current["window"] | (~current["mixed"] if count_mix else False)
        improved = False
        for g in np.flatnonzero(bad):
            g = int(g)
            count_mix = int(current["mixed"].sum()) < mix_cap
            lacks_window = not current["window"][g]
            lacks_mix = count_mix and not current["mixed"][g]
            if not (lacks_window or lacks_mix):
                continue
            if deadline is not None and time.perf_counter() > deadline:
                break
            members = table[g][table[g] != n]
            pairs = _partner_pairs(scorer, table, g, lacks_window,
                                   lacks_mix and not senior[members].any(),
                                   lacks_mix and not trainee[members].any(), rng)
            found = _best_split(scorer, table, g, pairs, current, subsets, splits)
            if found is None:
                continue
            trio, new_groups = found
            for row, members_ in zip(trio, new_groups, strict=True):
                table[row] = np.sort(members_)
            improved = True
            current = scorer.groups(table)
        stale = 0 if improved else stale + 1
        if stale >= _PATIENCE:
            break
    return [sorted(int(x) for x in row if x != n) for row in table]

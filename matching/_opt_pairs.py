"""Search for many small groups (sizes like 3-4): exact re-partition of neighbouring groups.

Neighbourhood: take two groups ``g, h`` (at most ``2 * max_size`` people) and re-split their
members optimally among all splits whose sizes respect the bounds (35 ways for 4 + 4). This
contains every move and swap between the two groups and more. Candidate group pairs come from
each person's nearest neighbours (largest weights), all candidates are scored in one matrix
product against precomputed split tables, and improving re-splits of disjoint group pairs are
applied together. An iterated local search (random re-splits of a few nearby groups, accepted
when the total does not drop) escapes local optima.
"""

from __future__ import annotations

import time
from functools import lru_cache
from itertools import combinations

import numpy as np

from matching._opt_tabu import SearchBudget, greedy_start, labels_score, target_sizes

NEIGHBOURS = 8


@lru_cache(maxsize=64)
def split_table(
    size_g: int, size_h: int, low: int, high: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Splits of ``size_g + size_h`` positions into two groups with sizes in ``[low, high]``.

    Returns ``(sides, pair_a, pair_b, same)``-style data: ``sides`` (splits x m) marks positions
    going to the first group; ``together`` (pairs x splits) is 1 where a position pair stays
    together. Split 0 is the current assignment (first ``size_g`` positions in group one).
    """
    m = size_g + size_h
    splits = [tuple(range(size_g))]
    for first_size in range(low, high + 1):
        if not low <= m - first_size <= high:
            continue
        for chosen in combinations(range(m), first_size):
            if chosen != splits[0]:
                splits.append(chosen)
    sides = np.zeros((len(splits), m), dtype=bool)
    for index, chosen in enumerate(splits):
        sides[index, list(chosen)] = True
    pair_a, pair_b = np.triu_indices(m, 1)
    together = (sides[:, pair_a] == sides[:, pair_b]).T.astype(np.float64)
    return sides, np.stack([pair_a, pair_b]), together


def _members_table(labels: np.ndarray, group_count: int, width: int) -> np.ndarray:
    order = np.argsort(labels, kind="stable")
    sizes = np.bincount(labels, minlength=group_count)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    table = np.full((group_count, width), -1, dtype=np.int64)
    slot = np.arange(labels.size) - np.repeat(starts, sizes)
    table[labels[order], slot] = order
    return table


def _candidate_pairs(
    neighbours: np.ndarray, labels: np.ndarray, dirty: np.ndarray | None
) -> np.ndarray:
    people = np.arange(labels.size) if dirty is None else np.flatnonzero(dirty[labels])
    own = np.repeat(labels[people], neighbours.shape[1])
    other = labels[neighbours[people].ravel()]
    keep = own != other
    pairs = np.stack([np.minimum(own[keep], other[keep]), np.maximum(own[keep], other[keep])])
    return np.unique(pairs, axis=1)


def improve_once(
    C: np.ndarray,
    labels: np.ndarray,
    neighbours: np.ndarray,
    low: int,
    high: int,
    group_count: int,
    dirty: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """One round of simultaneous improving re-splits on disjoint group pairs.

    Only pairs touching a ``dirty`` group are tried (all when None). Returns the total gain and
    the mask of groups changed in this round.
    """
    members = _members_table(labels, group_count, high)
    sizes = (members >= 0).sum(axis=1)
    pairs = _candidate_pairs(neighbours, labels, dirty)
    used = np.zeros(group_count, dtype=bool)
    if pairs.size == 0:
        return 0.0, used
    found_gain: list[np.ndarray] = []
    found_pairs: list[np.ndarray] = []
    found_people: list[np.ndarray] = []
    found_sides: list[np.ndarray] = []
    size_g, size_h = sizes[pairs[0]], sizes[pairs[1]]
    for sg in np.unique(size_g):
        for sh in np.unique(size_h):
            pick = np.flatnonzero((size_g == sg) & (size_h == sh))
            if pick.size == 0:
                continue
            sides, positions, together = split_table(int(sg), int(sh), low, high)
            if sides.shape[0] < 2:
                continue
            people = np.concatenate(
                [members[pairs[0, pick], :sg], members[pairs[1, pick], :sh]], axis=1
            )
            pair_weights = C[people[:, positions[0]], people[:, positions[1]]]
            scores = pair_weights @ together
            best = np.argmax(scores, axis=1)
            gain = scores[np.arange(pick.size), best] - scores[:, 0]
            improving = gain > 1e-9 * (1.0 + np.abs(scores[:, 0]))
            if improving.any():
                found_gain.append(gain[improving])
                found_pairs.append(pairs[:, pick[improving]].T)
                found_people.append(
                    [people[k] for k in np.flatnonzero(improving)]  # type: ignore[arg-type]
                )
                found_sides.append([sides[b] for b in best[improving]])  # type: ignore[arg-type]
    if not found_gain:
        return 0.0, used
    gains = np.concatenate(found_gain)
    group_pairs = np.concatenate(found_pairs)
    people_lists = [p for chunk in found_people for p in chunk]
    side_lists = [s for chunk in found_sides for s in chunk]
    total = 0.0
    for index in np.argsort(-gains, kind="stable"):
        g, h = group_pairs[index]
        if used[g] or used[h]:
            continue
        used[g] = used[h] = True
        people, side = people_lists[index], side_lists[index]
        labels[people[side]] = g
        labels[people[~side]] = h
        total += float(gains[index])
    return total, used


def descend(
    C: np.ndarray,
    labels: np.ndarray,
    neighbours: np.ndarray,
    low: int,
    high: int,
    group_count: int,
    dirty: np.ndarray | None = None,
    deadline: float | None = None,
) -> float:
    """Apply improving re-split rounds until none is left (or the deadline); returns the gain."""
    total = 0.0
    while deadline is None or time.time() < deadline:
        gain, dirty = improve_once(C, labels, neighbours, low, high, group_count, dirty)
        if gain <= 0:
            return total
        total += gain
    return total


def nearest_neighbours(C: np.ndarray, count: int) -> np.ndarray:
    n = C.shape[0]
    count = min(count, n - 1)
    scores = C.copy()
    np.fill_diagonal(scores, -np.inf)
    return np.argpartition(-scores, count - 1, axis=1)[:, :count]


def _group_value(C: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> float:
    total = 0.0
    for g in groups:
        members = np.flatnonzero(labels == g)
        total += float(np.triu(C[np.ix_(members, members)], 1).sum())
    return total


def _perturb(labels: np.ndarray, neighbours: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotate one member each among three nearby groups; returns the touched groups."""
    first = int(rng.integers(labels.size))
    second = int(neighbours[first, rng.integers(neighbours.shape[1])])
    third = int(neighbours[second, rng.integers(neighbours.shape[1])])
    trio = [first, second, third]
    groups = labels[trio]
    if len(set(groups.tolist())) < 3:
        return np.unique(groups)
    labels[trio] = groups[[1, 2, 0]]
    return groups


def pair_search(
    C: np.ndarray,
    low: int,
    high: int,
    group_count: int,
    rng: np.random.Generator,
    budget: SearchBudget,
) -> tuple[np.ndarray, float]:
    """Iterated local search with exact two-group re-splits; uniform bounds ``[low, high]``."""
    n = C.shape[0]
    lower = np.full(group_count, low)
    upper = np.full(group_count, high)
    mean_weight = float(C.sum() / (n * (n - 1)))
    labels = greedy_start(C, target_sizes(lower, upper, n, mean_weight), rng)
    neighbours = nearest_neighbours(C, NEIGHBOURS)
    descend(C, labels, neighbours, low, high, group_count, deadline=budget.deadline)
    score = labels_score(C, labels)
    stall = 0
    rounds = 0
    tolerance = 1e-9 * (1.0 + abs(score))
    while stall < budget.stall_iterations:
        rounds += 1
        if budget.max_iterations is not None and rounds > budget.max_iterations:
            break
        if budget.deadline is not None and time.time() >= budget.deadline:
            break
        saved = labels.copy()
        touched = np.unique(labels[[int(rng.integers(n))]])
        candidates = _perturb(labels, neighbours, rng)
        touched = np.union1d(touched, candidates)
        before = _group_value(C, saved, touched)
        change = _group_value(C, labels, touched) - before
        dirty = np.zeros(group_count, dtype=bool)
        dirty[touched] = True
        change += descend(C, labels, neighbours, low, high, group_count, dirty)
        if change > tolerance:
            score += change
            stall = 0
        elif change >= -tolerance:
            score += change
            stall += 1
        else:
            labels = saved
            stall += 1
    return labels, labels_score(C, labels)

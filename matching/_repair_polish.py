"""Affinity polish: re-split pairs of groups for affinity, never losing a window or a mix.

The window and mix repairs choose among equally good fixes by affinity, but each fix only
looks at the groups it repairs, and the pool re-plan regroups only what it releases, so the
finished grouping still has pairs of groups whose members would share more interests split
another way. This pass visits every pair of groups and tries all ways of re-splitting their
members into two groups of valid sizes (70 for two groups of four: every swap and move
between them, and the two-for-two exchanges), keeping the best split that raises affinity
while the two groups keep at least as many common windows and senior-trainee mixes as
before and gain no forbidden pair (past or do-not-match); so the grouping's windows, mixes
and hard rules never get worse. It repeats until no pair improves (a local optimum of this
neighbourhood) or the deadline passes; visiting order is fixed, so the result is
deterministic without a deadline.

Meant to run last with an affinity that has no time-of-day proxy: the windows are held
exactly here, so a bonus for pairs whose free times coincide would only crowd out shared
interests.
"""

from __future__ import annotations

import time
from itertools import combinations

import numpy as np

from ._repair3 import _TripleScorer

__all__ = ["polish_groups"]

#: Smallest affinity gain that counts (floating-point noise must not cycle).
_MIN_GAIN = 1e-9


def polish_groups(groups: list[list[int]], starts: np.ndarray, weights: np.ndarray,
                  forbidden: np.ndarray, *, senior: np.ndarray | None = None,
                  trainee: np.ndarray | None = None, min_size: int = 3, max_passes: int = 50,
                  deadline: float | None = None) -> list[list[int]]:
    """Re-split pairs of groups to raise affinity without losing windows, mixes or rules.

    Parameters
    ----------
    groups : list of list of int
        Local indices ``0..n-1``; new sorted lists are returned, sizes within
        ``[min_size, largest current group]``.
    starts : bool array (n, 672)
        Meeting-start vectors (see :func:`matching.start_matrix`).
    weights : float array (n, n)
        Affinity to raise.
    forbidden : bool array (n, n)
        Pairs (past or do-not-match) a split may not add.
    senior, trainee : bool arrays (n,), optional
        Roles; the number of groups with both never drops.
    min_size : int, default=3
    max_passes : int, default=50
        Passes over all groups; each stops early when nothing improves.
    deadline : float, optional
        ``time.perf_counter()`` value after which no further group is visited.

    Returns
    -------
    list of list of int
    """
    groups = [sorted(int(x) for x in g) for g in groups]
    n = starts.shape[0]
    if n == 0 or len(groups) < 2:
        return groups
    senior = np.zeros(n, bool) if senior is None else np.asarray(senior, bool)
    trainee = np.zeros(n, bool) if trainee is None else np.asarray(trainee, bool)
    m = max(len(g) for g in groups)
    scorer = _TripleScorer(starts, weights, forbidden, senior, trainee, min_size)
    table = np.full((len(groups), m), n, dtype=np.int64)
    for g, members in enumerate(groups):
        table[g, :len(members)] = members
    side_a = np.array(list(combinations(range(2 * m), m)), dtype=np.int64)
    side_b = np.array([[x for x in range(2 * m) if x not in row] for row in side_a])
    n_groups = len(groups)
    for _pass in range(max_passes):
        changed = False
        current = scorer.groups(table)
        for g in range(n_groups):
            if deadline is not None and time.perf_counter() > deadline:
                return _as_lists(table, n)
            others = np.flatnonzero(np.arange(n_groups) != g)
            union = np.concatenate([np.broadcast_to(table[g], (len(others), m)),
                                    table[others]], axis=1)
            first, second = scorer.groups(union[:, side_a]), scorer.groups(union[:, side_b])
            windows = current["window"][g].astype(np.int64) + current["window"][others]
            mixes = current["mixed"][g].astype(np.int64) + current["mixed"][others]
            ok = (first["valid"] & second["valid"]
                  & (first["forb"] + second["forb"]
                     <= (current["forb"][g] + current["forb"][others])[:, None])
                  & (first["window"].astype(np.int64) + second["window"] >= windows[:, None])
                  & (first["mixed"].astype(np.int64) + second["mixed"] >= mixes[:, None]))
            gain = first["aff"] + second["aff"] - (current["aff"][g]
                                                   + current["aff"][others])[:, None]
            gain = np.where(ok, gain, -np.inf)
            c, k = np.unravel_index(int(np.argmax(gain)), gain.shape)
            if gain[c, k] <= _MIN_GAIN:
                continue
            h = int(others[c])
            table[g] = np.sort(union[c, side_a[k]])
            table[h] = np.sort(union[c, side_b[k]])
            for row in (g, h):
                fresh = scorer.groups(table[row][None, :])
                for name, values in fresh.items():
                    current[name][row] = values[0]
            changed = True
        if not changed:
            break
    return _as_lists(table, n)


def _as_lists(table: np.ndarray, pad: int) -> list[list[int]]:
    return [sorted(int(x) for x in row if x != pad) for row in table]

"""Swap tabu polish: raise affinity by exchanging people, never losing a window or a mix.

The pair re-split (:mod:`matching._repair_polish`) stops at a local optimum: every pair of
groups is split as well as it can be alone. Where availability is sparse that optimum is
poor, because better groupings are reached only through exchanges that first lose a little
affinity (a person moves to a group sharing the same meeting start, and a third group then
gains). This pass is a tabu search over single swaps between groups, always taking the best
allowed swap even when it loses, with the moved people kept from returning to their old
groups for a few steps; the best grouping seen is returned, so the result is never worse.

A swap is allowed when the two groups keep at least as many common windows and senior-trainee
mixes between them as before and gain no forbidden pair (past or do-not-match). All ``n^2``
swaps are scored each step from per-person group sums (Lai & Hao) and leave-one-out ANDs of
the packed availability bits, so a step costs ``O(n^2)``: meant for blocks of a few hundred.
"""

from __future__ import annotations

import time

import numpy as np

from ._repair import _pack

__all__ = ["tabu_swap_groups"]

#: Steps a moved person may not return to the group it left (plus a random 0-4).
_TENURE = 7
#: Smallest gain that counts as a new best (floating-point noise must not count).
_MIN_GAIN = 1e-9


class _Swaps:
    """Group membership with the per-person facts that score every swap at once."""

    def __init__(self, groups: list[list[int]], starts: np.ndarray, weights: np.ndarray,
                 forbidden: np.ndarray, senior: np.ndarray, trainee: np.ndarray) -> None:
        n = starts.shape[0]
        self.n, self.n_groups = n, len(groups)
        self.group = np.empty(n, dtype=np.int64)
        for g, members in enumerate(groups):
            self.group[members] = g
        self.bits = _pack(starts)[:n]
        self.weights = weights
        self.forbidden = forbidden.astype(np.float64)
        onehot = np.zeros((n, self.n_groups))
        onehot[np.arange(n), self.group] = 1.0
        self.sums = weights @ onehot  # affinity of each person with each group
        self.banned = self.forbidden @ onehot  # forbidden partners of each person per group
        self.senior, self.trainee = senior.astype(np.int64), trainee.astype(np.int64)
        self.n_senior = np.bincount(self.group, weights=self.senior,
                                    minlength=self.n_groups).astype(np.int64)
        self.n_trainee = np.bincount(self.group, weights=self.trainee,
                                     minlength=self.n_groups).astype(np.int64)
        self.others = np.zeros_like(self.bits)  # AND of the bits of one's group-mates
        self.window = np.zeros(self.n_groups, dtype=bool)
        for g in range(self.n_groups):
            self.refresh(g)

    def refresh(self, g: int) -> None:
        members = np.flatnonzero(self.group == g)
        bits = self.bits[members]
        for k, person in enumerate(members):
            rest = np.delete(bits, k, axis=0)
            self.others[person] = (np.bitwise_and.reduce(rest, axis=0) if len(rest)
                                   else ~np.zeros(bits.shape[1], dtype=np.uint64))
        self.window[g] = bool(np.bitwise_and.reduce(bits, axis=0).any())

    def total(self) -> float:
        return float(self.sums[np.arange(self.n), self.group].sum()) / 2.0

    def gains(self) -> tuple[np.ndarray, np.ndarray]:
        """(gain, allowed) of swapping person i with person j, for all i < j."""
        g = self.group
        own = self.sums[np.arange(self.n), g]
        gain = (self.sums[:, g].T - own[:, None] + self.sums[:, g] - own[None, :]
                - 2.0 * self.weights)
        # Group of i with j in i's place, and group of j with i in j's place.
        window_i = (self.others[:, None, :] & self.bits[None, :, :]).any(axis=-1)
        windows = window_i.astype(np.int64) + window_i.T
        allowed = (g[:, None] != g[None, :]) & (
            windows >= self.window[g][:, None].astype(np.int64) + self.window[g][None, :])
        sen, tr = self.senior, self.trainee
        mixed = (self.n_senior > 0) & (self.n_trainee > 0)
        mix_i = (((self.n_senior[g][:, None] - sen[:, None] + sen[None, :]) > 0)
                 & ((self.n_trainee[g][:, None] - tr[:, None] + tr[None, :]) > 0))
        allowed &= (mix_i.astype(np.int64) + mix_i.T
                    >= mixed[g][:, None].astype(np.int64) + mixed[g][None, :])
        banned_own = self.banned[np.arange(self.n), g]
        added = self.banned[:, g].T + self.banned[:, g] - 2.0 * self.forbidden
        allowed &= added <= banned_own[:, None] + banned_own[None, :]
        return gain, np.triu(allowed, 1)

    def swap(self, i: int, j: int) -> None:
        g, h = int(self.group[i]), int(self.group[j])
        for column, out, into in ((g, i, j), (h, j, i)):
            self.sums[:, column] += self.weights[:, into] - self.weights[:, out]
            self.banned[:, column] += self.forbidden[:, into] - self.forbidden[:, out]
            self.n_senior[column] += self.senior[into] - self.senior[out]
            self.n_trainee[column] += self.trainee[into] - self.trainee[out]
        self.group[i], self.group[j] = h, g
        self.refresh(g)
        self.refresh(h)


def tabu_swap_groups(groups: list[list[int]], starts: np.ndarray, weights: np.ndarray,
                     forbidden: np.ndarray, *, senior: np.ndarray | None = None,
                     trainee: np.ndarray | None = None, max_steps: int = 1500, seed: int = 0,
                     deadline: float | None = None) -> list[list[int]]:
    """Tabu search over swaps for affinity; windows, mixes and rules never get worse.

    Parameters
    ----------
    groups : list of list of int
        Local indices ``0..n-1``; sizes are kept.
    starts : bool array (n, 672)
        Meeting-start vectors (see :func:`matching.start_matrix`).
    weights : float array (n, n)
        Affinity to raise.
    forbidden : bool array (n, n)
        Pairs (past or do-not-match) a swap may not add.
    senior, trainee : bool arrays (n,), optional
        Roles; the number of groups with both never drops.
    max_steps : int, default=1500
        Swaps made (deterministic budget); fewer when no swap is allowed.
    seed : int, default=0
        Seed of the tabu tenures.
    deadline : float, optional
        ``time.perf_counter()`` value after which the search stops.

    Returns
    -------
    list of list of int
        The best grouping seen.
    """
    groups = [sorted(int(x) for x in g) for g in groups]
    n = starts.shape[0]
    if n == 0 or len(groups) < 2:
        return groups
    senior = np.zeros(n, bool) if senior is None else np.asarray(senior, bool)
    trainee = np.zeros(n, bool) if trainee is None else np.asarray(trainee, bool)
    state = _Swaps(groups, starts, weights, np.asarray(forbidden, bool), senior, trainee)
    rng = np.random.default_rng(seed)
    tabu_until = np.zeros((n, len(groups)), dtype=np.int64)  # person may not rejoin group
    people = np.arange(n)
    current = best = state.total()
    best_group = state.group.copy()
    for step in range(max_steps):
        if deadline is not None and time.perf_counter() > deadline:
            break
        gain, allowed = state.gains()
        g = state.group
        tabu = (tabu_until[people[:, None], g[None, :]] > step) | (
            tabu_until[people[None, :], g[:, None]] > step)
        allowed &= ~tabu | (current + gain > best + _MIN_GAIN)  # aspiration
        if not allowed.any():
            break
        i, j = np.unravel_index(int(np.argmax(np.where(allowed, gain, -np.inf))), gain.shape)
        i, j = int(i), int(j)
        left_i, left_j = int(g[i]), int(g[j])
        current += float(gain[i, j])
        state.swap(i, j)
        tenure = _TENURE + int(rng.integers(0, 5))
        tabu_until[i, left_i] = tabu_until[j, left_j] = step + tenure
        if current > best + _MIN_GAIN:
            best, best_group = current, state.group.copy()
    return [sorted(np.flatnonzero(best_group == g).tolist()) for g in range(len(groups))]

"""Ejection-chain repair: tabu search over swaps and moves that involve a bad group.

After the two- and three-group re-splits no *improving* local change may be left, yet a
sequence of sideways changes can still fix a group: a senior swapped into an unmixed group
leaves a hole elsewhere, that hole is filled from a third group, and so on until the chain
ends in a group that can spare the role (or the window) at no cost. This pass is a short tabu
search: each step takes a random bad group (no common window, or no senior-trainee mix while
fewer groups are mixed than the cohort allows) and applies the best swap of one of its members
with anyone in another group, or the best move of one member to or from a smaller group, even
when it does not improve, with recently moved people tabu. Moves never add a forbidden pair
and keep sizes within ``[min_size, largest group]``. The objective is lexicographic, groups
without a window first, then groups without a mix, then affinity; the best grouping seen is
returned, so the result is never worse than the input.

Every step scores all candidate partners of the bad group in one NumPy batch, using
leave-one-out ANDs of the packed availability bits of each group.
"""

from __future__ import annotations

import time

import numpy as np

from ._repair import _pack

__all__ = ["repair_groups_chain"]

#: Objective weights: a window outranks a mix, which outranks any affinity change.
_NO_WINDOW = 1e6
_NO_MIX = 1e3
#: Guidance only (not in the best-so-far test): per member of a windowless group outside its
#: best slot, so sideways steps drift toward groups that gather at one time.
_APART = 400.0
_TABU_TENURE = 7
#: Affinity's share in the steps' choice: small, so sideways steps explore windows and mixes.
_AFFINITY_STEP = 1.0
#: Steps without a new best after which the search restarts from the best grouping: chains
#: that long rarely come back, and restarting explores other chains from the good state.
_RESTART = 60


class _State:
    """Groups as a padded table plus the per-group facts a swap needs to be scored."""

    def __init__(self, table: np.ndarray, packed: np.ndarray, free: np.ndarray,
                 weights: np.ndarray, senior: np.ndarray, trainee: np.ndarray) -> None:
        self.table = table
        self.free = free  # int16 (n + 1, slots), the padding row all zero
        self.count = np.zeros((table.shape[0], free.shape[1]), dtype=np.int16)
        self.apart = np.zeros(table.shape[0], dtype=np.int64)
        self.packed, self.weights = packed, weights
        self.senior, self.trainee = senior.astype(np.int64), trainee.astype(np.int64)
        self.pad = packed.shape[0] - 1
        g_count, m = table.shape
        self.loo = np.zeros((g_count, m, packed.shape[1]), dtype=np.uint64)
        self.window = np.zeros(g_count, dtype=bool)
        self.n_senior = np.zeros(g_count, dtype=np.int64)
        self.n_trainee = np.zeros(g_count, dtype=np.int64)
        self.size = np.zeros(g_count, dtype=np.int64)
        self.own = np.zeros(packed.shape[0])  # each person's affinity to their own group
        for g in range(g_count):
            self.refresh(g)

    def refresh(self, g: int) -> None:
        members = self.table[g]
        bits = self.packed[members]
        for k in range(len(members)):
            self.loo[g, k] = np.bitwise_and.reduce(np.delete(bits, k, axis=0), axis=0)
        self.window[g] = bool(np.bitwise_and.reduce(bits, axis=0).any())
        self.n_senior[g] = self.senior[members].sum()
        self.n_trainee[g] = self.trainee[members].sum()
        self.size[g] = int((members != self.pad).sum())
        self.count[g] = self.free[members].sum(axis=0)
        self.apart[g] = self.size[g] - int(self.count[g].max())
        self.own[members] = self.weights[np.ix_(members, members)].sum(axis=1)
        self.own[self.pad] = 0.0

    @property
    def mixed(self) -> np.ndarray:
        return (self.n_senior > 0) & (self.n_trainee > 0)

    def objective(self, mix_weight: float) -> float:
        """Lexicographic objective as one number (lower is better)."""
        return float(_NO_WINDOW * (~self.window).sum() + mix_weight * (~self.mixed).sum()
                     - self.own.sum() / 2.0)

    def guidance(self, mix_weight: float) -> float:
        """The objective plus the pull toward common slots that steers the search."""
        return self.objective(mix_weight) + _APART * float(self.apart.sum())


def _best_move(state: _State, g: int, forbidden: np.ndarray, min_size: int, mix_weight: float,
               tabu_until: np.ndarray, step: int, slack: float
               ) -> tuple[float, int, int, int] | None:
    """Best (delta, k, h, l): swap slot k of group g with slot l of group h."""
    table, pad = state.table, state.pad
    g_count, m = table.shape
    flat = table.ravel()
    owner = np.repeat(np.arange(g_count), m)
    loo_flat = state.loo.reshape(g_count * m, -1)
    mixed = state.mixed
    row_g = state.weights[table[g]].sum(axis=0)
    forb_g = forbidden[table[g]].sum(axis=0)
    real_j = flat != pad
    best: tuple[float, int, int, int] | None = None
    for k in range(m):
        i = int(table[g, k])
        real_i = i != pad
        win_g = (state.loo[g, k] & state.packed[flat]).any(axis=-1)
        win_h = (loo_flat & state.packed[i]).any(axis=-1)
        sen_i, tr_i = state.senior[i], state.trainee[i]
        sen_j, tr_j = state.senior[flat], state.trainee[flat]
        mix_g = (state.n_senior[g] - sen_i + sen_j > 0) & (state.n_trainee[g] - tr_i + tr_j > 0)
        mix_h = ((state.n_senior[owner] - sen_j + sen_i > 0)
                 & (state.n_trainee[owner] - tr_j + tr_i > 0))
        size_g = state.size[g] - real_i + real_j
        size_h = state.size[owner] - real_j + real_i
        # Exact slot counts only matter around windowless groups; elsewhere a lost window
        # counts as one member apart (cheap, and such steps are rare: see below).
        apart_g, apart_h = (~win_g).astype(np.int64), (~win_h).astype(np.int64)
        if not state.window[g]:
            count_g = state.count[g] - state.free[i] + state.free[flat]
            apart_g = size_g - count_g.max(axis=1)
        near = ~state.window[owner]
        if near.any():
            count_h = state.count[owner[near]] - state.free[flat[near]] + state.free[i]
            apart_h[near] = size_h[near] - count_h.max(axis=1)
        w_ij = state.weights[i, flat]
        f_ij = forbidden[i, flat]
        forb_into_g = forb_g[flat] - f_ij
        forb_into_h = forbidden[i][table].sum(axis=1)[owner] - f_ij
        ok = ((owner != g) & (real_i | real_j) & (size_g >= min_size) & (size_h >= min_size)
              & (forb_into_g == 0) & ((forb_into_h == 0) | ~real_i))
        if not ok.any():
            continue
        gain = (row_g[flat] - w_ij - state.own[i]
                + state.weights[i][table].sum(axis=1)[owner] - w_ij - state.own[flat])
        delta = (_NO_WINDOW * ((~win_g).astype(np.int64) + ~win_h - (not state.window[g])
                               - ~state.window[owner])
                 + mix_weight * ((~mix_g).astype(np.int64) + ~mix_h - (not mixed[g])
                                 - ~mixed[owner])
                 + _APART * (apart_g + apart_h - state.apart[g] - state.apart[owner])
                 - _AFFINITY_STEP * gain)
        tabu = (tabu_until[i] > step) | (tabu_until[flat] > step)
        ok &= ~tabu | (delta < slack)  # aspiration: a tabu move that beats the best so far
        ok &= delta < _NO_WINDOW / 2  # sideways in windows at worst: losses rarely come back
        if not ok.any():
            continue
        delta = np.where(ok, delta, np.inf)
        pos = int(np.argmin(delta))
        if best is None or delta[pos] < best[0]:
            best = (float(delta[pos]), k, int(owner[pos]), pos % m)
    return best


def _chain_once(groups: list[list[int]], starts: np.ndarray, weights: np.ndarray,
                forbidden: np.ndarray, senior: np.ndarray, trainee: np.ndarray, min_size: int,
                max_steps: int, seed: int, deadline: float | None) -> list[list[int]]:
    """One tabu search from ``groups`` (see :func:`repair_groups_chain`)."""
    n = starts.shape[0]
    mix_cap = min(len(groups), int(senior.sum()), int(trainee.sum()))
    mix_weight = _NO_MIX if mix_cap else 0.0
    m = max(len(g) for g in groups)
    table = np.full((len(groups), m), n, dtype=np.int64)
    for g, members in enumerate(groups):
        table[g, :len(members)] = members
    padded_w = np.zeros((n + 1, n + 1))
    padded_w[:n, :n] = weights
    padded_f = np.zeros((n + 1, n + 1), dtype=np.int64)
    padded_f[:n, :n] = forbidden
    free = np.zeros((n + 1, starts.shape[1]), dtype=np.int16)
    free[:n] = starts
    state = _State(table, _pack(starts), free, padded_w, np.append(senior, False),
                   np.append(trainee, False))
    rng = np.random.default_rng(seed)
    tabu_until = np.zeros(n + 1, dtype=np.int64)
    current = state.objective(mix_weight)
    best_value, best_table, best_step = current, table.copy(), 0
    for step in range(max_steps):
        if deadline is not None and time.perf_counter() > deadline:
            break
        mixed = state.mixed
        bad = ~state.window
        if int(mixed.sum()) < mix_cap:
            bad = bad | ~mixed
        candidates = np.flatnonzero(bad)
        if not len(candidates):
            break
        g = int(rng.choice(candidates))
        move = _best_move(state, g, padded_f, min_size, mix_weight, tabu_until, step,
                          best_value - current)
        if move is None:
            continue
        delta, k, h, l_ = move
        i, j = int(table[g, k]), int(table[h, l_])
        table[g, k], table[h, l_] = j, i
        state.refresh(g)
        state.refresh(h)
        tenure = _TABU_TENURE + int(rng.integers(0, 5))
        tabu_until[[i, j]] = step + tenure
        tabu_until[n] = 0
        current = state.objective(mix_weight)
        if current < best_value - 1e-9:
            if current < best_value - mix_weight / 2:  # a window or a mix gained
                best_step = step
            best_value, best_table = current, table.copy()
        elif step - best_step >= _RESTART:
            table[:] = best_table
            for row in range(len(table)):
                state.refresh(row)
            current, best_step = best_value, step
    return [sorted(int(x) for x in row if x != n) for row in best_table]


def repair_groups_chain(groups: list[list[int]], starts: np.ndarray, weights: np.ndarray,
                        forbidden: np.ndarray, *, senior: np.ndarray | None = None,
                        trainee: np.ndarray | None = None, min_size: int = 3,
                        max_steps: int = 3000, n_starts: int = 4, seed: int = 0,
                        deadline: float | None = None) -> list[list[int]]:
    """Tabu search on swaps/moves touching bad groups; returns the best grouping seen.

    Independent searches from the input (different seeds) end in quite different places on
    sparse availability, so ``n_starts`` of them are run and the best result is kept.

    Parameters
    ----------
    groups : list of list of int
        Local indices ``0..n-1``; new sorted lists are returned, sizes within
        ``[min_size, largest current group]``.
    starts : bool array (n, 672)
        Meeting-start vectors (see :func:`matching.start_matrix`).
    weights : float array (n, n)
        Affinity; the last criterion, and what sideways steps keep as high as possible.
    forbidden : bool array (n, n)
        Pairs (past or do-not-match) a step may never add.
    senior, trainee : bool arrays (n,), optional
        Roles; without them only common windows are repaired.
    min_size : int, default=3
        Smallest allowed group.
    max_steps : int, default=3000
        Tabu steps; the search also stops when no group is bad.
    n_starts : int, default=4
        Independent searches, sharing the time left before ``deadline``.
    seed : int, default=0
        Seed of the choice of bad group per step (same input and seed: same result).
    deadline : float, optional
        ``time.perf_counter()`` value after which the search stops.

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
    best, best_key = groups, _quality(groups, starts, weights, senior, trainee)
    for attempt in range(n_starts):
        until = deadline
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            until = time.perf_counter() + left / (n_starts - attempt)
        found = _chain_once(groups, starts, weights, forbidden, senior, trainee, min_size,
                            max_steps, seed + 7919 * attempt, until)
        key = _quality(found, starts, weights, senior, trainee)
        if key < best_key:
            best, best_key = found, key
    return best


def _quality(groups: list[list[int]], starts: np.ndarray, weights: np.ndarray,
             senior: np.ndarray, trainee: np.ndarray) -> tuple[int, int, float]:
    """(groups without a window, groups without a mix, minus affinity): lower is better."""
    no_window = sum(not np.logical_and.reduce(starts[g], axis=0).any() for g in groups)
    no_mix = sum(not (senior[g].any() and trainee[g].any()) for g in groups)
    affinity = sum(float(weights[np.ix_(g, g)].sum()) / 2.0 for g in groups)
    return int(no_window), int(no_mix), -affinity

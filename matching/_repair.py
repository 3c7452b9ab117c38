"""Whole-group repair: re-split pairs of groups so every group has a common window and a mix.

Pairwise overlap weights cannot see that people who overlap pairwise may still share no
30-minute window as a group of four, and a pairwise senior-trainee bonus happily puts two
seniors and two trainees together while another group has neither. This pass looks at whole
groups: for each group without a common window (or without a senior-trainee mix) it tries
every way of re-splitting its members together with those of each other group into two groups
of valid sizes (70 splits for two groups of four: this covers all swaps and moves between the
two), and applies the best split that improves, in order: groups with a common window, mixed
groups, groups with at least a senior or a trainee; then affinity. No split may add a forbidden
(past or do-not-match) pair. All candidates for one group are scored in one NumPy batch, with
availability packed into 64-bit words.
"""

from __future__ import annotations

import time
from itertools import combinations

import numpy as np

__all__ = ["repair_groups"]


def _pack(starts: np.ndarray) -> np.ndarray:
    """Bool (n, 672) -> uint64 (n + 1, words); the extra last row (a padding member) is all ones."""
    n, slots = starts.shape
    words = -(-slots // 64)
    padded = np.zeros((n + 1, words * 64), dtype=bool)
    padded[:n, :slots] = starts
    padded[n, :] = True
    return np.packbits(padded, axis=1, bitorder="little").view(np.uint64)


class _Scorer:
    """Scores candidate groups given as index arrays of shape (..., m), padded with ``n``."""

    def __init__(self, starts: np.ndarray, weights: np.ndarray, forbidden: np.ndarray,
                 senior: np.ndarray, trainee: np.ndarray, min_size: int) -> None:
        n = starts.shape[0]
        self.pad = n
        self.packed = _pack(starts)
        self.bits = np.vstack([starts, np.ones((1, starts.shape[1]), dtype=bool)])
        self.weights = np.zeros((n + 1, n + 1))
        self.weights[:n, :n] = weights
        self.forbidden = np.zeros((n + 1, n + 1), dtype=np.int64)
        self.forbidden[:n, :n] = forbidden
        self.senior = np.append(senior, False)
        self.trainee = np.append(trainee, False)
        self.min_size = min_size

    def score(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                     np.ndarray]:
        """(key, affinity, forbidden pairs, valid size) per candidate group."""
        m = members.shape[-1]
        window = np.bitwise_and.reduce(self.packed[members], axis=-2).any(axis=-1)
        has_senior = self.senior[members].any(axis=-1)
        has_trainee = self.trainee[members].any(axis=-1)
        # Without a window: how many members the best slot gathers (progress toward a window).
        closeness = np.full(window.shape, m, dtype=np.int64)
        if not window.all():
            packed = self.packed[members[~window]]  # (c, m, words)
            reached = np.ones(len(packed), dtype=np.int64)
            for size in range(2, m):
                hit = np.zeros(len(packed), dtype=bool)
                for subset in combinations(range(m), size):
                    hit |= np.bitwise_and.reduce(packed[:, subset], axis=1).any(axis=-1)
                reached[hit] = size
            closeness[~window] = reached
        key = (1000 * window.astype(np.int64) + 100 * closeness
               + 10 * (has_senior & has_trainee) + has_senior + has_trainee)
        aff = np.zeros(members.shape[:-1])
        forb = np.zeros(members.shape[:-1], dtype=np.int64)
        for a, b in combinations(range(m), 2):
            aff += self.weights[members[..., a], members[..., b]]
            forb += self.forbidden[members[..., a], members[..., b]]
        valid = (members != self.pad).sum(axis=-1) >= self.min_size
        return key, aff, forb, valid


_TIME_CANDIDATES = 40
_RANDOM_CANDIDATES = 24


def _candidate_groups(scorer: _Scorer, table: np.ndarray, g: int,
                      rng: np.random.Generator) -> np.ndarray:
    """Groups worth re-splitting with group ``g``: those whose members are free when most of
    g's members are, plus a few random ones (for role mix and to escape plateaus)."""
    n_groups = table.shape[0]
    if n_groups <= _TIME_CANDIDATES + _RANDOM_CANDIDATES:
        return np.arange(n_groups)
    slot_counts = scorer.bits[table[g]].sum(axis=0, dtype=np.int64)
    person = np.where(scorer.bits[:-1], slot_counts, 0).max(axis=1)
    person = np.append(person, -1)
    group_score = person[table].max(axis=1)
    group_score[g] = -1
    by_time = np.argsort(-group_score, kind="stable")[:_TIME_CANDIDATES]
    rest = np.setdiff1d(np.arange(n_groups), np.append(by_time, g))
    random = rng.choice(rest, size=min(_RANDOM_CANDIDATES, len(rest)), replace=False)
    return np.concatenate([by_time, random])


def repair_groups(groups: list[list[int]], starts: np.ndarray, weights: np.ndarray,
                  forbidden: np.ndarray, *, senior: np.ndarray | None = None,
                  trainee: np.ndarray | None = None, min_size: int = 3,
                  max_rounds: int = 30, seed: int = 0,
                  deadline: float | None = None) -> list[list[int]]:
    """Re-split pairs of groups to fix groups with no common window or no senior-trainee mix.

    Parameters
    ----------
    groups : list of list of int
        Local indices ``0..n-1``; new lists are returned, sizes stay within
        ``[min_size, largest current group]``.
    starts : bool array (n, 672)
        Meeting-start vectors (see :func:`matching.start_matrix`).
    weights : float array (n, n)
        Affinity, used to choose among equally good repairs.
    forbidden : bool array (n, n)
        Pairs a repair may not add.
    senior, trainee : bool arrays (n,), optional
        Roles; without them only common windows are repaired.
    """
    groups = [sorted(g) for g in groups]
    n = starts.shape[0]
    if n == 0 or len(groups) < 2:
        return groups
    senior = np.zeros(n, bool) if senior is None else np.asarray(senior, bool)
    trainee = np.zeros(n, bool) if trainee is None else np.asarray(trainee, bool)
    mix = bool(senior.any() and trainee.any())
    m = max(len(g) for g in groups)
    scorer = _Scorer(starts, weights, forbidden, senior, trainee, min_size)
    table = np.full((len(groups), m), n, dtype=np.int64)
    for g, members in enumerate(groups):
        table[g, :len(members)] = members
    side_a = np.array(list(combinations(range(2 * m), m)), dtype=np.int64)
    side_b = np.array([[x for x in range(2 * m) if x not in row] for row in side_a])
    target_key = 1000 + 100 * m + (12 if mix else 0)  # window + mixed + both roles covered
    rng = np.random.default_rng(seed)
    identity = 0  # side_a[0] = the first m slots = group g unchanged
    for _round in range(max_rounds):
        key, aff, forb, _ = scorer.score(table)
        bad = np.flatnonzero(key < target_key)
        if not len(bad):
            break
        improved = False
        for g in bad:
            if key[g] >= target_key:
                continue
            if deadline is not None and time.perf_counter() > deadline:
                break
            cand = _candidate_groups(scorer, table, int(g), rng)
            union = np.concatenate([np.broadcast_to(table[g], (len(cand), m)), table[cand]],
                                   axis=1)
            first, second = union[:, side_a], union[:, side_b]  # (C, K, m)
            k1, a1, f1, v1 = scorer.score(first)
            k2, a2, f2, v2 = scorer.score(second)
            old_key = (key[g] + key[cand])[:, None]
            new_key = k1 + k2
            allowed = v1 & v2 & (f1 + f2 <= (forb[g] + forb[cand])[:, None])
            allowed[cand == g] = False
            allowed[:, identity] = False
            better = allowed & (new_key > old_key)
            if not better.any():
                continue
            score = np.where(better, new_key * 1e5 + a1 + a2, -np.inf)
            improved = True
            c, k = np.unravel_index(int(np.argmax(score)), score.shape)
            h = int(cand[c])
            table[g], table[h] = np.sort(first[c, k]), np.sort(second[c, k])
            for x in (int(g), h):
                kx, ax, fx, _ = scorer.score(table[x][None, :])
                key[x], aff[x], forb[x] = kx[0], ax[0], fx[0]
        if not improved:
            break
    out = [sorted(int(x) for x in row if x != n) for row in table]
    return out

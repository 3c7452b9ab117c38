"""Plan several future rounds jointly so repeat-free months last as long as possible.

Choosing each month's groups on their own is greedy: a grouping that is repeat-free today can
leave no repeat-free grouping a few months later (32 people in groups of four reach about six
such months that way, while ten are possible). This is the social golfer problem, and the
local search of Dotú & Van Hentenryck ("Scheduling social golfers locally", CPAIOR 2005)
solves it well: keep ``K`` future rounds at once, count every pair that would meet twice
(counting earlier rounds and do-not-match pairs as a meeting already), and repeatedly apply the
best swap of two people in different groups of the same round, where at least one of the two
is in a repeated pair; a pair just swapped in a round is tabu there for a few steps (unless
the swap beats the best plan so far), and stagnation restarts from the best plan with a few
random swaps. Once the ``K`` rounds are repeat-free, one more round is added (grouped greedily)
and the search goes on; when a longer plan stays out of reach for a while, the plan is rebuilt
from scratch, since another short plan often extends where the stuck one cannot.

The caller uses the first round of the longest repeat-free plan found. Because every month
plans again from the real history, last month's plan minus its first round is still a valid
continuation, so the plan keeps extending as long as one exists and the search finds it.

All swap gains of all rounds are computed in one vectorized step from the "has met" (count
>= 1) and "has met twice" (count >= 2) matrices times each round's membership matrix.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

__all__ = ["default_plan_steps", "max_plan_rounds", "plan_rounds"]

#: Tabu tenure (steps) of a swapped pair within its round: base plus a random extra.
_TENURE = 4
_TENURE_SPREAD = 8
#: Steps without a new best plan before restarting from the best one with random swaps.
_PATIENCE = 400
_KICK_SWAPS = 4
#: Steps without planning one more round after which the plan is rebuilt from scratch
#: (a different short plan often extends where the stuck one cannot).
_REBUILD = 1000


def default_plan_steps(n: int) -> int:
    """Deterministic step budget: about 4,000 swaps for 32 people (a second or two)."""
    return int(2000 + 60 * n)


def max_plan_rounds(blocked: np.ndarray, sizes: Sequence[int]) -> int:
    """Rounds after which someone must meet a past partner: each round a person in the
    smallest group meets ``min(sizes) - 1`` new people, so ``(n - 1 - met) // (size - 1)``."""
    n = blocked.shape[0]
    smallest = min(sizes)
    if smallest < 2:
        return 0
    met = blocked.sum(axis=1) - np.diag(blocked)
    return int(max(0, ((n - 1 - met) // (smallest - 1)).min()))


class _Schedule:
    """``K`` rounds as group labels, with pair meeting counts (earlier meetings included)."""

    def __init__(self, blocked: np.ndarray, first: np.ndarray, later: np.ndarray,
                 rng: np.random.Generator):
        self.n = blocked.shape[0]
        self.first, self.later = first, later
        self.n_groups = max(len(first), len(later))
        self.round_sizes: list[np.ndarray] = []
        self.base = blocked.astype(np.int32)
        np.fill_diagonal(self.base, 0)
        self.count = self.base.copy()
        self.labels = np.zeros((0, self.n), dtype=np.int64)
        self.rng = rng

    @property
    def rounds(self) -> int:
        return self.labels.shape[0]

    def cost(self) -> int:
        """Pairs meeting more than once, counted once per extra meeting."""
        return int(np.maximum(self.count - 1, 0).sum() // 2)

    def _meet(self, labels: np.ndarray, sign: int) -> None:
        same = labels[:, None] == labels[None, :]
        np.fill_diagonal(same, False)
        self.count += sign * same.astype(np.int32)

    def add_round(self) -> None:
        """A new round grouped greedily: each group grows by the person it conflicts least."""
        order = self.rng.permutation(self.n)
        labels = np.full(self.n, -1, dtype=np.int64)
        free = list(order)
        sizes = self.later if self.rounds else self.first
        self.round_sizes.append(sizes)
        for g, size in enumerate(sizes):
            members = [free.pop(0)]
            while len(members) < size:
                pool = np.array(free)
                clash = self.count[np.ix_(pool, members)].sum(axis=1)
                pick = int(np.flatnonzero(clash == clash.min())[0])
                members.append(int(pool[pick]))
                free.remove(int(pool[pick]))
            labels[members] = g
        self.labels = np.vstack([self.labels, labels])
        self._meet(labels, +1)
        self._rows = np.arange(self.rounds)[:, None]
        self._cols = np.arange(self.n)[None, :]

    def hot_deltas(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Swaps that involve someone in a repeated pair: (rounds, people, deltas).

        ``deltas[i, b]`` is the cost change of swapping ``people[i]`` with ``b`` in round
        ``rounds[i]`` (+inf for ``b`` in the same group).
        """
        met = (self.count >= 1).astype(np.float32)
        twice = (self.count >= 2).astype(np.float32)
        k, n = self.labels.shape
        onehot = np.zeros((k, n, self.n_groups), dtype=np.float32)
        onehot[self._rows, self._cols, self.labels] = 1.0
        same = self.labels[:, :, None] == self.labels[:, None, :]
        rounds, people = np.nonzero((same & (self.count >= 2)[None]).any(axis=2))
        if not len(rounds):
            return rounds, people, np.zeros((0, n))
        join = met @ onehot  # (K, n, G): people of each group a person has met
        own = (twice @ onehot * onehot).sum(axis=2)  # (K, n): repeated pairs in own group
        their = self.labels[rounds]  # (m, n)
        mine = self.labels[rounds, people]  # (m,)
        into_theirs = join[rounds, people][np.arange(len(rounds))[:, None], their]
        into_mine = join[rounds[:, None], np.arange(n)[None, :], mine[:, None]]
        delta = (into_theirs + into_mine - 2.0 * met[people] - own[rounds, people][:, None]
                 - own[rounds]).astype(np.float64)
        delta[their == mine[:, None]] = np.inf
        return rounds, people, delta

    def swap(self, r: int, a: int, b: int) -> None:
        labels = self.labels[r]
        self._meet(labels, -1)
        labels[a], labels[b] = labels[b], labels[a]
        self._meet(labels, +1)

    def groups(self, r: int) -> list[list[int]]:
        return [np.flatnonzero(self.labels[r] == g).tolist()
                for g in range(len(self.round_sizes[r]))]


def plan_rounds(blocked: np.ndarray, sizes: Sequence[int], *, max_rounds: int,
                later_sizes: Sequence[int] | None = None, max_steps: int | None = None,
                seed: int = 0, deadline: float | None = None) -> list[list[list[int]]]:
    """Longest run of consecutive rounds found in which no pair meets twice.

    Parameters
    ----------
    blocked : bool array (n, n)
        Symmetric: pairs that met before or must never meet (counted as one meeting).
    sizes : sequence of int
        Group sizes of the first round (summing to ``n``).
    later_sizes : sequence of int, optional
        Group sizes of the later rounds; None: the same as ``sizes``.
    max_rounds : int
        Stop once this many rounds are planned (capped by what the bound allows).
    max_steps : int, optional
        Swap steps in all; None: :func:`default_plan_steps`. Deterministic for a seed.
    seed : int, default=0
        Seed of the random choices; same input and seed, same plan (without a deadline).
    deadline : float, optional
        ``time.perf_counter()`` value after which the search stops.

    Returns
    -------
    list of rounds, each a list of groups (lists of indices, in the order of the sizes)
        Empty when not even one repeat-free round was found.
    """
    blocked = np.asarray(blocked, dtype=bool)
    n = blocked.shape[0]
    first = np.asarray(list(sizes), dtype=np.int64)
    later = first if later_sizes is None else np.asarray(list(later_sizes), dtype=np.int64)
    if n == 0 or int(first.sum()) != n or int(later.sum()) != n or min(len(first),
                                                                       len(later)) < 2:
        return []
    max_rounds = min(max_rounds, max_plan_rounds(blocked, [*first.tolist(), *later.tolist()]))
    if max_rounds < 1:
        return []
    budget = default_plan_steps(n) if max_steps is None else max_steps
    rng = np.random.default_rng(seed)
    best_plan: list[list[list[int]]] = []
    state = _Schedule(blocked, first, later, rng)
    state.add_round()
    cost = state.cost()
    best_cost, best_labels, best_step, extended = cost, state.labels.copy(), 0, 0
    tabu = np.zeros((1, n, n), dtype=np.int64)
    for step in range(budget):
        if cost == 0:
            if state.rounds > len(best_plan):
                best_plan = [state.groups(r) for r in range(state.rounds)]
            if state.rounds >= max_rounds:
                break
            state.add_round()
            tabu = np.vstack([tabu, np.zeros((1, n, n), dtype=np.int64)])
            cost = state.cost()
            best_cost, best_labels, best_step, extended = cost, state.labels.copy(), step, step
        elif step - extended > _REBUILD:
            state = _Schedule(blocked, first, later, rng)
            state.add_round()
            tabu = np.zeros((1, n, n), dtype=np.int64)
            cost = state.cost()
            best_cost, best_labels, best_step, extended = cost, state.labels.copy(), step, step
        if deadline is not None and step % 16 == 0 and time.perf_counter() > deadline:
            break
        rounds, people, delta = state.hot_deltas()
        if not len(rounds):
            continue
        free = tabu[rounds, people] <= step
        delta = np.where(free | (cost + delta < best_cost), delta, np.inf)
        delta += rng.random(delta.shape) * 0.5  # random choice among equal gains
        flat = int(np.argmin(delta))
        if not np.isfinite(delta.flat[flat]):
            continue
        row, b = divmod(flat, n)
        r, a = int(rounds[row]), int(people[row])
        cost += int(np.floor(delta.flat[flat]))
        state.swap(r, a, b)
        tabu[r, a, b] = tabu[r, b, a] = step + _TENURE + int(rng.integers(0, _TENURE_SPREAD))
        if cost < best_cost:
            best_cost, best_labels, best_step = cost, state.labels.copy(), step
        elif step - best_step > _PATIENCE:
            _restart(state, best_labels, rng)
            cost, best_step = state.cost(), step
            tabu[:] = 0
    return best_plan


def _restart(state: _Schedule, labels: np.ndarray, rng: np.random.Generator) -> None:
    """Back to the best plan, then a few random swaps in random rounds."""
    state.count = state.base.copy()
    state.labels = labels.copy()
    for r in range(state.rounds):
        state._meet(state.labels[r], +1)
    for _ in range(_KICK_SWAPS):
        r = int(rng.integers(state.rounds))
        a, b = rng.choice(state.n, size=2, replace=False)
        if state.labels[r, a] != state.labels[r, b]:
            state.swap(r, int(a), int(b))

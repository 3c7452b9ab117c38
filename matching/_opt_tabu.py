"""Tabu search for grouping with per-group size bounds (the MDGP neighbourhood).

State: labels ``p`` and the group-sum matrix ``Mt[g, i] = sum_{j in g} C[i, j]`` (Lai & Hao's
"delta matrix", stored group-major so the O(n) update after a move touches contiguous rows).
Moving ``i`` from ``p_i`` to ``g`` changes the objective by ``Mt[g, i] - Mt[p_i, i]``; swapping
``i`` and ``j`` by ``Mt[p_j, i] - Mt[p_i, i] + Mt[p_i, j] - Mt[p_j, j] - 2 C[i, j]``. Each iteration
evaluates all feasible moves and the swaps of a random sample of rows with every column in a
few array operations, then applies the best non-tabu one (aspiration: a new best is always
allowed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

#: Swap candidates checked one by one for tabu status before falling back to full masks.
TOP_CANDIDATES = 4
#: Up to this size every row is evaluated each iteration; above it a random tenth.
FULL_NEIGHBOURHOOD_N = 120
#: Tabu tenure: ``n / TENURE_DIVISOR`` (at least 2, at most TENURE_CAP) plus a random extra of
#: up to the same amount.
TENURE_DIVISOR = 20
TENURE_CAP = 50
#: Single precision (``single_precision=True``) is used only while every weight stays below
#: this: the forbidden-pair penalties of ``partition`` are far larger and keep double precision.
SINGLE_PRECISION_MAX_WEIGHT = 2.0**16
#: Iterations between rebuilding the single-precision group sums from the exact weights, so
#: rounding errors of the incremental updates cannot accumulate over a long run.
RESYNC_ITERATIONS = 20000


@dataclass(frozen=True)
class SearchBudget:
    """When a search stops: wall-clock deadline (``time.time()``), iteration cap, stagnation cap."""

    deadline: float | None
    max_iterations: int | None
    stall_iterations: int


def target_sizes(lower: np.ndarray, upper: np.ndarray, n: int, mean_weight: float) -> np.ndarray:
    """Group sizes within bounds that maximize (or, for negative mean weight, minimize) pairs.

    With random weights the objective is roughly ``mean_weight * sum_g C(s_g, 2)`` plus structure,
    so the pair count dominates and is convex in the sizes: the optimum sits at the bounds. A
    small DP over (group, people placed) finds the best size vector exactly.
    """
    sign = 1.0 if mean_weight > 0 else -1.0
    group_count = lower.size
    best = np.full(n + 1, -np.inf)
    best[0] = 0.0
    choices = np.zeros((group_count, n + 1), dtype=np.int64)
    for g in range(group_count):
        following = np.full(n + 1, -np.inf)
        for size in range(int(lower[g]), int(upper[g]) + 1):
            shifted = np.full(n + 1, -np.inf)
            shifted[size:] = best[: n + 1 - size]
            # Ties broken towards balanced sizes with a tiny quadratic nudge.
            gain = sign * size * (size - 1) / 2.0 - 1e-9 * size * size
            better = shifted + gain > following
            following[better] = shifted[better] + gain
            choices[g, better] = size
        best = following
    sizes = np.zeros(group_count, dtype=np.int64)
    remaining = n
    for g in range(group_count - 1, -1, -1):
        sizes[g] = choices[g, remaining]
        remaining -= sizes[g]
    return sizes


def greedy_start(C: np.ndarray, sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random seeds, then each person (random order) joins the best group that still has room."""
    n = C.shape[0]
    group_count = sizes.size
    order = rng.permutation(n)
    labels = np.full(n, -1, dtype=np.int64)
    filled = np.zeros(group_count, dtype=np.int64)
    sums = np.zeros((group_count, n))
    nonempty = np.flatnonzero(sizes > 0)
    for g, person in zip(nonempty, order[: nonempty.size], strict=False):
        labels[person] = g
        filled[g] = 1
        sums[g] += C[person]
    for person in order[nonempty.size :]:
        gains = np.where(filled < sizes, sums[:, person], -np.inf)
        g = int(np.argmax(gains))
        labels[person] = g
        filled[g] += 1
        sums[g] += C[person]
    return labels


def group_sums(C: np.ndarray, labels: np.ndarray, group_count: int) -> np.ndarray:
    one_hot = np.zeros((group_count, labels.size))
    one_hot[labels, np.arange(labels.size)] = 1.0
    return one_hot @ C


def labels_score(C: np.ndarray, labels: np.ndarray) -> float:
    same = labels[:, None] == labels[None, :]
    return float(np.triu(np.where(same, C, 0.0), 1).sum())


def _best_allowed_swap(
    delta: np.ndarray,
    rows: np.ndarray,
    labels: np.ndarray,
    tabu_until: np.ndarray,
    iteration: int,
    aspiration: float,
) -> tuple[float, int, int] | None | bool:
    """Best swap in ``delta`` (same-group pairs already at ``-inf``) that is not tabu.

    Tries the top few entries one ``argmax`` at a time (each excluded entry is set to ``-inf``,
    so ``delta`` is modified); a full partial sort or a full tabu mask would cost far more at
    n = 480. Returns None when no swap exists, False when the leading entries were all tabu
    (the caller then rebuilds ``delta`` with the tabu pairs masked).
    """
    n = labels.size
    flat = delta.reshape(-1)
    for _ in range(TOP_CANDIDATES):
        index = int(flat.argmax())
        value = float(flat[index])
        if value == -np.inf:
            return None
        r, j = divmod(index, n)
        i = int(rows[r])
        gi, gj = int(labels[i]), int(labels[j])
        if value > aspiration or (
            tabu_until[i, gj] <= iteration and tabu_until[j, gi] <= iteration
        ):
            return value, i, j
        flat[index] = -np.inf
    return False


@dataclass
class _State:
    """Search state shared by the neighbourhood evaluation and the step."""

    C: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    labels: np.ndarray
    sizes: np.ndarray
    Mt: np.ndarray
    own: np.ndarray
    tabu_until: np.ndarray
    can_move: bool


def _best_steps(
    state: _State, rows: np.ndarray, iteration: int, aspiration: float
) -> tuple[tuple[float, int, int] | None, tuple[float, int, int] | None]:
    """Best allowed swap (row with any column) and best allowed move of ``rows``."""
    labels, Mt, own, tabu_until = state.labels, state.Mt, state.own, state.tabu_until
    n = labels.size
    row_groups = labels[rows]
    # gains[r, h]: moving row r to group h; column_gains[h, j]: the same for person j.
    gains = Mt[:, rows].T
    gains -= own[rows][:, None]
    column_gains = Mt - own
    swap_gains = gains.copy()
    swap_gains[np.arange(rows.size), row_groups] = -np.inf  # a swap inside one group is no swap
    # delta[r, j] = gain of r joining p_j + gain of j joining p_r - 2 C[r, j]
    pair_weights = np.take(state.C, rows, axis=0)
    pair_weights *= 2.0
    delta = np.take(swap_gains, labels, axis=1)
    delta += np.take(column_gains, row_groups, axis=0)
    delta -= pair_weights
    swap = _best_allowed_swap(delta, rows, labels, tabu_until, iteration, aspiration)
    if swap is False:
        # All leading swaps are tabu and none aspirates: a swap is allowed only if both of its
        # moves are, so masking the two small gain tables masks every tabu swap.
        swap_gains[tabu_until[rows] > iteration] = -np.inf
        column_gains[iteration < tabu_until.T] = -np.inf
        delta = np.take(swap_gains, labels, axis=1)
        delta += np.take(column_gains, row_groups, axis=0)
        delta -= pair_weights
        r, j = divmod(int(delta.argmax()), n)
        swap = None if delta[r, j] == -np.inf else (float(delta[r, j]), int(rows[r]), j)
    move: tuple[float, int, int] | None = None
    if state.can_move:
        sizes, lower, upper = state.sizes, state.lower, state.upper
        closed = (sizes >= upper)[None, :] | (sizes[row_groups] <= lower[row_groups])[:, None]
        closed[np.arange(rows.size), row_groups] = True
        gains[closed] = -np.inf
        gains[(tabu_until[rows] > iteration) & (gains <= aspiration)] = -np.inf
        r, g = divmod(int(np.argmax(gains)), lower.size)
        if gains[r, g] > -np.inf:
            move = (float(gains[r, g]), int(rows[r]), int(g))
    return swap, move


def tabu_search(
    C: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    budget: SearchBudget,
    tenure_divisor: int = TENURE_DIVISOR,
    single_precision: bool = False,
) -> tuple[np.ndarray, float, int]:
    """Improve ``labels`` (sizes already within bounds); return best labels, score, iterations.

    ``C`` must have a zero diagonal. Deterministic for a given ``rng`` state when the budget has
    no deadline. Above FULL_NEIGHBOURHOOD_N each iteration samples a tenth of the rows; when
    that sample finds no improving step while the search stands on its best solution, the full
    neighbourhood is checked before stepping down, so every best solution returned is a local
    optimum for moves and swaps (the sample alone misses improvements about half the time).
    ``single_precision`` evaluates steps in float32 when the weights allow it (see
    SINGLE_PRECISION_MAX_WEIGHT): about 1.3 times the iterations at n = 480, where the step
    evaluation is bound by memory traffic; the returned score is exact either way.
    """
    n = C.shape[0]
    group_count = lower.size
    labels = labels.copy()
    exact = C
    largest = float(np.abs(C).max()) if n else 0.0
    single = single_precision and largest < SINGLE_PRECISION_MAX_WEIGHT
    if single:
        C = C.astype(np.float32)
    Mt = group_sums(exact, labels, group_count).astype(C.dtype)
    people = np.arange(n)
    state = _State(
        C=C,
        lower=lower,
        upper=upper,
        labels=labels,
        sizes=np.bincount(labels, minlength=group_count),
        Mt=Mt,
        own=Mt[labels, people],
        tabu_until=np.zeros((n, group_count), dtype=np.int64),
        can_move=bool(np.any(lower < upper)),
    )
    sizes, tabu_until = state.sizes, state.tabu_until
    score = 0.5 * float(state.own.sum(dtype=np.float64))
    best_score, best_labels = score, labels.copy()
    sample_size = n if n <= FULL_NEIGHBOURHOOD_N else max(32, n // 10)
    tenure_base = max(2, min(n // tenure_divisor, TENURE_CAP))
    tolerance = 1e-9 * (1.0 + largest)
    if single:
        # Float32 rounding of a group sum is about 1e-7 of n * largest weight: a step must beat
        # that to count as an improvement, or rounding noise would pass for new bests.
        tolerance = 1e-6 * (1.0 + largest) * n
    stall = 0
    iteration = 0
    while True:
        iteration += 1
        if budget.max_iterations is not None and iteration > budget.max_iterations:
            break
        if stall >= budget.stall_iterations:
            break
        if budget.deadline is not None and time.time() >= budget.deadline:
            break
        aspiration = best_score - score + tolerance
        rows = people if sample_size >= n else rng.choice(n, sample_size, replace=False)
        swap, move = _best_steps(state, rows, iteration, aspiration)
        if sample_size < n and score >= best_score - tolerance:
            found = max(step[0] for step in (swap, move, (-np.inf, 0, 0)) if step is not None)
            if found <= tolerance:
                swap, move = _best_steps(state, people, iteration, aspiration)
        if swap is None and move is None:
            stall += 1
            continue
        tenure = tenure_base + int(rng.integers(0, tenure_base + 1))
        if move is not None and (swap is None or move[0] > swap[0]):
            best_delta, i, g = move
            source = int(labels[i])
            Mt[source] -= C[i]
            Mt[g] += C[i]
            labels[i] = g
            sizes[source] -= 1
            sizes[g] += 1
            tabu_until[i, source] = iteration + tenure
        else:
            assert swap is not None
            best_delta, i, j = swap
            gi, gj = int(labels[i]), int(labels[j])
            difference = C[j] - C[i]
            Mt[gi] += difference
            Mt[gj] -= difference
            labels[i], labels[j] = gj, gi
            tabu_until[i, gi] = iteration + tenure
            tabu_until[j, gj] = iteration + tenure
        state.own = Mt[labels, people]
        score += best_delta
        if single and iteration % RESYNC_ITERATIONS == 0:
            Mt[:] = group_sums(exact, labels, group_count)
            state.own = Mt[labels, people]
            score = 0.5 * float(state.own.sum(dtype=np.float64))
        if score > best_score + tolerance:
            best_score, best_labels = score, labels.copy()
            stall = 0
        else:
            stall += 1
    return best_labels, labels_score(exact, best_labels), iteration - 1

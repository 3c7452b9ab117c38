"""Memetic search for few large groups (the MDGP benchmark regime): tabu runs plus crossover.

A single tabu run stagnates (on MDGPLIB n = 480 it ends about as good after 30k iterations as
after 150k), and fresh random restarts start too far away to help. Recombining good solutions
does: a child keeps the members two elite parents agree on (groups matched by overlap) and
re-inserts everyone else greedily, so each new tabu run starts inside the region where the
elites are good but away from either parent's trap. A small pool (replace-worst, no
duplicates) keeps the parents diverse.

Since 2026-11-22 the worker uses it up to FULL_NEIGHBOURHOOD_N people and, above, in the child
process only: one long tabu run with tenure n/40 (``_opt_long_tabu``) was better on most
MDGPLIB n = 480 instances, but not everywhere at n = 240.
"""

from __future__ import annotations

import time

import numpy as np

from matching._opt_tabu import (
    SearchBudget,
    greedy_start,
    group_sums,
    labels_score,
    tabu_search,
)

#: Elite solutions kept; small, because each member costs a full tabu run to make.
POOL_SIZE = 3
#: Tabu run length, in iterations per person: a cap, and the non-improving streak that ends it.
#: The starting members get short runs (cheap, diverse parents); crossover children, which start
#: close to good solutions, get long ones (measured on MDGPLIB n = 480: 10n ends too early).
RUN_CAP_PER_PERSON = 200
STALL_PER_PERSON = 30
INITIAL_STALL_PER_PERSON = 5

#: Leading swap candidates examined per descent round, and a cap on rounds (each costs an
#: ``n x n`` evaluation; from a greedy start n = 480 needs about 50).
DESCENT_CANDIDATES = 400
MAX_DESCENT_ROUNDS = 500


def batch_descent(C: np.ndarray, labels: np.ndarray, deadline: float | None) -> np.ndarray:
    """Swap-only steepest descent that applies many improving swaps per full evaluation.

    Swaps between disjoint pairs of groups do not interact, so after scoring every swap at
    once (an ``n x n`` array) the best improving ones touching each group at most once are all
    applied. Reaches a swap local optimum in a few dozen array passes, where the sampled tabu
    search needs thousands of iterations to climb from a greedy start.
    """
    n = labels.size
    labels = labels.copy()
    group_count = int(labels.max()) + 1
    Mt = group_sums(C, labels, group_count)
    people = np.arange(n)
    tolerance = 1e-9 * (1.0 + float(np.abs(C).max()))
    for _ in range(MAX_DESCENT_ROUNDS):
        if deadline is not None and time.time() >= deadline:
            break
        own = Mt[labels, people]
        across = Mt[labels]  # across[j, i] = sum of C[i, k] over k in j's group
        delta = across + across.T
        delta -= own[:, None]
        delta -= own[None, :]
        delta -= 2.0 * C
        flat = delta.ravel()
        count = min(DESCENT_CANDIDATES, flat.size)
        leading = np.argpartition(flat, flat.size - count)[flat.size - count :]
        leading = leading[np.argsort(-flat[leading], kind="stable")]
        touched = np.zeros(group_count, dtype=bool)
        applied = 0
        for index in leading.tolist():
            if flat[index] <= tolerance:
                break
            i, j = divmod(index, n)
            gi, gj = int(labels[i]), int(labels[j])
            if touched[gi] or touched[gj]:
                continue
            touched[gi] = touched[gj] = True
            difference = C[j] - C[i]
            Mt[gi] += difference
            Mt[gj] -= difference
            labels[i], labels[j] = gj, gi
            applied += 1
        if applied == 0:
            break
    return labels


def matched_groups(first: np.ndarray, second: np.ndarray, group_count: int) -> np.ndarray:
    """For each group of ``first``, the group of ``second`` sharing the most members.

    Greedy one-to-one matching on the overlap counts (largest overlap first).
    """
    overlap = np.zeros((group_count, group_count), dtype=np.int64)
    np.add.at(overlap, (first, second), 1)
    partner = np.full(group_count, -1, dtype=np.int64)
    order = np.argsort(-overlap, axis=None, kind="stable")
    used_first = np.zeros(group_count, dtype=bool)
    used_second = np.zeros(group_count, dtype=bool)
    for flat in order.tolist():
        g, h = divmod(flat, group_count)
        if used_first[g] or used_second[h]:
            continue
        partner[g] = h
        used_first[g] = used_second[h] = True
    return partner


def crossover(
    C: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    group_count: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Child with ``first``'s group sizes: common members kept, the rest inserted greedily."""
    sizes = np.bincount(first, minlength=group_count)
    partner = matched_groups(first, second, group_count)
    keep = partner[first] == second
    labels = np.where(keep, first, -1)
    filled = np.bincount(labels[keep], minlength=group_count)
    sums = np.zeros((group_count, C.shape[0]))
    np.add.at(sums, labels[keep], C[keep])
    for person in rng.permutation(np.flatnonzero(~keep)).tolist():
        gains = np.where(filled < sizes, sums[:, person], -np.inf)
        g = int(np.argmax(gains))
        labels[person] = g
        filled[g] += 1
        sums[g] += C[person]
    return labels


def memetic_search(
    C: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    sizes: np.ndarray,
    rng: np.random.Generator,
    deadline: float | None,
    max_iterations: int | None,
) -> tuple[float, np.ndarray]:
    """Best ``(score, labels)`` from a small population evolved by crossover + tabu search.

    ``sizes`` (within bounds) shapes the greedy starts; the tabu moves may still change sizes.
    Deterministic for a given ``rng`` state when ``deadline`` is None.
    """
    n = C.shape[0]
    run_cap = RUN_CAP_PER_PERSON * n
    stall = max(2000, STALL_PER_PERSON * n)
    initial_stall = max(2000, INITIAL_STALL_PER_PERSON * n)
    pool: list[tuple[float, np.ndarray]] = []
    used = 0

    def exhausted() -> bool:
        if max_iterations is not None and used >= max_iterations:
            return True
        return deadline is not None and time.time() >= deadline

    def improve(labels: np.ndarray, stall: int) -> tuple[float, np.ndarray]:
        nonlocal used
        cap = run_cap if max_iterations is None else min(run_cap, max_iterations - used)
        budget = SearchBudget(deadline, max(cap, 1), stall_iterations=stall)
        labels = batch_descent(C, labels, deadline)
        labels, score, iterations = tabu_search(C, lower, upper, labels, rng, budget)
        used += max(iterations, 1)
        return score, labels

    while len(pool) < POOL_SIZE and (not pool or not exhausted()):
        pool.append(improve(greedy_start(C, sizes, rng), initial_stall))
    while not exhausted():
        a, b = rng.choice(len(pool), 2, replace=False)
        child = crossover(C, pool[int(a)][1], pool[int(b)][1], lower.size, rng)
        score, labels = improve(child, stall)
        worst = min(range(len(pool)), key=lambda k: pool[k][0])
        tolerance = 1e-9 * (1.0 + abs(score))
        duplicate = any(abs(score - other) <= tolerance for other, _ in pool)
        if score > pool[worst][0] + tolerance and not duplicate:
            pool[worst] = (score, labels)
    best_score, best_labels = max(pool, key=lambda item: item[0])
    return labels_score(C, best_labels), best_labels

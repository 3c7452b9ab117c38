"""Iterated tabu search for few large groups (the MDGP benchmark regime).

One long tabu run with a short tenure beats many short runs recombined by crossover (measured
on MDGPLIB n = 480 with 60 s of CPU on one core: RanReal ss 0.05% vs 0.46% below the
reference), but a run can sit in one basin for most of its time (a RanReal ds run found its
last improvement at 15 s of 60). So a run ends only after a long non-improving streak; the
next one starts from the best solution with a few random swaps, far enough to leave the basin
and close enough to keep most of its structure.
"""

from __future__ import annotations

import time

import numpy as np

from matching._opt_memetic import batch_descent
from matching._opt_tabu import SearchBudget, greedy_start, labels_score, tabu_search

#: Tenure ``n / 40`` plus a random extra up to as much (n/20 left RanReal n = 480 ss at 0.43%).
TENURE_DIVISOR = 40
#: Non-improving iterations per person that end one run (about 7 s at n = 480).
STALL_PER_PERSON = 50
#: Random swaps applied to the best solution before the next run, per person.
PERTURB_SHARE = 0.05


def perturbed(labels: np.ndarray, swaps: int, rng: np.random.Generator) -> np.ndarray:
    """``labels`` with ``swaps`` random disjoint pairs of people exchanged (sizes unchanged)."""
    count = min(2 * swaps, labels.size - labels.size % 2)
    chosen = rng.choice(labels.size, count, replace=False)
    first, second = chosen[: count // 2], chosen[count // 2 :]
    result = labels.copy()
    result[first], result[second] = labels[second], labels[first]
    return result


def iterated_tabu_search(
    C: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    sizes: np.ndarray,
    rng: np.random.Generator,
    deadline: float | None,
    max_iterations: int | None,
) -> tuple[float, np.ndarray]:
    """Best ``(score, labels)`` of tabu runs, each after the first from the perturbed best.

    ``sizes`` (within bounds) shapes the greedy start; the tabu moves may still change sizes.
    Deterministic for a given ``rng`` state when ``deadline`` is None.
    """
    n = C.shape[0]
    stall = max(2000, STALL_PER_PERSON * n)
    swaps = max(2, int(PERTURB_SHARE * n))
    labels = batch_descent(C, greedy_start(C, sizes, rng), deadline)
    best_score, best_labels = -np.inf, labels
    used = 0
    while True:
        remaining = None if max_iterations is None else max_iterations - used
        if remaining is not None and remaining <= 0:
            break
        if best_score > -np.inf and deadline is not None and time.time() >= deadline:
            break
        budget = SearchBudget(deadline, remaining, stall_iterations=stall)
        labels, score, iterations = tabu_search(
            C, lower, upper, labels, rng, budget, tenure_divisor=TENURE_DIVISOR
        )
        used += max(iterations, 1)
        if score > best_score + 1e-9 * (1.0 + abs(score)):
            best_score, best_labels = score, labels
        labels = perturbed(best_labels, swaps, rng)
    return labels_score(C, best_labels), best_labels

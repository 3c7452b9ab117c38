"""One seed of the heuristic search, runnable in-process or in a child interpreter.

Chooses the engine: exact two-group re-splits (``_opt_pairs``) for many small groups with
uniform bounds, where a full tabu iteration (cost ~ n x groups) would be too slow; for groups
of 7 or more, the MDGP benchmark regime of few large groups, a memetic search (crossover + tabu,
``_opt_memetic``) up to FULL_NEIGHBOURHOOD_N people, above it one long tabu run
(``_opt_long_tabu``) in the parent process with the memetic search in the child, and from
LONG_RUNS_ONLY_N people long tabu runs in both; restarted tabu search (``_opt_tabu``)
otherwise.
"""

from __future__ import annotations

import pickle
import sys
import time

import numpy as np

from matching._opt_long_tabu import long_tabu_search
from matching._opt_memetic import memetic_search
from matching._opt_pairs import pair_search
from matching._opt_tabu import (
    FULL_NEIGHBOURHOOD_N,
    SearchBudget,
    greedy_start,
    tabu_search,
    target_sizes,
)

#: Pair re-splits are used from this many groups on (with uniform bounds up to PAIR_MAX_SIZE).
PAIR_MIN_GROUPS = 150
PAIR_MAX_SIZE = 6
#: Size bounds reaching this (the MDGP benchmark regime of few large groups) use the memetic
#: search or one long tabu run; the product's groups of 3-4 keep the restarted tabu search.
MEMETIC_MIN_SIZE = 7
#: ``engine`` values of ``solve_one_seed``: the parent process runs the main engine, the child
#: the alternative one where there is a choice (few large groups above FULL_NEIGHBOURHOOD_N).
MAIN_ENGINE, CHILD_ENGINE = 0, 1
#: From this many people on both processes run one long tabu run (different seeds): at
#: n = 480 the memetic search lost on every MDGPLIB instance measured (see solve_one_seed),
#: at n = 240 it won some (RanInt ss 0.07% vs 0.16%). No size between was measured.
LONG_RUNS_ONLY_N = 360
#: Tabu restarts in a row that fail to beat the best before one seed gives up early.
MAX_FRUITLESS_RESTARTS = 3


def uses_pair_search(lower: np.ndarray, upper: np.ndarray) -> bool:
    uniform = bool(np.all(lower == lower[0]) and np.all(upper == upper[0]))
    return uniform and lower.size >= PAIR_MIN_GROUPS and int(upper[0]) <= PAIR_MAX_SIZE


def iteration_budget(n: int, lower: np.ndarray, upper: np.ndarray) -> int:
    """Deterministic work for ``time_limit=None``: about ``min(2 + n / 50, 30) / 2`` s per core.

    Iteration costs were measured on the benchmark machine (AMD EPYC): a tabu iteration takes
    about ``0.04 ms + 6 ns * rows * (n + groups)``, a pair-search cycle under a millisecond.
    Since the tabu step lost its partial sort (2026-11-22) an iteration costs about half that
    at n = 60 and a third at n = 480; the budget was kept in iterations, so results keep their
    work and finish sooner.
    """
    if uses_pair_search(lower, upper):
        return int(min(1000 + 2 * n, 5000))
    seconds = 0.5 * min(2.0 + n / 50.0, 30.0)
    rows = n if n <= FULL_NEIGHBOURHOOD_N else max(32, n // 10)
    milliseconds = 0.04 + 6e-6 * rows * (n + lower.size)
    # Small instances converge long before the time-based figure: cap by size as well.
    return int(min(max(seconds * 1000.0 / milliseconds, 2000), 4000 + 150 * n, 60000))


def solve_one_seed(
    C: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    seed_words: tuple[int, ...],
    deadline: float | None,
    max_iterations: int | None,
    engine: int = MAIN_ENGINE,
) -> tuple[float, np.ndarray]:
    """Start and search for one seed; returns ``(score, labels)``.

    ``engine`` (MAIN_ENGINE or CHILD_ENGINE) matters only for groups of MEMETIC_MIN_SIZE or
    more from FULL_NEIGHBOURHOOD_N to LONG_RUNS_ONLY_N people: the main engine is one long tabu
    run, the child's the memetic search. There neither wins everywhere (MDGPLIB, 60 CPU-s,
    seed 1: RanInt n = 240 ss 0.16% vs 0.07%), so the two processes hedge; at n = 480 the long
    run won on all four RanReal and RanInt instances (see ``_opt_long_tabu``).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed_words))
    n = C.shape[0]
    if uses_pair_search(lower, upper):
        budget = SearchBudget(deadline, max_iterations, stall_iterations=max(2000, 5 * n))
        labels, score = pair_search(C, int(lower[0]), int(upper[0]), lower.size, rng, budget)
        return score, labels
    mean_weight = float(C.sum() / (n * (n - 1))) if n > 1 else 0.0
    sizes = target_sizes(lower, upper, n, mean_weight)
    if int(upper.max()) >= MEMETIC_MIN_SIZE:
        # Where every tabu step sees the whole neighbourhood, runs converge fast and
        # recombination pays (n = 120: within 0.024% of the references); above, each step
        # samples a tenth of it and one long run often gains more than crossover children do.
        long_runs = n > FULL_NEIGHBOURHOOD_N and (engine == MAIN_ENGINE or n >= LONG_RUNS_ONLY_N)
        search = long_tabu_search if long_runs else memetic_search
        return search(C, lower, upper, sizes, rng, deadline, max_iterations)
    best_score, best_labels = -np.inf, greedy_start(C, sizes, rng)
    used, fruitless = 0, 0
    # Multi-start: a stagnating tabu run is restarted from a fresh greedy start (seeds differ
    # far more than a long stagnation ever recovers); stop after a few fruitless restarts.
    while fruitless < MAX_FRUITLESS_RESTARTS:
        remaining = None if max_iterations is None else max_iterations - used
        if remaining is not None and remaining <= 0:
            break
        if deadline is not None and time.time() >= deadline:
            break
        labels = greedy_start(C, sizes, rng)
        budget = SearchBudget(deadline, remaining, stall_iterations=max(20000, 100 * n))
        labels, score, iterations = tabu_search(C, lower, upper, labels, rng, budget)
        used += max(iterations, 1)
        if best_score == -np.inf or score > best_score + 1e-9 * (1.0 + abs(best_score)):
            best_score, best_labels, fruitless = score, labels, 0
        else:
            fruitless += 1
    return best_score, best_labels


def worker_main() -> None:
    """Child-process entry: pickled arguments on stdin, pickled ``(score, labels)`` on stdout."""
    arguments = pickle.load(sys.stdin.buffer)
    result = solve_one_seed(*arguments)
    pickle.dump(result, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.flush()

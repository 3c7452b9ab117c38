"""One long tabu run for few large groups (the MDGP benchmark regime above 120 people).

Many short tabu runs recombined by crossover (the memetic search of ``_opt_memetic``) lose to
one uninterrupted run with a short tenure where each step samples a tenth of the rows.
Measured with 60 s of process CPU time on one core, MDGPLIB n = 480, seed 1, gap to the
reference, long run vs memetic: RanReal ss 0.05% vs 0.46%, RanInt ss 0.16% vs 0.52%, RanInt
ds 0.13% vs 0.26%, RanReal ds 0.42% vs 0.87% (seeds 2 and 3: 0.52% and 0.32%). The tenure
matters most: the same run with tenure n/20 left RanReal ss at 0.43%. Interrupting the run
hurt: restarts from the perturbed best after 12,000-72,000 idle steps ended 0.01-0.2% worse
(runs still improve after long idle streaks), so the run goes on until the budget ends.

Steps are evaluated in float32 (``tabu_search``'s ``single_precision``): 1.3 times the
iterations (about 650,000 instead of 520,000 in 60 CPU-s at n = 480), and from
``_opt_worker.LONG_RUNS_ONLY_N`` people on both processes run this search (2026-11-22).
Measured on RanReal_n480_ds_01 with 60 CPU-s per run, seeds 1-4 (``default_rng(seed)``):
float64 0.17/0.49/0.44/0.43% (seeds 5-7: 0.28/0.29/0.38%), float32 0.39/0.23/0.33/0.28%; seeds
differ far more than any tuning tried there (mean gap of seeds 1-4, 0.38% as it was): a
sample of 1/20 of the rows 0.41%, 1/5 0.43%, tenure n/20 0.44%, n/80 0.40%, restarts from the
best with 10 random swaps after 20,000 idle steps 0.51% (30 after 50,000: 0.48%), rows picked
by best move gain 0.48%, a second disjoint swap per step 0.43%. The size configuration is not
the obstacle: runs keep ``target_sizes``' sizes apart from a pair-neutral shift of one person,
and swap-only runs at those sizes did no better (0.46% and 0.54% after 20 s vs 0.45%). The
current solution wanders 0.3-0.5% below the best, about 150 people away from it, and new bests
come in bursts after long idle streaks, so more iterations and a second run help most.
Float32 elsewhere (60 CPU-s, seeds 1 and 2, float32 vs float64): RanInt n = 480 ds 0.00/-0.15%
vs 0.11/-0.15%, RanReal ss 0.10/0.17% vs 0.13/0.06%.
"""

from __future__ import annotations

import numpy as np

from matching._opt_memetic import batch_descent
from matching._opt_tabu import SearchBudget, greedy_start, labels_score, tabu_search

#: Tenure ``n / 40`` plus a random extra up to as much (n/20 left RanReal n = 480 ss at 0.43%),
#: but at least MIN_TENURE: n/40 = 3 at n = 120 cycled (RanReal and RanInt n = 120 ds at 0.6%;
#: tenure 6 reached 0.01%).
TENURE_DIVISOR = 40
MIN_TENURE = 6
#: Stagnation cap that never ends a run within any realistic budget.
NO_STALL_LIMIT = 1 << 62


def long_tabu_search(
    C: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    sizes: np.ndarray,
    rng: np.random.Generator,
    deadline: float | None,
    max_iterations: int | None,
) -> tuple[float, np.ndarray]:
    """Best ``(score, labels)`` of one tabu run from a greedy start, until the budget ends.

    ``sizes`` (within bounds) shapes the greedy start; the tabu moves may still change sizes.
    At least one of ``deadline`` and ``max_iterations`` must be given. Deterministic for a
    given ``rng`` state when ``deadline`` is None.
    """
    if deadline is None and max_iterations is None:
        raise ValueError("long_tabu_search needs a deadline or an iteration budget")
    n = C.shape[0]
    divisor = max(1, min(TENURE_DIVISOR, n // MIN_TENURE))
    labels = batch_descent(C, greedy_start(C, sizes, rng), deadline)
    budget = SearchBudget(deadline, max_iterations, stall_iterations=NO_STALL_LIMIT)
    labels, _, _ = tabu_search(
        C, lower, upper, labels, rng, budget, tenure_divisor=divisor, single_precision=True
    )
    return labels_score(C, labels), labels

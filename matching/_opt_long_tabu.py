"""One long tabu run for few large groups (the MDGP benchmark regime above 120 people).

Many short tabu runs recombined by crossover (the memetic search of ``_opt_memetic``) lose to
one uninterrupted run with a short tenure where each step samples a tenth of the rows.
Measured with 60 s of process CPU time on one core, MDGPLIB n = 480, seed 1, gap to the
reference, long run vs memetic: RanReal ss 0.05% vs 0.46%, RanInt ss 0.16% vs 0.52%, RanInt
ds 0.13% vs 0.26%, RanReal ds 0.42% vs 0.87% (seeds 2 and 3: 0.52% and 0.32%). The tenure
matters most: the same run with tenure n/20 left RanReal ss at 0.43%. Interrupting the run
hurt: restarts from the perturbed best after 12,000-72,000 idle steps ended 0.01-0.2% worse
(runs still improve after long idle streaks), so the run goes on until the budget ends.
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
    labels, _, _ = tabu_search(C, lower, upper, labels, rng, budget, tenure_divisor=divisor)
    return labels_score(C, labels), labels

"""Run the heuristic search: budgets, two independent seeds on two processes, best kept.

The second seed runs in a fresh Python interpreter (``subprocess``; safe to start from a worker
thread of a multi-threaded server, and it never re-imports the caller's ``__main__`` as
``multiprocessing``'s spawn mode would). It imports only the ``_opt_*`` modules and NumPy (a
stand-in ``matching`` package object skips the real ``matching/__init__.py``) and exchanges
pickles over its pipes. Both results are awaited and the best is kept with a fixed tie-break
(the parent's seed wins ties), so the answer never depends on which process finishes first. If
the child cannot run, the parent's own result is used. For few large groups the two
processes run different engines (see ``solve_one_seed``'s ``engine``).
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from matching._opt_worker import CHILD_ENGINE, iteration_budget, solve_one_seed

#: Below this many people one process is used: the search converges long before a child
#: process (about 0.2 s to start and import NumPy) could contribute.
MIN_PARALLEL_N = 40
#: Safety margin kept between the search deadline and the caller's time limit: setup, one last
#: iteration, the child's answer and process clean-up must fit in it.
DEADLINE_MARGIN = 0.15
DEADLINE_MARGIN_SHARE = 0.03
#: Extra seconds a child may take past the deadline (pickling the answer) before it is dropped.
CHILD_GRACE = 5.0

_PACKAGE_DIR = str(Path(__file__).resolve().parent)
_CHILD_BOOT = (
    "import sys, types\n"
    "package = types.ModuleType('matching')\n"
    "package.__path__ = [sys.argv[1]]\n"
    "sys.modules['matching'] = package\n"
    "from matching._opt_worker import worker_main\n"
    "worker_main()\n"
)


def plan_group_counts(
    weights: np.ndarray, min_size: int, max_size: int, *, has_forbidden: bool
) -> list[int]:
    """Numbers of groups worth searching when the caller leaves it open.

    With non-negative weights fewer, larger groups contain more pairs and practically always
    win; otherwise (negative weights) the best count is searched among a few spread values.
    """
    n = weights.shape[0]
    fewest, most = math.ceil(n / max_size), n // min_size
    if fewest >= most:
        return [fewest]
    nonnegative = bool((weights >= 0).all())
    if nonnegative and not has_forbidden:
        return [fewest]
    if nonnegative:
        return [fewest, fewest + 1]
    return sorted({fewest, (fewest + most) // 2, most})


def _start_child(arguments: tuple) -> subprocess.Popen[bytes] | None:
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD_BOOT, _PACKAGE_DIR],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert child.stdin is not None
        pickle.dump(arguments, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        child.stdin.close()
        child.stdin = None  # closed on purpose: communicate() must not flush it again
        return child
    except (OSError, ValueError):
        return None


def _child_result(
    child: subprocess.Popen[bytes], deadline: float | None
) -> tuple[float, np.ndarray] | None:
    timeout = None if deadline is None else max(0.0, deadline - time.time()) + CHILD_GRACE
    try:
        output, _ = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return None
    if child.returncode != 0:
        return None
    try:
        score, labels = pickle.loads(output)
    except Exception:  # noqa: BLE001 - a garbled answer is treated as no answer
        return None
    return float(score), np.asarray(labels, dtype=np.int64)


def run_search(
    C: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    seed: int,
    deadline: float | None,
    work_share: float = 1.0,
    parallel: bool = True,
) -> np.ndarray:
    """Best labels found by two seeds (one for small ``n``) within the deadline or budget.

    ``work_share`` scales the deterministic iteration budget used when there is no deadline.
    """
    n = C.shape[0]
    max_iterations = None
    if deadline is None:
        max_iterations = max(1, int(work_share * iteration_budget(n, lower, upper)))
    search_deadline = None
    if deadline is not None:
        remaining = deadline - time.time()
        search_deadline = deadline - DEADLINE_MARGIN - DEADLINE_MARGIN_SHARE * max(remaining, 0.0)
    worker_seeds = [
        tuple(int(w) for w in child.generate_state(4))
        for child in np.random.SeedSequence(seed).spawn(2)
    ]
    enough_time = deadline is None or deadline - time.time() > 1.0
    use_two = parallel and n >= MIN_PARALLEL_N and enough_time
    child = None
    if use_two:
        child = _start_child(
            (C, lower, upper, worker_seeds[1], search_deadline, max_iterations, CHILD_ENGINE)
        )
    best_score, best_labels = solve_one_seed(
        C, lower, upper, worker_seeds[0], search_deadline, max_iterations
    )
    if child is not None:
        other = _child_result(child, search_deadline)
        valid = other is not None and _feasible(other[1], lower, upper, n)
        if valid and other[0] > best_score + 1e-9 * max(1.0, abs(best_score)):
            best_score, best_labels = other
    return best_labels


def _feasible(labels: np.ndarray, lower: np.ndarray, upper: np.ndarray, n: int) -> bool:
    if labels.shape != (n,) or labels.min() < 0 or labels.max() >= lower.size:
        return False
    sizes = np.bincount(labels, minlength=lower.size)
    return bool(np.all(sizes >= lower) and np.all(sizes <= upper))

"""Repeat-avoidance benchmark: consecutive repeat-free monthly rounds.

Rounds run one after another, each round's groups added to the history; people have no
interests and all affinity weights are off (``MatchWeights.equal()``), so only the hard rules
act. Reports the number of consecutive rounds without any repeated pair.

Usage: python bench/repeats.py [--write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import replace_section  # noqa: E402

from matching import MatchWeights, PastGroup, Person, match_round  # noqa: E402

CASES = [  # (people, min_size, max_size, rounds to run, target, proven maximum)
    (32, 4, 4, 10, 7, 10),
    (40, 3, 4, 13, 12, None),
    (12, 3, 3, 5, 3, 4),
]


def clean_rounds(n: int, lo: int, hi: int, rounds: int) -> tuple[int, list[str], float]:
    people = [Person(key=f"p{i}", name=f"P{i}", role="other") for i in range(n)]
    history: list[PastGroup] = []
    clean, sizes, started = None, [], time.perf_counter()
    for r in range(rounds):
        month = f"{2030 + r // 12}-{r % 12 + 1:02d}"
        result = match_round(
            people,
            history=history,
            month=month,
            min_size=lo,
            max_size=hi,
            weights=MatchWeights.equal(),
        )
        history += [PastGroup(month, g.members) for g in result.groups]
        sizes.append("+".join(f"{c}x{s}" for s, c in sorted(result.stats.group_sizes.items())))
        if result.stats.repeats and clean is None:
            clean = r
    return (rounds if clean is None else clean), sizes, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument(
        "--people", type=int, nargs="+", help="only these cohort sizes (e.g. --people 32 12)"
    )
    args = parser.parse_args()
    lines = [
        "| people | sizes | rounds run | consecutive repeat-free rounds | target | "
        "known maximum | group sizes per round | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, lo, hi, rounds, target, best in CASES:
        if args.people and n not in args.people:
            continue
        clean, sizes, seconds = clean_rounds(n, lo, hi, rounds)
        line = (
            f"| {n} | {lo}-{hi} | {rounds} | **{clean}** | >= {target} | "
            f"{best if best else '-'} | {', '.join(sizes)} | {seconds:.0f} |"
        )
        print(line, flush=True)
        lines.append(line)
    body = "\n".join(
        [
            f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Machine: {platform.machine()}, "
            f"CPython {platform.python_version()}, 2 cores shared with other jobs. Command: "
            "`python bench/repeats.py --write`.",
            "",
            "Monthly rounds one after another, each round's groups added to the history, no "
            "interests, `MatchWeights.equal()`, default budgets (deterministic iteration "
            "budgets at these sizes). With history and at most 64 people, each month is the "
            "first round of a run of rounds planned jointly (`matching/_plan.py`: tabu search "
            "on swaps within a round, conflict-directed, Dotu & Van Hentenryck style; "
            "`matching/_round_plan.py`): the month is re-planned from the real history every "
            "time. With several size mixes (3-4), the mix with the most groups of 4 is used "
            "whose planned run, continued with the smallest groups, lasts as long as the run "
            "of smallest groups alone.",
            "",
            *lines,
        ]
    )
    print(body)
    if args.write:
        replace_section("Repeat avoidance (matcher)", body)


if __name__ == "__main__":
    main()

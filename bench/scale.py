"""Scale benchmark: one round for 1k-20k participants with 12 rounds of history.

History: 12 earlier months of random groups of 4 over the same cohort. Reports wall time of
``match_round`` (default settings), peak memory (max RSS of this process and of the
optimizer's worker processes, measured by running each size in a fresh subprocess) and quality.

Usage: python bench/scale.py [--sizes 1000 2000 5000 10000 20000] [--write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def one(n: int) -> dict[str, float]:
    from matching import PastGroup, Person, match_round
    from matching.datasets import default_topics, make_hospital_cohort

    people = [Person.from_row(r) for r in make_hospital_cohort(n, random_state=0)]
    keys = [p.key for p in people]
    rng = np.random.default_rng(0)
    history = []
    for r in range(12):
        perm = rng.permutation(n)
        history += [
            PastGroup(f"2025-{r + 1:02d}", tuple(keys[i] for i in perm[k : k + 4]))
            for k in range(0, n - 3, 4)
        ]
    started = time.perf_counter()
    result = match_round(people, history=history, topics=default_topics(), month="2026-03")
    seconds = time.perf_counter() - started
    s = result.stats
    usage = [
        resource.getrusage(who).ru_maxrss / 1024
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    ]
    return {
        "n": n,
        "seconds": seconds,
        "rss_mib": max(usage),
        "groups": s.n_groups,
        "no_window": s.groups_without_common_window / s.n_groups,
        "similarity": s.mean_interest_similarity,
        "mix": s.senior_trainee_mix_share,
        "repeats": len(s.repeats),
        "avoid": len(s.avoid_violations),
        "placed": sum(len(g.members) for g in result.groups),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 10000, 20000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    lines = [
        "| people | seconds | peak RSS (MiB) | groups | placed | repeats | avoid "
        "violations | no common window | interest sim | senior-trainee mix |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        line = (
            f"| {n} | {r['seconds']:.1f} | {r['rss_mib']:.0f} | {r['groups']} | "
            f"{r['placed']} | {r['repeats']} | {r['avoid']} | {r['no_window']:.1%} | "
            f"{r['similarity']:.3f} | {r['mix']:.1%} |"
        )
        print(line, flush=True)
        lines.append(line)
    from _report import replace_section

    body = "\n".join(
        [
            f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Machine: {platform.machine()}, "
            f"CPython {platform.python_version()}, 2 cores shared with other jobs (load average "
            "was high while measuring). Command: `python bench/scale.py --write`.",
            "",
            "Cohorts from `matching.datasets.make_hospital_cohort(n, random_state=0)`, 12 months "
            "of random history groups of 4, default `RoundMatcher` settings: cohorts above 1000 "
            "people are split by recursive bisection of a low-rank embedding (TF-IDF SVD + "
            "availability bands) into blocks of <= 1000, each optimized by `partition` on dense "
            "block weights and repaired for common windows / mix; the default budget is "
            "min(40, 10 + n/200) s. Peak RSS is the max of the main process and its worker "
            "processes. Seconds exclude cohort generation.",
            "",
            *lines,
        ]
    )
    print(body)
    if args.write:
        replace_section("Scale (matcher)", body)


if __name__ == "__main__":
    main()

"""Product-quality benchmark of the round matcher on synthetic hospital cohorts.

For each cohort size, match one round and compare with random groups of the same sizes:
hard rules, share of groups with a common 30-minute window, mean within-group interest
similarity (TF-IDF cosine), and senior-trainee mix share (among groups the cohort can mix).

Usage: python bench/quality.py [--sizes 200 1000] [--seeds 0 1 2] [--write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import replace_section  # noqa: E402

from matching import Person, match_round  # noqa: E402
from matching._affinity import CohortFeatures  # noqa: E402
from matching._mix_bound import max_mixed_groups  # noqa: E402
from matching.datasets import default_topics, make_hospital_cohort  # noqa: E402

SOURCE = "matching.datasets.make_hospital_cohort"

MONTH = "2026-03"


def group_metrics(features: CohortFeatures, groups: list[list[int]]) -> dict[str, float]:
    sims, mixed, windows = [], 0, 0
    for g in groups:
        idx = np.asarray(g)
        sim = features.interest_similarity(idx)
        sims.append(float(sim[np.triu_indices(len(g), 1)].mean()))
        mixed += bool(features.senior[idx].any() and features.trainee[idx].any())
        windows += bool(np.logical_and.reduce(features.starts[idx], axis=0).any())
    can_mix = min(len(groups), int(features.senior.sum()), int(features.trainee.sum()))
    return {
        "similarity": float(np.mean(sims)),
        "mix": mixed / can_mix,
        "mixed": mixed,
        "window": windows / len(groups),
        "without_window": len(groups) - windows,
    }


def mix_allowed(features: CohortFeatures, groups: list[list[int]], without_window: int) -> int:
    """Most mixed groups of any grouping with the same sizes and at most as many groups
    without a common window (exact: ``matching._mix_bound``)."""
    bound = max_mixed_groups(features.starts, features.senior > 0, features.trainee > 0,
                             [len(g) for g in groups], max_without_window=without_window,
                             time_limit=300.0)
    assert bound is not None  # our own grouping is one such grouping
    return bound


def hard_rule_violations(people: list[Person], result) -> int:
    keys = [k for g in result.groups for k in g.members] + list(result.unplaced)
    bad = int(sorted(keys) != sorted(p.key for p in people))
    bad += sum(1 for g in result.groups if not 3 <= len(g.members) <= 4)
    by_key = {p.key: p for p in people}
    for g in result.groups:
        for a in g.members:
            bad += sum(1 for b in g.members if b in by_key[a].avoid)
    return bad + len(result.stats.repeats)


def run(n: int, seed: int) -> dict[str, float]:
    people = [Person.from_row(row) for row in make_hospital_cohort(n, random_state=seed)]
    started = time.perf_counter()
    result = match_round(people, topics=default_topics(), month=MONTH, random_state=seed)
    elapsed = time.perf_counter() - started
    index = {p.key: i for i, p in enumerate(people)}
    groups = [[index[k] for k in g.members] for g in result.groups]
    features = CohortFeatures.from_people(people, MONTH)
    ours = group_metrics(features, groups)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    random_groups, start = [], 0
    for g in groups:
        random_groups.append(perm[start : start + len(g)].tolist())
        start += len(g)
    rand = group_metrics(features, random_groups)
    allowed = mix_allowed(features, groups, ours["without_window"])
    return {
        "n": n,
        "seed": seed,
        "violations": hard_rule_violations(people, result),
        "window": ours["window"],
        "window_random": rand["window"],
        "similarity": ours["similarity"],
        "similarity_random": rand["similarity"],
        "mix": ours["mix"],
        "mix_random": rand["mix"],
        "mixed": ours["mixed"],
        "mix_allowed": allowed,
        "seconds": elapsed,
        "topics": len({g.topic.key for g in result.groups if g.topic}),
        "reason": result.groups[0].reason,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    lines = [
        "| n | seed | hard-rule violations | common window (random) | interest sim "
        "(random, ratio) | senior-trainee mix (random) | mixed / allowed by windows | "
        "topics used | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    sample = ""
    for n in args.sizes:
        for seed in args.seeds:
            r = run(n, seed)
            ratio = r["similarity"] / max(r["similarity_random"], 1e-9)
            line = (
                f"| {n} | {seed} | {r['violations']} | {r['window']:.1%} "
                f"({r['window_random']:.1%}) | {r['similarity']:.3f} "
                f"({r['similarity_random']:.3f}, {ratio:.2f}x) | {r['mix']:.1%} "
                f"({r['mix_random']:.1%}) | {r['mixed']} / {r['mix_allowed']} = "
                f"**{r['mixed'] / r['mix_allowed']:.1%}** | {r['topics']} | {r['seconds']:.1f} |"
            )
            print(line, flush=True)
            lines.append(line)
            sample = sample or r["reason"]
    body = "\n".join(
        [
            f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Machine: {platform.machine()}, "
            f"{platform.python_implementation()} {platform.python_version()}, 2 cores shared "
            "with other jobs. Command: `python bench/quality.py "
            f"--sizes {' '.join(map(str, args.sizes))} --seeds {' '.join(map(str, args.seeds))}"
            " --write`.",
            "",
            f"Cohorts: `{SOURCE}`, one round ({MONTH}, no history), default `MatchWeights()`, "
            "groups of 3-4, default time budget. Random = random groups of the same sizes. "
            "Senior-trainee mix share counts groups with an attending/NP/PA and a "
            "resident/fellow/student over min(groups, seniors, trainees). \"Allowed by "
            "windows\" is the most mixed groups of *any* grouping with the same group sizes "
            "and no more groups without a common window than ours: a group meets only if all "
            "its members are free at one start, so each pool of people free at one start can "
            "hold at most min(its groups, seniors, trainees) mixed groups; the maximum over "
            "all assignments of people to pools is solved exactly (integer programme, "
            "`matching._mix_bound`; do-not-match lists ignored, so it is an upper bound). "
            "Targets: 0 violations, common window >= 95%, similarity >= 2x random, mix >= 95% "
            "where the cohort allows (the last column).",
            "",
            *lines,
            "",
            f'Sample reason: "{sample}"',
        ]
    )
    print(body)
    if args.write:
        replace_section("Product quality (matcher)", body)


if __name__ == "__main__":
    main()

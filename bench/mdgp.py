"""Benchmark ``matching.partition`` on MDGPLIB instances against reference values.

Usage::

    python bench/mdgp.py --seconds 60            # all instances, 60 s each, writes the doc
    python bench/mdgp.py --only n480 --seconds 10 --no-doc

Instance format (MDGPLIB): header ``n G ss|ds a_1 b_1 ... a_G b_G``, then ``i j d_ij`` lines.
Writes a markdown table (instance, reference, ours, gap %, seconds) to stdout and replaces the
section "Optimizer vs the literature (MDGP)" in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import fnmatch
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matching._partition import partition, partition_score  # noqa: E402

DEFAULT_DIR = Path("/work/shared/benchmarks/mdgp")
SECTION = "Optimizer vs the literature (MDGP)"


def machine_description() -> str:
    """``nproc``, CPU model and RAM, for the benchmark doc."""
    cpu = "unknown CPU"
    memory = "unknown RAM"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024**2:.0f} GiB RAM"
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {memory}, Python {sys.version.split()[0]}"


def command_line(script: str, argv: list[str] | None) -> str:
    """The command as typed, without the free-text ``--note`` (quoted shell-style)."""
    arguments = list(argv if argv is not None else sys.argv[1:])
    if "--note" in arguments:
        index = arguments.index("--note")
        del arguments[index : index + 2]
    return " ".join(["python", script, *(shlex.quote(a) for a in arguments)])


def replace_section(doc: Path, title: str, body: str) -> None:
    """Replace (or append) the ``## title`` section of ``doc``, leaving other sections alone."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    heading = f"## {title}"
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    new_section = [heading, "", *body.strip("\n").splitlines(), ""]
    if start is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines.extend(new_section)
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines[start:end] = new_section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines).rstrip("\n") + "\n")


def load_instance(path: Path) -> tuple[np.ndarray, list[tuple[int, int]]]:
    with path.open() as handle:
        head = handle.readline().split()
        n, group_count = int(head[0]), int(head[1])
        if len(head) < 3 + 2 * group_count:
            raise ValueError(f"{path}: header has fewer than {group_count} (a, b) bound pairs")
        bounds = [(int(head[3 + 2 * g]), int(head[4 + 2 * g])) for g in range(group_count)]
        data = np.loadtxt(handle, ndmin=2)
    weights = np.zeros((n, n))
    rows, cols = data[:, 0].astype(int), data[:, 1].astype(int)
    weights[rows, cols] = data[:, 2]
    weights[cols, rows] = data[:, 2]
    return weights, bounds


def load_references(path: Path) -> dict[str, tuple[float, str]]:
    with path.open(newline="") as handle:
        return {
            row["instance"]: (float(row["reference_value"]), row["status"])
            for row in csv.DictReader(handle)
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=Path, default=DEFAULT_DIR / "instances")
    parser.add_argument("--bks", type=Path, default=DEFAULT_DIR / "bks.csv")
    parser.add_argument("--seconds", type=float, default=60.0, help="time limit per instance")
    parser.add_argument("--only", default="*", help="glob on the instance name, e.g. '*n480*'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-doc", action="store_true", help="print only")
    parser.add_argument("--note", default="", help="extra sentence for the doc, e.g. load")
    args = parser.parse_args(argv)

    references = load_references(args.bks)
    pattern = args.only if any(c in args.only for c in "*?[") else f"*{args.only}*"
    paths = sorted(
        (p for p in args.instances.glob("*.txt") if fnmatch.fnmatch(p.stem, pattern)),
        key=lambda p: (int(p.stem.split("_n")[1][:3]), p.stem),
    )
    if not paths:
        print(f"no instances match {args.only!r} in {args.instances}", file=sys.stderr)
        return 1
    lines = [
        "| instance | n | groups | reference | kind | ours | gap % | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    gaps: list[float] = []
    for path in paths:
        weights, bounds = load_instance(path)
        reference, status = references.get(path.stem, (float("nan"), "no reference"))
        kind = (
            "optimal"
            if "optimal" in status and "NOT" not in status
            else ("TPSDP best" if "TPSDP" in status else "unproven")
        )
        started = time.time()
        groups = partition(weights, group_bounds=bounds, time_limit=args.seconds, seed=args.seed)
        elapsed = time.time() - started
        for members, (low, high) in zip(groups, bounds, strict=True):
            if not low <= len(members) <= high:
                raise AssertionError(f"{path.stem}: infeasible group size {len(members)}")
        ours = partition_score(weights, groups)
        gap = 100.0 * (reference - ours) / reference if np.isfinite(reference) else float("nan")
        gaps.append(gap)
        line = (
            f"| {path.stem} | {weights.shape[0]} | {len(bounds)} | {reference:.3f} | {kind} | "
            f"{ours:.3f} | {gap:.3f} | {elapsed:.1f} |"
        )
        lines.append(line)
        print(line, flush=True)
    finite = [g for g in gaps if np.isfinite(g)]
    summary = (
        f"Instances: {len(gaps)}; worst gap {max(finite):.3f}%, mean gap "
        f"{np.mean(finite):.3f}% (negative = better than the reference)."
        if finite
        else ""
    )
    print(summary)
    if not args.no_doc:
        command = command_line("bench/mdgp.py", argv)
        body = "\n".join(
            [
                f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine_description()}.",
                f"Command: `{command}` ({args.seconds:g} s per instance, seed "
                f"{args.seed}, both cores).",
                *([args.note] if args.note else []),
                "",
                "Gap = (reference - ours) / reference. References: proven optima for n = 10-12 "
                "(exhaustive DP), best-of-runs of TPSDP (Yang et al. 2022) for n >= 120, and our "
                "own unproven runs for n = 30-60 (see `shared/benchmarks/mdgp/README.md`).",
                "",
                *lines,
                "",
                summary,
            ]
        )
        replace_section(args.doc, SECTION, body)
        print(f"wrote section '{SECTION}' to {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The tables and text bench/load.py prints and writes to docs/benchmarks.md."""

from __future__ import annotations

import argparse
from typing import Any

from _load_driver import RunResult, StreamResult
from _load_profile import Profile
from mdgp import machine_description


def results_table(result: RunResult) -> list[str]:
    lines = [
        "| endpoint | target req/s | achieved req/s | requests | errors | p50 ms | p95 ms "
        "| p99 ms | max ms | sent late |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in result.streams:
        errors = ", ".join(f"{k}: {v}" for k, v in s.errors.items()) or "0"
        lines.append(
            f"| {s.name} | {s.target_rate:.0f} | {s.achieved_rate:.1f} | {s.sent:,} | {errors} "
            f"| {s.p50_ms:.0f} | {s.p95_ms:.0f} | {s.p99_ms:.0f} | {s.max_ms:.0f} "
            f"| {s.late_starts:,} |"
        )
    return lines


def profile_lines(slowest: StreamResult, seconds: float, profile: Profile, cpu: float) -> list[str]:
    rate = slowest.target_rate
    lines = [
        f"Profile of the slowest endpoint (highest p95), **{slowest.name}**, driven alone at "
        f"{rate:.0f} requests/s for {seconds:.0f} s while `py-spy record --subprocesses "
        f"--nonblocking --rate 50` sampled the two workers: {profile.samples:,} busy samples; "
        f"the workers used {cpu:.2f} CPU-seconds per second, "
        f"{1000 * cpu / rate:.1f} ms of CPU per request.",
        "",
        "| where the workers' busy time goes | share |",
        "| --- | ---: |",
    ]
    lines += [f"| {label} | {profile.share(count)} |" for label, count in profile.categories]
    lines += ["", "Our functions on the stack (inclusive share of the busy samples):", ""]
    lines += [f"- `{name}`: {profile.share(count)}" for name, count in profile.own_functions]
    return lines


def doc_section(
    args: argparse.Namespace,
    context: dict[str, Any],
    result: RunResult,
    summary: str,
    profile: list[str],
) -> list[str]:
    low, high = context["load_during"]
    return [
        f"- Date: {context['started_at']:%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine_description()}; PostgreSQL on "
        f"the same machine. 1-minute load average {context['load_before']:.1f} before the run "
        f"and {low:.1f}-{high:.1f} during it (our server and driver add about 2-3).",
        f"- Command: `{context['command']}`",
        f"- Server: `coffeerounds serve --workers {args.workers}`, ENVIRONMENT=production, "
        "LOG_LEVEL=warning, EMAIL_BACKEND=file (each email fsync'ed to a temporary folder), "
        "RATE_LIMIT_SIGNUPS_PER_EMAIL_PER_HOUR=0 and RATE_LIMIT_REQUESTS_PER_CLIENT_PER_MINUTE=0 "
        "(one client address sends everything).",
        f"- Data: one organization, {context['active']:,} active participants "
        f"(`make_hospital_cohort`) and {context['pending']:,} pending ones to confirm.",
        "- Load: open loop from this process over loopback (bench/_load_driver.py), "
        f"{args.seconds:.0f} s; forms at {args.rate:.0f} requests/s (signups 40%, "
        "confirmations 30%, profile edits 30%: the POSTs a browser sends, each answered 303) "
        f"and the admin participant list at {args.admin_rate:.0f} requests/s (200). Latency: "
        "from the moment a request was due to the last byte of its answer. *Sent late*: "
        "requests the driver itself queued more than 50 ms after they were due (its own CPU "
        "starved); their wait is in the latency too.",
        *([f"- Note: {args.note}"] if args.note else []),
        "",
        *results_table(result),
        "",
        summary,
        "",
        *profile,
    ]

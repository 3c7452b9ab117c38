"""Time ranking candidates for a warm introduction among 10,000 participants of one hospital.

Usage::

    python bench/introductions.py                    # SQLite and PostgreSQL, writes the doc
    python bench/introductions.py --backends sqlite --requests 20 --no-doc

For each backend a fresh database (a temporary SQLite file, or ``cr_bench_<random>`` on the
PostgreSQL server of ``--database``) is migrated with the real migrations and filled by
``bench/round_10k.py``'s ``populate``: ``--people`` participants from
``matching.make_hospital_cohort`` and ``--history`` past rounds of random groups of four (so
"met before" has real rows to read). 10% then opt out of introductions and 5% are paused, and
300 earlier requests with their asks are added, so the exclusion queries have work to do.

What is timed, per request, each time in a fresh session (in-process, no HTTP), always through
``service.introductions.candidates.rank_candidates`` - exactly what the service calls before
asking someone:

* ``worker start: fit``: ``FittedRankers.warm``, which every web worker runs before serving
  (not a request, reported for what a start costs);
* ``rank (first search after start)`` and ``rank (kept model)``: with that fitted model;
* ``rank (after a profile edit)``: one participant's skills and specialty edited (committed,
  not timed), then the call: the changed rows are refreshed into the kept model;
* ``rank (refit due ...)``: the same after another edit, with the model an hour old: the
  search answers with the refreshed model and starts a full refit in a background thread;
  ``rank (while the background refit runs)`` is the next search, during that refit;
* ``rank (no kept model: full fit in the request)``: what a search costs with nothing fitted
  (warm-up off, or more than a quarter of the hospital changed at once);
* their parts, measured again one by one;
* ``create``: the whole ``create_request`` of the new-request form (insert, rank with the kept
  model, the ask row and its rendered email in the outbox), rolled back afterwards.

The first warm-up of the process is reported on its own ("cold": word stems not cached yet).
Wall and CPU time (of this process) are both reported: on a shared machine the CPU time says
what the work costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _report import replace_section  # noqa: E402
from mdgp import machine_description  # noqa: E402
from round_10k import fresh_database, populate  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sqlalchemy import insert, select, update  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from matching.introductions import IntroductionProfile, IntroductionRanker  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine, make_sessionmaker  # noqa: E402
from service.introductions import candidates, fitted, requests  # noqa: E402
from service.introductions.requests import RequestFields  # noqa: E402
from service.links import LinkSigner  # noqa: E402
from service.models import (  # noqa: E402
    IntroductionAsk,
    IntroductionRequest,
    Organization,
    Participant,
)

SECTION = "Warm introductions: ranking at 10,000 participants"
NOW = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)
SECRET = "bench-secret-key-not-for-production-0123456789"
# What a search (a web request, or the scheduler asking the next colleague) can meet.
REQUEST_PATHS = (
    "rank (first search after start)", "rank (kept model)", "rank (after a profile edit)",
    "rank (refit due: answered now, refit in background)",
    "rank (while the background refit runs)",
)
HEADLINE = (*REQUEST_PATHS, "create")
NEEDS = (
    "Someone who can teach {skill}",
    "I would like to learn {skill} from a colleague who does it well",
    "Looking for advice on {skill}, ideally from someone in {specialty}",
    "A colleague in {specialty} who moved into {skill}",
)


def settings_for(url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        secret_key=SECRET,  # type: ignore[arg-type]
        database_url=url,
        base_url="https://coffee.hospital.example",
        mail_from="coffee@hospital.example",
    )


def prepare(factory: sessionmaker[Session], org_id: int, rng: random.Random) -> None:
    """Opt-outs, pauses and 300 earlier requests with asks, so every filter has rows."""
    with factory.begin() as session:
        ids = list(session.scalars(select(Participant.id).where(
            Participant.organization_id == org_id).order_by(Participant.id)))
        opted_out = rng.sample(ids, len(ids) // 10)
        paused = rng.sample(ids, len(ids) // 20)
        session.execute(update(Participant).where(Participant.id.in_(opted_out))
                        .values(accepts_introductions=False))
        session.execute(update(Participant).where(Participant.id.in_(paused))
                        .values(status="paused"))
        for _ in range(300):
            requester, *asked = rng.sample(ids, 4)
            request_id = session.execute(insert(IntroductionRequest).returning(
                IntroductionRequest.id), [{
                    "organization_id": org_id, "requester_id": requester,
                    "need": "an earlier request", "skill": "", "specialty": "", "site": "",
                    "status": "unmatched", "created_at": NOW - dt.timedelta(days=30),
                    "meeting_url": ""}]).scalar_one()
            session.execute(insert(IntroductionAsk), [
                {"request_id": request_id, "candidate_id": candidate, "position": position,
                 "status": "expired", "asked_at": NOW - dt.timedelta(days=30 - 7 * position),
                 "expires_at": NOW - dt.timedelta(days=23 - 7 * position)}
                for position, candidate in enumerate(asked, start=1)
            ])


def sample_requests(
    factory: sessionmaker[Session], org_id: int, count: int, rng: random.Random
) -> list[tuple[int, RequestFields]]:
    """(requester id, fields) pairs built from the cohort's own skills and specialties."""
    with factory() as session:
        rows = session.execute(select(Participant.id, Participant.can_teach,
                                      Participant.specialty, Participant.site)
                               .where(Participant.organization_id == org_id)).all()
    skills = sorted({s for _, teach, _, _ in rows for s in teach})
    specialties = sorted({spec for _, _, spec, _ in rows if spec})
    sites = sorted({site for _, _, _, site in rows if site})
    chosen = []
    for _ in range(count):
        requester = rng.choice(rows)[0]
        skill, specialty = rng.choice(skills), rng.choice(specialties)
        need = rng.choice(NEEDS).format(skill=skill, specialty=specialty)
        chosen.append((requester, RequestFields(
            need=need,
            skill=skill if rng.random() < 0.5 else "",
            specialty=specialty if rng.random() < 0.3 else "",
            site=rng.choice(sites) if rng.random() < 0.3 else "",
        )))
    return chosen


def timed(
    function: Callable[..., Any], *args: Any, **kwargs: Any
) -> tuple[tuple[float, float], Any]:
    """((wall ms, CPU ms of this process), result) of one call. On a shared machine the CPU
    time says what the work costs; the wall time includes waiting for a core (and, with
    PostgreSQL, the server's own work)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000), result


def sample_newest(session: Session) -> int:
    return session.scalars(select(Participant.id).order_by(Participant.id.desc())).first() or 0


def edit_profile(factory: sessionmaker[Session], org_id: int, rng: random.Random) -> None:
    """Someone takes up another participant's skills and specialty (as the profile form would)."""
    with factory.begin() as session:
        ids = session.scalars(select(Participant.id).where(
            Participant.organization_id == org_id)).all()
        while True:  # a real change: the same text would not be written at all
            edited, donor = (session.get(Participant, pid) for pid in rng.sample(ids, 2))
            assert edited is not None and donor is not None
            if (edited.can_teach, edited.specialty) != (donor.can_teach, donor.specialty):
                break
        edited.can_teach = list(donor.can_teach)
        edited.specialty = donor.specialty


def _rank(factory: sessionmaker[Session], stored_id: int,
          requester_id: int) -> tuple[tuple[float, float], Any]:
    """``rank_candidates`` timed in a fresh session, as a web request would call it."""
    with factory() as session:
        requester = session.get(Participant, requester_id)
        request = session.get(IntroductionRequest, stored_id)
        assert requester is not None and request is not None
        return timed(candidates.rank_candidates, session, request, requester, now=NOW, limit=1)


def measure_one(
    factory: sessionmaker[Session], settings: Settings, org_id: int, requester_id: int,
    fields: RequestFields,
) -> dict[str, tuple[float, float]]:
    ms: dict[str, tuple[float, float]] = {}
    engine = factory.kw["bind"]
    kept = candidates.fitted_rankers
    # The request as the service has it when it ranks (stored, no asks yet).
    with factory.begin() as session:
        stored = IntroductionRequest(
            organization_id=org_id, requester_id=requester_id, need=fields.need,
            skill=fields.skill, specialty=fields.specialty, site=fields.site,
            status="open", created_at=NOW, meeting_url="")
        session.add(stored)
    # A web worker starting: it fits its organizations before it serves anything.
    kept.clear()
    ms["worker start: fit (not a request)"], _ = timed(kept.warm, engine)
    ms["rank (first search after start)"], ranked = _rank(factory, stored.id, requester_id)
    assert ranked, f"nobody found for {fields}"
    ms["rank (kept model)"], _ = _rank(factory, stored.id, requester_id)
    edit_profile(factory, org_id, random.Random(stored.id))
    ms["rank (after a profile edit)"], _ = _rank(factory, stored.id, requester_id)
    with factory() as session:
        assert kept.get(session, org_id).n_refreshed_ > 0, "the edit was refitted, not refreshed"
    # The model is an hour old at the next edit: that search is answered with the refreshed
    # model and starts a full refit in a background thread; the next search arrives while
    # the refit runs (and competes with it for the interpreter and the cores).
    kept.max_age = dt.timedelta(0)
    try:
        edit_profile(factory, org_id, random.Random(-stored.id))
        ms["rank (refit due: answered now, refit in background)"], _ = _rank(
            factory, stored.id, requester_id)
        ms["rank (while the background refit runs)"], _ = _rank(
            factory, stored.id, requester_id)
        assert kept.wait(timeout=60)
    finally:
        kept.max_age = dt.timedelta(hours=1)
    # No kept model at all and no warm-up (a worker started with warm-up off, or more than a
    # quarter of the hospital changed at once): the search fits the whole hospital itself.
    kept.clear()
    ms["rank (no kept model: full fit in the request)"], _ = _rank(
        factory, stored.id, requester_id)
    with factory() as session:
        requester = session.get(Participant, requester_id)
        request = session.get(IntroductionRequest, stored.id)
        assert requester is not None and request is not None
        ms["query: fingerprint"], _ = timed(fitted.profiles_fingerprint, session, org_id)
        ms["query: who may be asked"], _ = timed(candidates.eligible_ids, session, requester)
        ms["query: exclusions"], _ = timed(candidates.excluded_ids, session, request, requester,
                                           now=NOW)
        ms["query: met before"], met = timed(candidates.met_ids, session, requester)
        ms["query: profiles (full fit only)"], profiles = timed(
            fitted.organization_profiles, session, org_id)
        ms["fit (full fit only)"], ranker = timed(IntroductionRanker().fit, profiles)
        ms["rank (matching only)"], _ = timed(ranker.rank, candidates.query_of(request),
                                              exclude=[requester_id], met=met, limit=1)
    with factory() as session:
        requester = session.get(Participant, requester_id)
        org = session.get(Organization, org_id)
        assert requester is not None and org is not None
        ms["create"], _ = timed(requests.create_request, session, settings, LinkSigner(SECRET),
                                org, requester, fields, now=NOW)
        session.rollback()
    return ms


def measure(
    factory: sessionmaker[Session], settings: Settings, org_id: int,
    sample: list[tuple[int, RequestFields]],
) -> dict[str, list[tuple[float, float]]]:
    """Every step per request; the first request's rank is kept apart as "cold"."""
    results: dict[str, list[tuple[float, float]]] = {"cold": []}
    for number, (requester_id, fields) in enumerate(sample):
        ms = measure_one(factory, settings, org_id, requester_id, fields)
        if number == 0:
            results["cold"].append(ms["worker start: fit (not a request)"])
            continue
        for name, value in ms.items():
            results.setdefault(name, []).append(value)
    return results


def sklearn_fit(profiles: list[IntroductionProfile]) -> Any:
    """What the fit would cost with scikit-learn's own vectorizer on the same texts."""
    docs = [" ".join([*p.can_teach, p.specialty, p.department, *p.interests, p.goals])
            for p in profiles]
    return TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(docs)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


Timings = dict[str, list[tuple[float, float]]]


def run_backend(backend: str, args: argparse.Namespace) -> tuple[Timings, int]:
    args.sqlite = backend == "sqlite"
    with fresh_database(args) as url:
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        began = time.perf_counter()
        org_id = populate(factory, args.people, args.history, args.seed)
        rng = random.Random(args.seed)
        prepare(factory, org_id, rng)
        with factory.begin() as session:  # profiles last edited days before the timed edits
            day_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
            session.execute(update(Participant).values(updated_at=day_ago - dt.timedelta(1)))
            # One newest edit, so that "edited within seconds of the newest" is not everyone.
            session.execute(update(Participant).where(Participant.id == sample_newest(session))
                            .values(updated_at=day_ago))
        sample = sample_requests(factory, org_id, args.requests + 1, rng)
        print(f"{backend}: set-up in {time.perf_counter() - began:.1f} s", flush=True)
        with factory() as session:
            first = session.get(Participant, sample[0][0])
            assert first is not None
            eligible = len(candidates.eligible_ids(session, first))
        ms = measure(factory, settings_for(url), org_id, sample)
        with factory() as session:
            profiles = fitted.organization_profiles(session, org_id)
        ms["for comparison: scikit-learn TfidfVectorizer fit"] = [
            timed(sklearn_fit, profiles)[0] for _ in range(5)
        ]
        engine.dispose()
    return ms, eligible


def document(args: argparse.Namespace, results: dict[str, tuple[Timings, int]],
             loads: tuple[tuple[float, ...], tuple[float, ...]]) -> str:
    command = "python bench/introductions.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines = [
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Machine: 2-core, 24 GiB "
        f"({machine_description()}). Load average before / after: "
        f"{' '.join(f'{x:.1f}' for x in loads[0])} / {' '.join(f'{x:.1f}' for x in loads[1])} "
        "(the machine was shared with other helpers' test runs).",
        f"Command: `{command.strip()}`.",
        "",
        f"One hospital of {args.people:,} participants (`make_hospital_cohort`), "
        f"{args.history} past rounds of groups of four, 10% opted out of introductions, "
        "5% paused, 300 earlier requests with three asks each. "
        f"{args.requests} requests built from the cohort's own skills and specialties "
        "(half name a skill, 30% a specialty, 30% a site), each timed in a fresh session, "
        "in-process. Every step calls `rank_candidates`, the function the service runs before "
        "asking someone (fingerprint, profile refresh, who-may-be-asked, exclusion and "
        "met-before queries, ranking). **worker start: fit** is `FittedRankers.warm`, which "
        "each web worker runs before it serves (not a request). **first search after start** "
        "uses that model; **kept model** the same again. **after a profile edit** follows one "
        "participant's skills and specialty edit (committed, not timed): the changed rows are "
        "refreshed into the kept model. **refit due** is a search right after an edit that "
        "finds the model an hour old: it answers with the refreshed model and starts a full "
        "refit in a background thread; **while the background refit runs** is the next search, "
        "sharing the interpreter and cores with that refit. **no kept model: full fit in the "
        "request** is what a search costs when nothing was fitted (warm-up turned off) or more "
        "than a quarter of the hospital changed at once. The parts were timed again one by one. "
        "**create** is the whole new-request form's work (`create_request`: insert, rank, the "
        "ask and its rendered email), rolled back. "
        "**cold** is the first warm-up of the "
        "process (word stems not cached yet). CPU columns: CPU milliseconds of the benchmark "
        "process only (what the work costs whatever else runs; PostgreSQL's own work is not in "
        "them).",
        "",
        "| backend | candidates | step | median ms | p95 ms | max ms | CPU median | CPU p95 |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for backend, (ms, eligible) in results.items():
        for name, pairs in ms.items():
            if not pairs:
                continue
            wall, cpu = [w for w, _ in pairs], [c for _, c in pairs]
            label = f"**{name}**" if name in HEADLINE else name
            lines.append(
                f"| {backend} | {eligible:,} | {label} | {statistics.median(wall):.1f} | "
                f"{percentile(wall, 0.95):.1f} | {max(wall):.1f} | "
                f"{statistics.median(cpu):.1f} | {percentile(cpu, 0.95):.1f} |"
            )
    lines += ["", verdict(results)]
    if args.note:
        lines += ["", args.note]
    return "\n".join(lines)


def verdict(results: dict[str, tuple[Timings, int]]) -> str:
    """One sentence per backend against the target: every search answers in under 200 ms."""
    parts = []
    for backend, (ms, _) in results.items():
        p95 = {name: percentile([w for w, _ in ms[name]], 0.95) for name in REQUEST_PATHS}
        worst = max(p95, key=p95.__getitem__)
        full = ms["rank (no kept model: full fit in the request)"]
        parts.append(
            f"{backend}: {'met' if p95[worst] < 200 else 'missed'}, the slowest search path is "
            f"\"{worst}\" at p95 {p95[worst]:.0f} ms; a full fit inside a request (only with "
            f"warm-up off or after a quarter of the hospital changed at once) would take "
            f"{statistics.median(w for w, _ in full):.0f} ms median"
        )
    return "Target: ranking answers in under 200 ms. " + "; ".join(parts) + "."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=12, help="earlier rounds")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per backend")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-doc", action="store_true", help="print only")
    parser.add_argument("--note", default="", help="extra sentence for the doc")
    args = parser.parse_args(argv)
    before = os.getloadavg()
    results = {backend: run_backend(backend, args) for backend in args.backends}
    body = document(args, results, (before, os.getloadavg()))
    print(body)
    if not args.no_doc:
        replace_section(SECTION, body)
        print(f"wrote section '{SECTION}' to docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

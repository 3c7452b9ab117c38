"""Time a monthly round for 10,000 participants of one organization, stage by stage, then its
delivery over SMTP to a local aiosmtpd relay (one reused connection per pass).

Usage::

    python bench/round_10k.py                       # PostgreSQL, 10,000 people, writes the doc
    python bench/round_10k.py --sqlite --people 2000 --no-doc

A fresh database (``cr_bench_<random>`` on the PostgreSQL server of ``--database``, or a
temporary SQLite file) is migrated with the real migrations and dropped at the end. History:
12 earlier rounds of random groups of four, inserted directly (making them with the matcher
would take 12 times the round itself). The round is then made exactly as ``create_round``
does, with each step called separately inside one transaction, so each can be timed and its
SQL statements counted (``before_cursor_execute``). Delivery uses ``deliver_due`` with
``SmtpSender`` against an aiosmtpd server running in a separate process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import multiprocessing
import random
import shlex
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from mdgp import machine_description, replace_section  # noqa: E402
from sqlalchemy import create_engine, event, func, insert, select, text, update  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

import matching  # noqa: E402
from notifications import SmtpSender  # noqa: E402
from service import migrations, outbox  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine, make_sessionmaker, utcnow  # noqa: E402
from service.links import LinkSigner  # noqa: E402
from service.models import (  # noqa: E402
    MatchGroup,
    Membership,
    Organization,
    OutboxMessage,
    Participant,
    Round,
    Topic,
)
from service.participants.schemas import ParticipantIn  # noqa: E402
from service.participants.service import apply_profile, resume_due  # noqa: E402
from service.rounds import cohort, create, invites  # noqa: E402

SECTION = "Monthly round at 10,000 participants"
ROUND_MONTH = "2026-12"
ROUND_NOW = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)  # first Monday, 09:00 New York
SECRET = "bench-secret-key-not-for-production-0123456789"


class Stages:
    """Wall and CPU time and SQL statements per named stage; stages nest (an inner stage's
    time is not counted again in the outer one)."""

    def __init__(self, engine: Engine) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.statements: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.order: list[str] = []
        self._stack: list[tuple[str, float, float]] = []
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args: object) -> None:
        self.statements[self._stack[-1][0] if self._stack else "other"] += 1

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if name not in self.order:
            self.order.append(name)
        now, cpu = time.perf_counter(), time.process_time()
        if self._stack:  # pause the enclosing stage
            outer, started, cpu_started = self._stack[-1]
            self.seconds[outer] += now - started
            self.cpu[outer] += cpu - cpu_started
        self._stack.append((name, now, cpu))
        try:
            yield
        finally:
            end, cpu_end = time.perf_counter(), time.process_time()
            _, started, cpu_started = self._stack.pop()
            self.seconds[name] += end - started
            self.cpu[name] += cpu_end - cpu_started
            self.calls[name] += 1
            if self._stack:
                outer, _, _ = self._stack[-1]
                self._stack[-1] = (outer, end, cpu_end)

    def wrap(self, owner: object, attribute: str, name: str) -> None:
        """Time every call of ``owner.attribute`` as stage ``name``."""
        original: Callable[..., Any] = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return original(*args, **kwargs)

        setattr(owner, attribute, timed)


# --- database ------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(args: argparse.Namespace) -> Iterator[str]:
    if args.sqlite:
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{directory}/bench.db"
            migrations.upgrade(url)
            yield url
        return
    base = make_url(Settings(_env_file=None, database_url=args.database).database_url)  # type: ignore[call-arg]
    name = f"cr_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(hide_password=False)
        migrations.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def populate(factory: sessionmaker[Session], people: int, history_months: int, seed: int) -> int:
    """One organization, its topics, ``people`` active participants and past rounds."""
    with factory.begin() as session:
        org = Organization(slug="bench", name="Bench General Hospital", timezone="America/New_York")
        session.add(org)
        session.flush()
        session.add_all(
            Topic(
                organization_id=org.id,
                key=t.key,
                title=t.title,
                description=t.description,
                starters=list(t.starters),
                tags=list(t.tags),
            )
            for t in matching.default_topics()
        )
        confirmed = ROUND_NOW - dt.timedelta(days=400)
        participants = []
        for row in matching.make_hospital_cohort(people, random_state=seed):
            data = ParticipantIn(**row)  # the same validation as the CSV import
            participant = Participant(
                organization_id=org.id,
                email=data.email,
                status="active",
                confirmed_at=confirmed,
                source="import",
                avoid_entries=[],
            )
            apply_profile(participant, data)
            participants.append(participant)
        session.add_all(participants)
        session.flush()
        ids = [p.id for p in participants]
        topic_ids = list(session.scalars(select(Topic.id).where(Topic.organization_id == org.id)))
        add_history(session, org.id, ids, topic_ids, history_months, random.Random(seed))
        return org.id


def add_history(
    session: Session,
    org_id: int,
    participant_ids: list[int],
    topic_ids: list[int],
    months: int,
    rng: random.Random,
) -> None:
    """Earlier rounds as the matcher's history: random groups of four, already sent."""
    year, month = 2026, 12
    for _ in range(months):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        label = f"{year:04d}-{month:02d}"
        round_ = Round(organization_id=org_id, month=label, status="sent", seed=0, stats={})
        session.add(round_)
        session.flush()
        shuffled = participant_ids[:]
        rng.shuffle(shuffled)
        chunks = [shuffled[i : i + 4] for i in range(0, len(shuffled), 4)]
        start = dt.datetime(year, month, 10, 17, tzinfo=dt.UTC)
        groups = session.execute(
            insert(MatchGroup).returning(MatchGroup.id, sort_by_parameter_order=True),
            [
                {
                    "round_id": round_.id,
                    "number": number,
                    "topic_id": rng.choice(topic_ids),
                    "topic_title": "History",
                    "starters": [],
                    "reason": "",
                    "has_common_slot": True,
                    "meeting_start": start,
                    "meeting_end": start + dt.timedelta(minutes=30),
                    "meeting_url": "https://meet.example/x",
                    "ical_uid": f"{uuid.uuid4()}@coffeerounds",
                    "ical_sequence": 0,
                }
                for number in range(1, len(chunks) + 1)
            ],
        ).scalars()
        session.execute(
            insert(Membership),
            [
                {"round_id": round_.id, "group_id": group_id, "participant_id": pid}
                for group_id, chunk in zip(groups, chunks, strict=True)
                for pid in chunk
            ],
        )


# --- the round, stage by stage --------------------------------------------------------------


def instrument(stages: Stages) -> None:
    stages.wrap(cohort, "active_participants", "snapshot: participants")
    stages.wrap(cohort, "active_topics", "snapshot: topics")
    stages.wrap(cohort, "history", "snapshot: history")
    stages.wrap(create.matching, "match_round", "matching")
    stages.wrap(create, "meeting_time", "scheduling (meeting times)")
    stages.wrap(invites, "build_invite", "render: .ics (once per group)")
    stages.wrap(outbox, "render_email", "render: email templates")
    stages.wrap(outbox, "build_message_bytes", "render: MIME message")


def make_round(
    factory: sessionmaker[Session],
    settings: Settings,
    org_id: int,
    stages: Stages,
    limit: float | None,
) -> dict[str, int]:
    links = LinkSigner(SECRET)
    with stages.stage("round total"), factory.begin() as session:
        org = session.get(Organization, org_id)
        assert org is not None
        with stages.stage("lock, existence check, resume paused"):
            create.take_round_lock(session, org, ROUND_MONTH)
            session.scalar(
                select(Round).where(Round.organization_id == org.id, Round.month == ROUND_MONTH)
            )
            resume_due(session, today=ROUND_NOW.date())
        with stages.stage("plan (other)"):
            plan = create.plan_round(
                session, org, ROUND_MONTH, seed=0, now=ROUND_NOW, time_limit=limit
            )
        with stages.stage("persist groups + memberships"):
            round_ = Round(organization_id=org.id, month=ROUND_MONTH, status="preview", seed=0)
            round_.stats = plan.stats()
            session.add(round_)
            session.flush()
            create.persist_groups(session, org, round_, plan)
        with stages.stage("queue emails (other: links, context, INSERT)"):
            queued = create.send_round(session, settings, links, org, round_, now=ROUND_NOW)
        stages.order.append("commit")
        with stages.stage("commit"):
            session.commit()
    return {"groups": len(plan.groups), "unplaced": len(plan.unplaced), "queued": queued}


# --- delivery --------------------------------------------------------------------------------


def _serve(port: int, ready: Any, count: Any) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(asyncio.sleep(3600))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def deliver(
    factory: sessionmaker[Session], stages: Stages, batch: int, workers: int
) -> tuple[int, int, float, int]:
    """Drain the outbox with ``workers`` dispatcher threads (each its own SMTP connection;
    SKIP LOCKED keeps them apart); returns (sent, relay count, seconds, passes)."""
    port = free_port()
    context = multiprocessing.get_context("spawn")
    ready, count = context.Event(), context.Value("i", 0)
    server = context.Process(target=_serve, args=(port, ready, count), daemon=True)
    server.start()
    totals: Counter[str] = Counter()
    problems: list[str] = []

    def dispatcher() -> None:
        while not problems:
            sender = SmtpSender("127.0.0.1", port, security="none", timeout=30)
            report = outbox.deliver_due(factory, sender, limit=batch)
            totals["passes"] += 1
            totals["sent"] += report.sent
            if report.failed or report.retrying:
                problems.append(f"{report} {report.errors[:3]}")
            if report.sent == 0:
                return

    try:
        if not ready.wait(30):
            raise RuntimeError("aiosmtpd did not start")
        started = time.perf_counter()
        with stages.stage(f"delivery, {workers} worker(s)"):
            threads = [threading.Thread(target=dispatcher) for _ in range(workers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        seconds = time.perf_counter() - started
        if problems:
            raise RuntimeError(f"delivery problem: {problems[0]}")
        return totals["sent"], int(count.value), seconds, totals["passes"]
    finally:
        server.terminate()
        server.join(10)


def requeue(factory: sessionmaker[Session]) -> None:
    """Put every message back to pending, to measure delivery again with other settings."""
    with factory.begin() as session:
        session.execute(
            update(OutboxMessage).values(
                status="pending", attempts=0, sent_at=None, next_attempt_at=utcnow()
            )
        )


# --- report ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sqlite", action="store_true", help="use a temporary SQLite file")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=12, help="earlier rounds")
    parser.add_argument("--time-limit", type=float, default=None, help="matcher seconds")
    parser.add_argument("--batch", type=int, default=500, help="deliver_due limit per pass")
    parser.add_argument(
        "--workers", default="1,4", help="dispatcher threads, comma-separated: one run each"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-doc", action="store_true", help="print only")
    parser.add_argument("--note", default="", help="extra sentence for the doc, e.g. load")
    args = parser.parse_args(argv)
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    if args.sqlite and any(w > 1 for w in worker_counts):
        parser.error("--workers above 1 needs PostgreSQL (SKIP LOCKED)")

    deliveries: list[Delivery] = []
    with fresh_database(args) as url:
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            environment="test",
            secret_key=SECRET,  # type: ignore[arg-type]
            database_url=url,
            base_url="https://coffee.hospital.example",
            mail_from="coffee@hospital.example",
        )
        began = time.perf_counter()
        org_id = populate(factory, args.people, args.history, args.seed)
        setup_seconds = time.perf_counter() - began
        print(f"set-up: {args.people} people, {args.history} past rounds in {setup_seconds:.1f} s")
        stages = Stages(engine)
        instrument(stages)
        outcome = make_round(factory, settings, org_id, stages, args.time_limit)
        print(f"round: {outcome}", flush=True)
        for number, workers in enumerate(worker_counts):
            if number:
                requeue(factory)
            sent, received, seconds, passes = deliver(factory, stages, args.batch, workers)
            with factory() as session:
                statuses = dict(
                    session.execute(
                        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                    ).all()
                )
            deliveries.append(Delivery(workers, sent, received, seconds, passes, statuses))
            print(f"delivery: {deliveries[-1]}", flush=True)
        engine.dispose()
    body = document(args, outcome, stages, deliveries)
    print(body)
    if not args.no_doc:
        replace_section(args.doc, SECTION, body)
        print(f"wrote section '{SECTION}' to {args.doc}")
    return 0


@dataclasses.dataclass
class Delivery:
    workers: int
    sent: int
    received: int
    seconds: float
    passes: int
    statuses: dict[str, int]

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else float("inf")

    def __str__(self) -> str:
        return (
            f"{self.workers} worker(s): {self.sent} sent in {self.seconds:.1f} s = "
            f"{self.rate:.0f} msg/s ({self.passes} passes; relay counted {self.received}; "
            f"statuses {self.statuses})"
        )


def inside_round(stages: Stages) -> list[str]:
    return [s for s in stages.order if not s.startswith("delivery") and s != "round total"]


def document(
    args: argparse.Namespace,
    outcome: dict[str, int],
    stages: Stages,
    deliveries: list[Delivery],
) -> str:
    command = "python bench/round_10k.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    backend = "SQLite (temporary file)" if args.sqlite else "PostgreSQL (fresh database)"
    round_seconds = sum(stages.seconds[name] for name in ["round total", *inside_round(stages)])
    round_cpu = sum(stages.cpu[name] for name in ["round total", *inside_round(stages)])
    rows = [
        "| stage | wall s | CPU s (this process) | calls | SQL statements |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ["round total", *inside_round(stages)]:
        label = "round: rest (transaction, glue)" if name == "round total" else name
        rows.append(
            f"| {label} | {stages.seconds[name]:.2f} | {stages.cpu[name]:.2f} | "
            f"{stages.calls[name]} | "
            f"{stages.statements[name]} |"
        )
    rows.append(
        f"| **round, snapshot → commit** | **{round_seconds:.1f}** | **{round_cpu:.1f}** | | "
        f"{sum(stages.statements[n] for n in ['round total', *inside_round(stages)])} |"
    )
    for d in deliveries:
        name = f"delivery, {d.workers} worker(s)"
        rows.append(
            f"| {name}: {d.sent} messages, **{d.rate:.0f} msg/s** | {d.seconds:.2f} | "
            f"{stages.cpu[name]:.2f} | {d.passes} passes | {stages.statements[name]} |"
        )
    verdict_round = "under" if round_seconds < 300 else "OVER"
    best = max(deliveries, key=lambda d: d.rate) if deliveries else None
    return "\n".join(
        [
            f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine_description()}; "
            f"{backend}. Command: `{command.strip()}`." + (f" {args.note}" if args.note else ""),
            "",
            f"{args.people} active participants of one organization, {args.history} earlier "
            f"rounds of history; matcher time limit "
            f"{args.time_limit if args.time_limit else 'default (deterministic iterations)'}. "
            f"Result: {outcome['groups']} groups, {outcome['unplaced']} not placed, "
            f"{outcome['queued']} emails queued. Round {round_seconds:.1f} s wall, "
            f"{round_cpu:.1f} s CPU ({verdict_round} "
            "the 5-minute target)"
            + (
                f"; best delivery {best.rate:.0f} msg/s with {best.workers} worker(s)."
                if best
                else "."
            ),
            "",
            *rows,
            "",
            "Delivery: `deliver_due` + `SmtpSender` (plain SMTP, one reused connection per pass "
            f"of {args.batch}) to aiosmtpd on 127.0.0.1 in another process; every message's "
            "status is committed on its own (at-least-once). "
            + " ".join(str(d) + "." for d in deliveries),
            "",
            "Stages are nested timers (an inner stage's time is not counted again in the outer "
            "one); SQL statements are counted with a `before_cursor_execute` listener. "
            "Queueing costs one INSERT … ON CONFLICT DO NOTHING per 200 emails; delivery one "
            "UPDATE (own transaction) per message plus three statements per pass; everything "
            "else is a constant number of statements per round (no N+1). The wall time "
            "includes whatever else ran on the machine at the time.",
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())

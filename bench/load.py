"""Web load: `coffeerounds serve --workers 2` on PostgreSQL, driven over loopback.

Usage::

    python bench/load.py                  # 60 s at 200 + 20 requests/s, writes the doc
    python bench/load.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
    python bench/load.py --seconds 20 --people 2000 --no-doc      # a quick look

A fresh database ``cr_bench_load`` on the server of ``--postgres`` is migrated with the real
migrations and seeded with one organization, its admin, ``--people`` participants from
``matching.make_hospital_cohort`` and enough pending (unconfirmed) ones to confirm. The real
``coffeerounds serve --workers 2`` then runs against it (file email backend into a temporary
folder; LOG_LEVEL=warning, so no access log; both rate limits off, RATE_LIMIT_*=0, because
every request comes from one address and the limits are what H5's tests measure).

This process is the client (bench/_load_driver.py: open-loop, fixed arrival times, latency
from the due time to the last byte): signup POSTs, confirmation POSTs (tokens made with the
service's LinkSigner and secret, as in the emails) and profile-edit POSTs through manage
links, together ``--rate`` requests/s, split 40/30/30; and, at the same time, the admin
participant list at ``--admin-rate`` requests/s with a signed-in session. Every answer must
be the one a browser gets (303 for the forms, 200 for the list); anything else is an error.

Then the endpoint with the highest p95 is driven alone for ``--profile-seconds`` while
``py-spy record --subprocesses`` samples the workers (bench/_load_profile.py sums where the
time goes). Results replace the ``## Web load`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _load_driver import Stream, drive  # noqa: E402
from _load_profile import Profile, summarize  # noqa: E402
from _load_report import doc_section, profile_lines, results_table  # noqa: E402
from _report import replace_section  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import matching  # noqa: E402
from service import accounts, migrations  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine, make_sessionmaker  # noqa: E402
from service.links import LinkSigner  # noqa: E402
from service.models import Organization, Participant  # noqa: E402
from service.participants.schemas import ParticipantIn  # noqa: E402
from service.participants.service import apply_profile  # noqa: E402

SECTION = "Web load (issue #7)"
SECRET = "bench-secret-key-not-for-production-0123456789"
SLUG = "bench"
ADMIN_EMAIL = "lead@bench.example"
ADMIN_PASSWORD = "correct horse battery staple"
DATABASE = "cr_bench_load"
SHARES = {"signup": 0.4, "confirmation": 0.3, "profile edit": 0.3}


# --- database ----------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(server: str, name: str = DATABASE) -> Iterator[str]:
    base = make_url(Settings(_env_file=None, database_url=server).database_url)  # type: ignore[call-arg]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(hide_password=False)
        migrations.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(
    url: str, people: int, pending: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The organization, its admin, `people` active participants and `pending` unconfirmed
    ones; returns (id, link version) of the pending and of the active participants."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory.begin() as session:
        org = Organization(
            slug=SLUG, name="Bench General", timezone="America/New_York", allowed_email_domains=[]
        )
        session.add(org)
        session.flush()
        accounts.create_admin(session, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, organization=org)
        cohort = matching.make_hospital_cohort(people + pending, random_state=7)
        rows = []
        for number, row in enumerate(cohort):
            data = ParticipantIn(**row)  # the same validation as the CSV import
            participant = Participant(
                organization_id=org.id,
                email=data.email,
                status="active" if number < people else "pending",
                source="import" if number < people else "signup",
                avoid_entries=[],
            )
            apply_profile(participant, data)
            rows.append(participant)
        session.add_all(rows)
        session.flush()
    with factory() as session:
        found = session.execute(
            select(Participant.id, Participant.link_version, Participant.status).order_by(
                Participant.id
            )
        ).all()
    # As autovacuum does soon after such an import (its insert threshold): without statistics
    # PostgreSQL plans the participant list's page query as a sort of every row (17 ms
    # instead of 0.1 ms), and without the visibility map no index-only scan is possible.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    waiting = [(pid, version) for pid, version, status in found if status == "pending"]
    active = [(pid, version) for pid, version, status in found if status == "active"]
    return waiting, active


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, port: int, workers: int, folder: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=SECRET,
        ENVIRONMENT="production",
        BASE_URL=f"http://127.0.0.1:{port}",
        EMAIL_BACKEND="file",
        EMAIL_FILE_DIR=str(folder / "mail"),
        LOG_LEVEL="warning",
        RATE_LIMIT_SIGNUPS_PER_EMAIL_PER_HOUR="0",
        RATE_LIMIT_REQUESTS_PER_CLIENT_PER_MINUTE="0",
        PYTHONPATH=str(ROOT),
    )
    command = [
        str(Path(sys.executable).with_name("coffeerounds")),
        "serve", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    log = (folder / "server.log").open("ab")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: {(folder / 'server.log').read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if (
                len(worker_pids(server.pid)) == workers
                and httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).is_success
            ):
                return server
        time.sleep(0.5)
    raise SystemExit("the server did not start in 180 s")


def worker_pids(parent: int) -> list[int]:
    """uvicorn's worker processes (multiprocessing spawn children; not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes()
                if int(fields[1]) == parent and b"spawn_main" in command:
                    found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


def admin_cookies(base: str) -> dict[str, str]:
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/admin/login")
        answer = client.post(
            "/admin/login",
            data={
                "csrf_token": client.cookies["cr_csrf"],
                "email": ADMIN_EMAIL,
                "password": ADMIN_PASSWORD,
                "next": f"/admin/o/{SLUG}/participants",
            },
        )
        if answer.status_code != 303:
            raise SystemExit(f"admin sign-in failed: {answer.status_code} {answer.text[:300]}")
        return dict(client.cookies)


# --- the load --------------------------------------------------------------------------------


PROFILE_FIELDS = {
    "role": "nurse",
    "department": "Medicine",
    "specialty": "Cardiology",
    "site": "Main campus",
    "timezone": "America/New_York",
    "availability": ["Mon 12:00-13:00", "Thu 07:00-08:00"],
    "interests": ["Research"],
    "goals": "Meet people outside my department.",
    "mentoring": "seek",
}


def make_streams(
    args: argparse.Namespace,
    csrf: str,
    waiting: list[tuple[int, int]],
    active: list[tuple[int, int]],
    start: int = 0,
) -> list[Stream]:
    """The four request streams; `start` offsets the confirmations so none repeats."""
    links = LinkSigner(SECRET)
    run = uuid.uuid4().hex[:6]
    needed = int(args.rate * SHARES["confirmation"] * (args.seconds + 5)) + 1
    confirm = [links.make("confirm", participant_id=p, version=v) for p, v in waiting][
        start : start + needed
    ]
    manage = [links.make("manage", participant_id=p, version=v) for p, v in active[:3000]]

    def signup(k: int) -> tuple[str, str, dict[str, object]]:
        data = {"csrf_token": csrf, "full_name": f"Walk In {k}", **PROFILE_FIELDS}
        return "POST", f"/o/{SLUG}/join", {**data, "email": f"w{run}-{k}@walkin.example"}

    def confirmation(k: int) -> tuple[str, str, dict[str, object]]:
        return "POST", f"/o/{SLUG}/confirm/{confirm[k % len(confirm)]}", {"csrf_token": csrf}

    def edit(k: int) -> tuple[str, str, dict[str, object]]:
        data = {"csrf_token": csrf, "full_name": f"Edited Name {k}", **PROFILE_FIELDS}
        return "POST", f"/o/{SLUG}/manage/{manage[k % len(manage)]}/profile", data

    def participant_list(k: int) -> tuple[str, str, None]:
        return "GET", f"/admin/o/{SLUG}/participants", None

    rate = args.rate
    return [
        Stream("signup", rate * SHARES["signup"], signup, "visitor", 303),
        Stream("confirmation", rate * SHARES["confirmation"], confirmation, "visitor", 303),
        Stream("profile edit", rate * SHARES["profile edit"], edit, "visitor", 303),
        Stream("admin participant list", args.admin_rate, participant_list, "admin", 200),
    ]


class LoadSampler:
    """The machine's 1-minute load average every few seconds while a phase runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(5):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self.samples.append(os.getloadavg()[0])
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])


def profile_alone(
    args: argparse.Namespace,
    server: int,
    workers: list[int],
    base: str,
    streams: list[Stream],
    cookies: dict[str, dict[str, str]],
    folder: Path,
) -> tuple[Profile, float] | None:
    """Drive `streams` alone under py-spy; (profile, worker CPU-seconds per second)."""
    # The venv's own py-spy (the bench extra) when the venv is not on PATH.
    venv_bin = str(Path(sys.executable).parent)
    spy_path = shutil.which("py-spy") or shutil.which("py-spy", path=venv_bin)
    if args.profile_seconds <= 2 or spy_path is None:
        print("no profile: --profile-seconds is 0 or py-spy is not installed", flush=True)
        return None
    raw = folder / "profile.raw"
    spy = subprocess.Popen(
        [spy_path, "record", "--pid", str(server), "--subprocesses", "--nonblocking",
         "--rate", "50", "--format", "raw", "--duration", str(int(args.profile_seconds)),
         "-o", str(raw)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)
    cpu_before = cpu_seconds(workers)
    profiled = drive(base, streams, cookies, args.profile_seconds - 2)
    cpu = (cpu_seconds(workers) - cpu_before) / profiled.seconds
    spy.wait(timeout=120)
    return summarize(raw, exclude_pid=server), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--admin-rate", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile-seconds", type=float, default=20)
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 if any request failed (CI)"
    )
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    started_at = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()

    pending = int(args.rate * SHARES["confirmation"] * (args.seconds + args.profile_seconds + 10))
    folder = Path(tempfile.mkdtemp(prefix="cr-load-"))
    with fresh_database(args.postgres) as url:
        t0 = time.perf_counter()
        waiting, active = seed(url, args.people, pending)
        print(f"seeded {len(active):,} active and {len(waiting):,} pending participants "
              f"in {time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
        port = free_port()
        server = start_server(url, port, args.workers, folder)
        base = f"http://127.0.0.1:{port}"
        try:
            csrf = secrets.token_urlsafe(32)
            cookies = {"visitor": {"cr_csrf": csrf}, "admin": admin_cookies(base)}
            workers = worker_pids(server.pid)
            # Warm-up: every endpoint a few times, so imports and caches are not measured.
            warm = argparse.Namespace(**{**vars(args), "seconds": 3, "rate": 20, "admin_rate": 5})
            drive(base, make_streams(warm, csrf, waiting[-200:], active), cookies, 3)

            cpu_before = cpu_seconds(workers)
            with LoadSampler() as load:
                result = drive(
                    base, make_streams(args, csrf, waiting, active), cookies, args.seconds
                )
            server_cpu = (cpu_seconds(workers) - cpu_before) / result.seconds
            for line in results_table(result):
                print(line, flush=True)

            slowest = max(result.streams, key=lambda s: s.p95_ms)
            streams = [
                s
                for s in make_streams(args, csrf, waiting, active, start=len(waiting) // 2)
                if s.name == slowest.name
            ]
            profiled = profile_alone(args, server.pid, workers, base, streams, cookies, folder)
        finally:
            stop_server(server)
    shutil.rmtree(folder, ignore_errors=True)

    total = [s for s in result.streams if s.name in SHARES]
    achieved = sum(s.achieved_rate for s in total)
    errors = sum(s.error_count for s in result.streams)
    served = sum(s.achieved_rate for s in result.streams)
    per_request = server_cpu / served if served else float("nan")
    summary = (
        f"Forms: {achieved:.1f} of {args.rate:.0f} requests/s achieved, admin list "
        f"{result.streams[-1].achieved_rate:.1f} of {args.admin_rate:.0f}; "
        f"{errors} errors in {sum(s.sent for s in result.streams):,} requests. "
        f"The web workers used {server_cpu:.2f} CPU-seconds per second (of 2 cores); the "
        f"driver {result.driver_cpu_seconds / result.seconds:.2f}. That is "
        f"{1000 * per_request:.1f} ms of worker CPU per request of this mix, so two cores "
        f"given wholly to the workers would serve at most about {2 / per_request:.0f} "
        "requests/s of it (PostgreSQL's own CPU not counted)."
    )
    print(summary)
    lines: list[str] = []
    if profiled is not None:
        profile, profile_cpu = profiled
        lines = profile_lines(slowest, args.profile_seconds, profile, profile_cpu)
        print("\n".join(lines))
    if args.check and errors:
        raise SystemExit(f"{errors} requests failed")
    if args.no_doc:
        return
    context = {
        "started_at": started_at,
        "load_before": load_before[0],
        "load_during": (min(load.samples), max(load.samples)),
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "python": platform.python_version(),
        "active": len(active),
        "pending": len(waiting),
    }
    replace_section(SECTION, "\n".join(doc_section(args, context, result, summary, lines)))


if __name__ == "__main__":
    main()

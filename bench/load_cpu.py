"""CPU per request of each endpoint in bench/load.py's mix, on a busy machine.

Usage::

    python bench/load_cpu.py                        # 15 s per endpoint at 40 requests/s
    python bench/load_cpu.py --seconds 30 --rate 60 --people 10000

Wall-clock latencies mean little while other work shares the cores, but the CPU time a
request costs hardly changes: this runs uvicorn as ``coffeerounds serve`` does (one
worker) on a fresh PostgreSQL database seeded as bench/load.py seeds it, drives each
endpoint alone at a rate well below what one worker can serve, and divides the CPU time
used meanwhile by the requests answered: the web worker's (from /proc/<pid>/stat; the
kernel's share shown apart) and that of the PostgreSQL backends serving this database
(their process titles name it). ``2 cores / total`` is then the most requests/s of that
endpoint the machine could carry with nothing else running.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load_driver import drive  # noqa: E402
from load import (  # noqa: E402
    ROOT,
    SECRET,
    SHARES,
    admin_cookies,
    cpu_seconds,
    free_port,
    fresh_database,
    make_streams,
    seed,
    stop_server,
)

DATABASE = "cr_bench_load_cpu"


def system_seconds(pid: int) -> float:
    """The kernel's share of a process's CPU time (sockets, fsync, thread wake-ups)."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[12]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def start_server(url: str, port: int, folder: Path) -> subprocess.Popen[bytes]:
    """One uvicorn process with `coffeerounds serve`'s options (one worker runs in the
    parent process itself, so its CPU is the process's)."""
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
        sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory",
        "--port", str(port), "--no-proxy-headers", "--log-level", "warning",
    ]  # fmt: skip
    log = (folder / "server.log").open("ab")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: {(folder / 'server.log').read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).is_success:
                return server
        time.sleep(0.5)
    raise SystemExit("the server did not start in 120 s")


def backend_pids(database: str) -> list[int]:
    """PostgreSQL backends connected to `database` (their title: postgres: user db host …)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                words = (entry / "cmdline").read_bytes().replace(b"\0", b" ").split()
                if words[:1] == [b"postgres:"] and database.encode() in words[1:4]:
                    found.append(int(entry.name))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=40, help="requests/s per form endpoint")
    parser.add_argument("--admin-rate", type=float, default=10)
    args = parser.parse_args()

    runs = 2  # warm-up plus the measured pass, each needs fresh confirmation links
    pending = int(args.rate * (args.seconds + 5) * runs) + 200
    folder = Path(tempfile.mkdtemp(prefix="cr-load-cpu-"))
    with fresh_database(args.postgres, DATABASE) as url:
        waiting, active = seed(url, args.people, pending)
        port = free_port()
        server = start_server(url, port, folder)
        base = f"http://127.0.0.1:{port}"
        try:
            csrf = secrets.token_urlsafe(32)
            cookies = {"visitor": {"cr_csrf": csrf}, "admin": admin_cookies(base)}
            workers = [server.pid]
            # make_streams sizes its confirmation links for a 30% share of its rate.
            shaped = argparse.Namespace(**{**vars(args), "rate": args.rate / 0.3})
            print(f"{'endpoint':<24} {'answered':>8} {'worker ms':>10} {'(kernel)':>9} "
                  f"{'postgres ms':>12} {'total ms':>9} {'2 cores / total':>16}",
                  flush=True)  # fmt: skip
            offset = 0
            for name in (*SHARES, "admin participant list"):
                for measured in (False, True):
                    seconds = args.seconds if measured else 3.0
                    streams = [
                        s
                        for s in make_streams(shaped, csrf, waiting, active, start=offset)
                        if s.name == name
                    ]
                    if name == "confirmation":
                        offset += int(args.rate * (seconds + 2))
                    stream = streams[0]
                    stream.rate = args.admin_rate if stream.client == "admin" else args.rate
                    pids = workers + backend_pids(DATABASE)
                    before = {pid: cpu_seconds([pid]) for pid in pids}
                    kernel_before = system_seconds(server.pid)
                    result = drive(base, streams, cookies, seconds)
                    pids = workers + backend_pids(DATABASE)
                    worker = cpu_seconds(workers) - sum(before.get(p, 0.0) for p in workers)
                    kernel = system_seconds(server.pid) - kernel_before
                    total = sum(cpu_seconds([p]) - before.get(p, 0.0) for p in pids)
                    answered = result.streams[0].completed
                    errors = result.streams[0].error_count
                    if errors:
                        print(f"{name}: {errors} errors {result.streams[0].errors}", flush=True)
                    if measured and answered:
                        ms_worker = 1000 * worker / answered
                        ms_total = 1000 * total / answered
                        ms_kernel = 1000 * kernel / answered
                        print(f"{name:<24} {answered:>8} {ms_worker:>10.2f} {ms_kernel:>9.2f} "
                              f"{ms_total - ms_worker:>12.2f} {ms_total:>9.2f} "
                              f"{2000 / ms_total:>13.0f}/s", flush=True)  # fmt: skip
        finally:
            stop_server(server)
    shutil.rmtree(folder, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

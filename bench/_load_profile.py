"""Where a web worker's time goes: py-spy's raw samples of the uvicorn workers, summed.

bench/load.py records the workers (``py-spy record --subprocesses --format raw``) while only
the slowest endpoint is driven, so every busy sample belongs to it: the event loop's HTTP
and middleware work, the handler and its dependencies in the thread pool, the commit, and the
background task that sends its email.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# First match from the innermost frame outwards names the sample's category.
CATEGORIES = (
    ("psycopg/", "PostgreSQL driver (psycopg: round trips, waiting on the server)"),
    ("sqlalchemy/", "SQLAlchemy (ORM, SQL compilation, result rows)"),
    ("jinja2/", "page templates (Jinja2)"),
    ("notifications/", "the email: rendering, MIME, writing the .eml file"),
    ("email/", "the email: rendering, MIME, writing the .eml file"),
    ("pydantic", "validation (pydantic)"),
    ("multipart/", "form parsing (python-multipart, Starlette)"),
    ("formparsers", "form parsing (python-multipart, Starlette)"),
    ("itsdangerous/", "signed links (itsdangerous)"),
    ("argon2", "password hashing (argon2)"),
    ("service/", "our own code (service/)"),
    ("starlette/", "HTTP framework (uvicorn, Starlette, FastAPI, anyio)"),
    ("fastapi/", "HTTP framework (uvicorn, Starlette, FastAPI, anyio)"),
    ("uvicorn/", "HTTP framework (uvicorn, Starlette, FastAPI, anyio)"),
    ("anyio/", "HTTP framework (uvicorn, Starlette, FastAPI, anyio)"),
    ("httptools", "HTTP framework (uvicorn, Starlette, FastAPI, anyio)"),
    ("asyncio/", "HTTP framework (uvicorn, Starlette, FastAPI, anyio)"),
)
FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>.+?):(?P<line>\d+)\)$")


@dataclass
class Profile:
    samples: int
    categories: list[tuple[str, int]]
    own_functions: list[tuple[str, int]]  # inclusive samples of our functions

    def share(self, count: int) -> str:
        return f"{100 * count / self.samples:.0f}%" if self.samples else "-"


PROCESS = re.compile(r'process (\d+):"[^"]*";?')


def _frames(line: str) -> tuple[int, list[str], int]:
    """(innermost process id, frames from the outermost, sample count) of one raw line;
    with --subprocesses a line starts with the chain of processes, parent first."""
    stack, _, count = line.rpartition(" ")
    pid, position = 0, 0
    while match := PROCESS.match(stack, position):
        pid, position = int(match.group(1)), match.end()
    rest = stack[position:]
    return pid, rest.split(";") if rest else [], int(count)


def _file(frame: str) -> str:
    match = FRAME.match(frame)
    return match.group("file") if match else frame


def _category(frames: list[str]) -> str:
    for frame in reversed(frames):
        path = _file(frame)
        for needle, name in CATEGORIES:
            if needle in path:
                return name
    return "other (Python runtime, threads, sockets)"


def summarize(raw: Path, *, exclude_pid: int | None = None) -> Profile:
    """Sum the samples of every process in `raw` but `exclude_pid` (uvicorn's supervisor)."""
    categories: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        pid, frames, count = _frames(line)
        if pid == exclude_pid:
            continue
        total += count
        categories[_category(frames)] += count
        seen = set()
        for frame in frames:
            match = FRAME.match(frame)
            if match is None:
                continue
            path = match.group("file")
            if ("service/" in path or "notifications/" in path) and frame not in seen:
                seen.add(frame)
                name = f"{match.group('function')} ({path.split('site-packages/')[-1]})"
                own[re.sub(r":\d+\)$", ")", name)] += count
    return Profile(
        samples=total,
        categories=categories.most_common(),
        own_functions=own.most_common(12),
    )

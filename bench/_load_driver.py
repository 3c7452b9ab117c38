"""An open-loop HTTP load driver for bench/load.py (plain asyncio, one process).

Each stream's requests are due at fixed times (rate r: one every 1/r s from a random phase)
and are queued at those times whether or not earlier ones have been answered, so a slow
server cannot slow the arrivals down and hide its own slowness (no coordinated omission).
A fixed set of keep-alive HTTP/1.1 connections per client (a browser's cookies) takes them
from the queue. Latency runs from the moment a request was due to the last byte of its
answer, so time spent waiting for a free connection counts too.

A hand-written client, because httpx's connection pool scans every waiting request on every
event: with a few hundred in flight the driver, not the server, became the bottleneck.
"""

from __future__ import annotations

import asyncio
import random
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import numpy as np

# (method, path, form data or None) for the k-th request of a stream.
RequestFactory = Callable[[int], tuple[str, str, dict[str, Any] | None]]
CONNECTIONS = {"visitor": 96, "admin": 24}
TIMEOUT_SECONDS = 60.0
LATE_SECONDS = 0.05


@dataclass
class Stream:
    name: str
    rate: float  # requests per second
    make_request: RequestFactory
    client: str  # which client (cookies) sends it: "visitor" or "admin"
    expected_status: int
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    late_starts: int = 0  # queued more than LATE_SECONDS after their due time

    def record_error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


@dataclass
class StreamResult:
    name: str
    target_rate: float
    sent: int
    completed: int
    achieved_rate: float
    errors: dict[str, int]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    late_starts: int

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass
class RunResult:
    seconds: float
    streams: list[StreamResult]
    driver_cpu_seconds: float


Job = tuple[Stream, int, float]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one whole response; (status, whether the connection stays open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection") != "close"


async def _connection(queue: asyncio.Queue[Job | None], host: str, port: int, cookie: str) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while (job := await queue.get()) is not None:
        stream, number, due = job
        method, path, data = stream.make_request(number)
        body = urlencode(data, doseq=True).encode() if data is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
        if data is not None:
            head += "Content-Type: application/x-www-form-urlencoded\r\n"
            head += f"Content-Length: {len(body)}\r\n"
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            writer.write(head.encode() + b"\r\n" + body)
            status, keep = await asyncio.wait_for(_read_response(reader), TIMEOUT_SECONDS)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ValueError) as exc:  # fmt: skip
            stream.record_error(type(exc).__name__)
            if writer is not None:
                writer.close()
            reader = writer = None
        else:
            finished = time.perf_counter()
            if status == stream.expected_status:
                stream.latencies.append(finished - due)
            else:
                stream.record_error(f"HTTP {status}")
            if not keep and writer is not None:
                writer.close()
                reader = writer = None
        finally:
            queue.task_done()
    if writer is not None:
        writer.close()
    queue.task_done()


async def _arrivals(
    stream: Stream, queue: asyncio.Queue[Job | None], start: float, seconds: float
) -> None:
    interval = 1.0 / stream.rate
    phase = random.random() * interval
    number = 0
    while (due := start + phase + number * interval) - start < seconds:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif -delay > LATE_SECONDS:
            stream.late_starts += 1
        queue.put_nowait((stream, number, due))
        stream.sent += 1
        number += 1


def _summary(stream: Stream, seconds: float) -> StreamResult:
    """`seconds`: from the first arrival to the last answer (longer than the arrivals when
    the server fell behind, so the achieved rate is what it really served)."""
    values = np.array(stream.latencies) * 1000 if stream.latencies else np.array([np.nan])
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return StreamResult(
        name=stream.name,
        target_rate=stream.rate,
        sent=stream.sent,
        completed=len(stream.latencies),
        achieved_rate=len(stream.latencies) / seconds,
        errors=dict(stream.errors),
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
        max_ms=float(np.nanmax(values)),
        late_starts=stream.late_starts,
    )


async def _run(
    base_url: str, streams: list[Stream], cookies: dict[str, dict[str, str]], seconds: float
) -> RunResult:
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    queues: dict[str, asyncio.Queue[Job | None]] = {name: asyncio.Queue() for name in cookies}
    connections = [
        asyncio.create_task(
            _connection(queues[name], host, port, "; ".join(f"{k}={v}" for k, v in jar.items()))
        )
        for name, jar in cookies.items()
        for _ in range(CONNECTIONS.get(name, 16))
    ]
    start = time.perf_counter() + 0.2
    await asyncio.gather(*(_arrivals(s, queues[s.client], start, seconds) for s in streams))
    for queue in queues.values():
        await queue.join()
    elapsed = max(seconds, time.perf_counter() - start)
    for name, queue in queues.items():
        for _ in range(CONNECTIONS.get(name, 16)):
            queue.put_nowait(None)
    await asyncio.gather(*connections)
    return RunResult(
        seconds=elapsed,
        streams=[_summary(s, elapsed) for s in streams],
        driver_cpu_seconds=0.0,
    )


def drive(
    base_url: str,
    streams: list[Stream],
    cookies: dict[str, dict[str, str]],
    seconds: float,
) -> RunResult:
    """Run every stream at its rate for `seconds`; `cookies` per client name."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    result = asyncio.run(_run(base_url, streams, cookies, seconds))
    after = resource.getrusage(resource.RUSAGE_SELF)
    result.driver_cpu_seconds = (after.ru_utime - before.ru_utime) + (
        after.ru_stime - before.ru_stime
    )
    return result

"""`coffeerounds match`: the whole product matching, offline, from CSV files, no database."""

from __future__ import annotations

import csv
import io
import os
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import typer

import matching
from service.participants.csv_io import CsvFileError, decode_csv, read_participants_csv
from service.participants.schemas import normalize_email
from service.rounds.cohort import person_from_profile
from service.rounds.timing import parse_month

GROUPS_COLUMNS = ("group", "email", "topic", "reason")
HISTORY_COLUMNS = ("round", *GROUPS_COLUMNS)
TOPICS_COLUMNS = ("key", "title", "description", "starters", "tags")


class InputError(ValueError):
    """Bad input: the message names the file, the line and the reason."""


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None


def _dict_rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = decode_csv(_read_bytes(path))
    except CsvFileError as exc:
        raise InputError(f"{path}: {exc}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except StopIteration:
        raise InputError(f"{path}: the file is empty") from None
    except csv.Error as exc:
        raise InputError(f"{path}: line 1: {exc}") from None
    if tuple(header) != columns:
        raise InputError(f"{path}: line 1: the header must be: {','.join(columns)}")
    rows = []
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(columns):
                raise InputError(
                    f"{path}: line {line}: expected {len(columns)} fields, found {len(record)}"
                )
            rows.append((line, dict(zip(columns, (c.strip() for c in record), strict=True))))
    except csv.Error as exc:
        raise InputError(f"{path}: line {reader.line_num}: {exc}") from None
    return rows


def read_people(path: Path) -> list[matching.Person]:
    try:
        validation = read_participants_csv(_read_bytes(path))
    except CsvFileError as exc:
        raise InputError(f"{path}: {exc}") from None
    if validation.errors:
        shown = "\n".join(f"{path}: {error}" for error in validation.errors[:50])
        more = len(validation.errors) - 50
        raise InputError(shown + (f"\n… and {more} more problems" if more > 0 else ""))
    return [
        person_from_profile(
            row.participant, email=row.participant.email, avoid=row.participant.avoid
        )
        for row in validation.rows
    ]


def read_topics(path: Path | None) -> list[matching.Topic]:
    if path is None:
        return matching.default_topics()
    topics = []
    seen: set[str] = set()
    for line, row in _dict_rows(path, TOPICS_COLUMNS):
        key = row["key"] or row["title"].lower().replace(" ", "-")
        if not row["title"]:
            raise InputError(f"{path}: line {line}: title is required")
        if key in seen:
            raise InputError(f"{path}: line {line}: key '{key}' appears twice")
        seen.add(key)
        split = [s.strip() for s in row["starters"].split(";") if s.strip()]
        topics.append(
            matching.Topic(
                key=key,
                title=row["title"],
                description=row["description"],
                starters=tuple(split),
                tags=tuple(t.strip() for t in row["tags"].split(";") if t.strip()),
            )
        )
    return topics


def read_history(path: Path | None, topics: list[matching.Topic]) -> list[matching.PastGroup]:
    if path is None:
        return []
    by_title = {t.title.casefold(): t.key for t in topics} | {
        t.key.casefold(): t.key for t in topics
    }
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    topic_of: dict[tuple[str, str], str | None] = {}
    for line, row in _dict_rows(path, HISTORY_COLUMNS):
        try:
            parse_month(row["round"])
        except ValueError as exc:
            raise InputError(f"{path}: line {line}: round: {exc}") from None
        if not row["group"]:
            continue  # someone who was not placed that month
        try:
            email = normalize_email(row["email"])
        except ValueError as exc:
            raise InputError(f"{path}: line {line}: email {exc}") from None
        key = (row["round"], row["group"])
        groups[key].append(email)
        topic_of[key] = by_title.get(row["topic"].casefold()) if row["topic"] else None
    return [
        matching.PastGroup(month=month, members=tuple(members), topic_key=topic_of[(month, g)])
        for (month, g), members in sorted(groups.items())
    ]


def write_groups(path: Path, result: matching.RoundResult) -> None:
    """Write GROUPS.csv atomically: a failure never leaves half a file behind."""
    rows = []
    for number, group in enumerate(result.groups, start=1):
        title = group.topic.title if group.topic is not None else ""
        rows += [(str(number), email, title, group.reason) for email in group.members]
    rows += [("", email, "", "not placed this month") for email in result.unplaced]
    directory = path.resolve().parent
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".groups-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(GROUPS_COLUMNS)
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summary(result: matching.RoundResult, elapsed: float) -> str:
    stats = result.stats
    sizes = ", ".join(f"{n} of {size}" for size, n in sorted(stats.group_sizes.items())) or "none"
    lines = [
        f"participants:                  {stats.n_people}",
        f"groups:                        {stats.n_groups} ({sizes})",
        f"not placed:                    {len(result.unplaced)}",
        f"repeats of earlier group-mates: {len(stats.repeats)}",
        f"avoid-list violations:         {len(stats.avoid_violations)}",
        f"groups without a common time:  {stats.groups_without_common_window}",
        f"mean affinity:                 {stats.mean_affinity:.3f}",
        f"mean shared interests:         {stats.mean_interest_similarity:.3f}",
        f"time taken:                    {elapsed:.1f} s",
    ]
    for a, b, month in stats.repeats[:20]:
        lines.append(f"repeat: {a} and {b} (last together {month})")
    for a, b in stats.avoid_violations[:20]:
        lines.append(f"avoid violated: {a} and {b}")
    return "\n".join(lines)


def match(
    participants: Path = typer.Argument(..., help="PARTICIPANTS.csv in the import format."),
    out: Path = typer.Option(..., "--out", help="Where to write GROUPS.csv."),
    history: Path | None = typer.Option(
        None, "--history", help="Earlier GROUPS.csv rows with a leading `round` (YYYY-MM) column."
    ),
    topics: Path | None = typer.Option(
        None, "--topics", help="Topic catalog CSV: key,title,description,starters,tags."
    ),
    month: str | None = typer.Option(None, "--month", help="YYYY-MM (default: this month)."),
    min_size: int = typer.Option(3, "--min-size", min=2, max=10),
    max_size: int = typer.Option(4, "--max-size", min=2, max=10),
    seed: int = typer.Option(0, "--seed"),
    time_limit: float | None = typer.Option(None, "--time-limit", min=0.1, help="Seconds."),
) -> None:
    """Match people into groups offline; prints a quality summary."""
    started = time.perf_counter()
    month = month or datetime.now(UTC).strftime("%Y-%m")
    try:
        parse_month(month)
        if min_size > max_size:
            raise InputError("--min-size must not be larger than --max-size")
        people = read_people(participants)
        catalog = read_topics(topics)
        past = read_history(history, catalog)
        result = matching.match_round(
            people,
            history=past,
            topics=catalog,
            month=month,
            min_size=min_size,
            max_size=max_size,
            time_limit=time_limit,
            random_state=seed,
        )
    except (InputError, ValueError, TypeError) as exc:
        typer.secho(f"Error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    try:
        write_groups(out, result)
    except OSError as exc:
        typer.secho(f"Error: {out}: cannot write ({exc.strerror or exc})", err=True)
        raise typer.Exit(2) from None
    for warning in result.warnings:
        typer.secho(f"warning: {warning}", err=True, fg=typer.colors.YELLOW)
    typer.echo(summary(result, time.perf_counter() - started))
    typer.echo(f"wrote {out}")

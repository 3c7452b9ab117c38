"""import and export: participants to and from CSV files."""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

import typer
from sqlalchemy.orm import Session, sessionmaker

from service import outbox
from service.cli.database import fail, load_settings, open_database
from service.config import Settings
from service.errors import DomainError
from service.links import LinkSigner
from service.models.participant import STATUSES
from service.participants import csv_io, flows
from service.participants.service import get_organization


def _read_input(path: str) -> bytes:
    limit = csv_io.MAX_FILE_BYTES + 1  # one byte more, so the size check can fire
    if path == "-":
        return sys.stdin.buffer.read(limit)
    try:
        with Path(path).open("rb") as stream:
            return stream.read(limit)
    except FileNotFoundError:
        raise fail(f"{path}: no such file") from None
    except IsADirectoryError:
        raise fail(f"{path} is a directory, not a CSV file") from None
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or exc}") from None


def _deliver(factory: sessionmaker[Session], settings: Settings, keys: list[str]) -> str:
    """Send the confirmation emails now; whatever fails stays queued for the dispatcher."""
    sent = failed = 0
    try:
        sender = outbox.make_sender(settings)
        while True:
            report = outbox.deliver_due(factory, sender, keys=keys)
            sent, failed = sent + report.sent, failed + report.failed + report.retrying
            if report.sent + report.failed + report.retrying == 0:
                break
    except Exception as exc:  # noqa: BLE001 - the import is committed; mail can follow later
        return f"confirmation emails are queued but could not be sent now ({exc}); " + (
            "run `coffeerounds send-outbox`"
        )
    text = f"confirmation emails: sent {sent}"
    if failed:
        text += f", {failed} queued for retry (see `coffeerounds send-outbox`)"
    return text


def import_csv(
    org_slug: str = typer.Argument(..., metavar="ORG_SLUG", help="Organization slug."),
    file: str = typer.Argument(..., metavar="FILE.csv", help="CSV file, or - for stdin."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the valid rows even if some rows are invalid."
    ),
    require_confirmation: bool = typer.Option(
        False,
        "--require-confirmation",
        help="New people start as pending and get an email to confirm (double opt-in).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check the file and say what would change; write nothing."
    ),
) -> None:
    """Import participants from a CSV file with the signup form's fields.

    The header must be exactly these 14 columns, in this order: email, full_name, role,
    specialty, department, site, interests, goals, mentoring, can_teach, wants_to_learn,
    timezone, availability, avoid. List cells use ';' between items; availability is like
    'Mon 12:00-13:00; Thu 07:00-07:30' in the person's own time zone; avoid lists emails
    never to be grouped with (they may belong to people who have not joined yet).

    Every row is checked first and each bad row is reported with its line number. Nothing is
    written unless every row is valid (or --skip-invalid is given). All changes happen in one
    transaction. A new email creates an active participant (the hospital vouches for them),
    or a pending one with --require-confirmation. An email already registered updates that
    person's profile and keeps their status (active, paused, left...). Someone who deleted
    their data is re-created as new. Exit status 2 on any invalid input.
    """
    data = _read_input(file)
    settings = load_settings()
    keys: list[str] = []
    with open_database() as factory:
        try:
            with factory() as session:
                org = get_organization(session, org_slug)
                validation = csv_io.read_participants_csv(data, organization=org)
                for error in validation.errors:
                    typer.echo(str(error), err=True)
                skipped = len(validation.invalid_lines)
                if skipped and not skip_invalid:
                    raise fail(
                        f"{skipped} invalid row(s) in {file}; nothing was imported. Fix them and "
                        "import again, or use --skip-invalid to import only the valid rows."
                    )
                result = csv_io.import_participants(
                    session,
                    org,
                    validation.rows,
                    active=not require_confirmation,
                    dry_run=dry_run,
                )
                if require_confirmation and not dry_run:
                    links = LinkSigner(settings.secret_key.get_secret_value())
                    keys = [
                        flows.send_confirmation(session, settings, links, org, participant)
                        for participant in result.new_participants
                    ]
                if dry_run:
                    session.rollback()
                else:
                    session.commit()
        except csv_io.CsvFileError as exc:
            raise fail(f"{file}: {exc}") from None
        except DomainError as exc:
            raise fail(exc.message) from None
        summary = (
            f"created {result.created}, updated {result.updated}, "
            f"unchanged {result.unchanged}, skipped (invalid) {skipped}"
        )
        if dry_run:
            typer.echo(f"Dry run, nothing was written. Would have: {summary}.")
            return
        typer.echo(f"Imported into '{org_slug}': {summary}.")
        if keys:
            typer.echo(_deliver(factory, settings, keys))


def _parse_statuses(text: str | None) -> list[str] | None:
    if text is None:
        return None
    statuses = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown or not statuses:
        raise fail(
            f"--status: {', '.join(unknown) or 'nothing given'}; "
            f"choose from {', '.join(STATUSES)}, comma-separated"
        )
    return statuses


def _write_atomically(path: Path, text: str) -> None:
    """Replace the file only once the new one is complete: an error never leaves half a file."""
    directory = path.parent if str(path.parent) else Path(".")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export_csv(
    org_slug: str = typer.Argument(..., metavar="ORG_SLUG", help="Organization slug."),
    file: str = typer.Argument(..., metavar="FILE.csv", help="File to write, or - for stdout."),
    status: str | None = typer.Option(
        None,
        "--status",
        help="Only these statuses, comma-separated, e.g. active,paused "
        "(default: everyone but deleted).",
    ),
) -> None:
    """Export participants to CSV, in the same format `import` reads (UTF-8, by email).

    Importing the exported file again changes nothing.
    """
    statuses = _parse_statuses(status)
    with open_database() as factory, factory() as session:
        try:
            org = get_organization(session, org_slug)
        except DomainError as exc:
            raise fail(exc.message) from None
        participants = csv_io.participants_for_export(session, org, statuses)
        buffer = io.StringIO()
        count = csv_io.write_participants_csv(participants, buffer)
    if file == "-":
        sys.stdout.write(buffer.getvalue())
        sys.stdout.flush()
        typer.echo(f"Exported {count} participant(s).", err=True)
        return
    path = Path(file)
    if not path.parent.is_dir():
        raise fail(f"cannot write {file}: the folder {path.parent} does not exist")
    try:
        _write_atomically(path, buffer.getvalue())
    except OSError as exc:
        raise fail(f"cannot write {file}: {exc.strerror or exc}") from None
    typer.echo(f"Exported {count} participant(s) of '{org_slug}' to {file}.")


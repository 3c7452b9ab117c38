"""library import / library export: the resource library to and from CSV files."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import typer

from service.cli.database import fail, open_database
from service.cli.participants import _read_input, _write_atomically
from service.errors import DomainError
from service.library import csv_io
from service.library.search import topic_titles
from service.participants.service import get_organization

app = typer.Typer(
    help="The resource library: import and export as CSV.", no_args_is_help=True
)


@app.command("import")
def import_csv(
    org_slug: str = typer.Argument(..., metavar="ORG_SLUG", help="Organization slug."),
    file: str = typer.Argument(..., metavar="FILE.csv", help="CSV file, or - for stdin."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check the file and say what would change; write nothing."
    ),
) -> None:
    """Import resources from a CSV file (the format `library export` writes).

    Columns, in this order: url, title, why, tags, topic, created_at, useful_count, hidden.
    Every row is checked first and each bad row is reported with its line number; nothing
    is written unless every row is valid. A link already in the library is updated, never
    duplicated; hidden=yes hides a resource, and an import never shows a hidden one again.
    Exit status 2 on any invalid input.
    """
    data = _read_input(file)
    with open_database() as factory, factory() as session:
        try:
            org = get_organization(session, org_slug)
            validation = csv_io.read_resources_csv(session, org, data)
        except csv_io.CsvFileError as exc:
            raise fail(f"{file}: {exc}") from None
        except DomainError as exc:
            raise fail(exc.message) from None
        for error in validation.errors:
            typer.echo(str(error), err=True)
        if validation.errors:
            raise fail(
                f"{len(validation.invalid_lines)} invalid row(s) in {file}; nothing was "
                "imported. Fix them and import again."
            )
        result = csv_io.import_resources(
            session, org, validation.rows, actor="command line", dry_run=dry_run
        )
        summary = (
            f"added {result.created}, updated {result.updated}, "
            f"unchanged {result.unchanged}, hidden {result.hidden}"
        )
        if dry_run:
            session.rollback()
            typer.echo(f"Dry run, nothing was written. Would have: {summary}.")
            return
        session.commit()
    typer.echo(f"Imported into the library of '{org_slug}': {summary}.")


@app.command("export")
def export_csv(
    org_slug: str = typer.Argument(..., metavar="ORG_SLUG", help="Organization slug."),
    file: str = typer.Argument("-", metavar="FILE.csv", help="File to write, or - for stdout."),
) -> None:
    """Export every resource (hidden ones marked hidden=yes) in the format `import` reads."""
    with open_database() as factory, factory() as session:
        try:
            org = get_organization(session, org_slug)
        except DomainError as exc:
            raise fail(exc.message) from None
        buffer = io.StringIO()
        count = csv_io.write_resources_csv(
            csv_io.resources_for_export(session, org), topic_titles(session, org), buffer
        )
    if file == "-":
        sys.stdout.write(buffer.getvalue())
        sys.stdout.flush()
        typer.echo(f"Exported {count} resource(s).", err=True)
        return
    path = Path(file)
    if not path.parent.is_dir():
        raise fail(f"cannot write {file}: the folder {path.parent} does not exist")
    try:
        _write_atomically(path, buffer.getvalue())
    except OSError as exc:
        raise fail(f"cannot write {file}: {exc.strerror or exc}") from None
    typer.echo(f"Exported {count} resource(s) of '{org_slug}' to {file}.")

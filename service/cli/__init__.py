"""The `coffeerounds` command: every operation of the service from a terminal."""

from __future__ import annotations

import typer

from service.cli import (
    accounts,
    demo,
    introductions,
    library,
    matching,
    participants,
    rounds,
    server,
)

app = typer.Typer(
    name="coffeerounds",
    help="Coffee Rounds: monthly small-group coffee chats for hospital staff.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(server.serve)
app.command("migrate")(server.migrate)
app.command("send-outbox")(server.send_outbox)
app.command("demo")(demo.demo)
app.command("import")(participants.import_csv)
app.command("export")(participants.export_csv)
app.command("create-org")(accounts.create_org)
app.command("create-admin")(accounts.create_admin)
app.command("create-token")(accounts.create_token)
app.command("match")(matching.match)
app.command("round")(rounds.round_command)
app.command("scheduler")(rounds.scheduler)
app.add_typer(library.app, name="library")
app.command("introductions")(introductions.introductions)


def main() -> None:
    app()

"""dashboard indexes: emails per round, failed emails, participants by name

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 14:30:00.000000

The Rounds pages count each round's emails by status. Outbox rows name their round only
through their idempotency key ("invite:<group>:...", "checkin:<membership>"), and their
bodies (4-14 KB each) make reading the rows themselves slow, so the number in the key is
indexed as an expression, next to the kind and status: counting needs no row at all. The
expression is spelled per database, exactly as `service.models.outbox.key_ref` renders it.
The participant list pages through people by name: an index in that order spares sorting
everyone for every page.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_KEY_REF = "CAST(substr(idempotency_key, instr(idempotency_key, ':') + 1) AS INTEGER)"
POSTGRESQL_KEY_REF = (
    "(substring(idempotency_key::text, '^[^:]*:([0-9]{1,9})(:|$)'::text)::integer)"
)


def upgrade() -> None:
    op.create_index(
        "ix_participant_org_name", "participant", ["organization_id", "full_name", "id"]
    )
    op.drop_index("ix_outbox_message_organization_id", table_name="outbox_message")
    op.create_index(
        "ix_outbox_message_org_status", "outbox_message", ["organization_id", "status"]
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    key_ref = POSTGRESQL_KEY_REF if postgres else SQLITE_KEY_REF
    op.create_index(
        "ix_outbox_message_key_ref",
        "outbox_message",
        ["organization_id", "kind", sa.text(key_ref), "status", "idempotency_key"],
    )


def downgrade() -> None:
    op.drop_index("ix_participant_org_name", table_name="participant")
    op.drop_index("ix_outbox_message_key_ref", table_name="outbox_message")
    op.drop_index("ix_outbox_message_org_status", table_name="outbox_message")
    op.create_index(
        "ix_outbox_message_organization_id", "outbox_message", ["organization_id"]
    )

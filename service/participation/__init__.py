"""Participation records: what each person's chats and introductions added up to.

`record` builds the entries (for one person's printable record, or for everyone in an admin
export); `csv_output` writes them as CSV for the person or for the organization.
"""

from service.participation.record import (
    ParticipationRecord,
    RecordEntry,
    RecordTotals,
    entries_by_person,
    participation_record,
)

__all__ = [
    "ParticipationRecord",
    "RecordEntry",
    "RecordTotals",
    "entries_by_person",
    "participation_record",
]

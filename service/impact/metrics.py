"""What the programme achieved, for the Impact page and its CSV downloads.

Definitions (the board will ask):

- **Window**: the last `months` rounds that were sent, up to the month of `now`.
- **Took part**: placed in a group of that round and not dropped out or removed.
- **Signed up**: confirmed before the end of the month (UTC) and not left by then.
- **A group met** when at least two of its remaining members said so in their check-in
  (`service.rounds.feedback.group_met`); two people "met" when they were in a group that met.
  The met rate only counts groups whose check-in has gone out: a meeting still ahead is
  neither met nor missed.
- **New connection**: a pair of people meeting for the first time ever (rounds before the
  window count as history: a pair who met before is not new again).
- **Tie**: a pair of people who met at least once in the window. A **cross-department** (or
  cross-site) tie is one whose two people have different departments (sites); an empty
  department or site is unknown and never counts as different.
- **Met a senior colleague**: a resident or student who took part in the window and was in a
  group that met with an attending or a fellow.
- **Retention at 3 (6) months**: of the people who confirmed at least 3 (6) calendar months
  before `now`, the share whose status is still active or paused.
- **Department network**: departments as nodes; two departments are linked by the number of
  meetings (groups that met) that had people from both.

Suppression: every number carries the count of distinct people it rests on, and anything
resting on fewer than five people is shown as "fewer than 5" (`figures.Cell`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy.orm import Session

from service.db import utcnow
from service.impact import queries
from service.impact.connections import (
    NetworkData,
    PeopleCodes,
    connections_figure,
    department_network,
    network_figure,
    ties_figure,
)
from service.impact.figures import Cell, Column, Figure, count_cell, share_cell
from service.impact.pairs import MetPairs
from service.impact.window import WindowMembers
from service.models import Organization
from service.rounds.feedback import OUTCOMES
from service.rounds.jobs import CHECKIN_AFTER
from service.rounds.timing import month_of

RETENTION_MONTHS = (3, 6)


@dataclass
class ImpactReport:
    """Every figure of the Impact page; `headline` holds the numbers shown as big stats."""

    months: list[str]
    figures: dict[str, Figure]
    headline: dict[str, Cell]
    network: NetworkData
    quotes: list[str] = field(default_factory=list)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    # Clamp the day: 31 May minus 3 months is 28/29 February.
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month + 1, day=day)
        except ValueError:
            continue
    raise ValueError(f"cannot move {moment} by {months} months")


def _month_end(month: str) -> datetime:
    year, number = int(month[:4]), int(month[5:7])
    return _add_months(datetime(year, number, 1, tzinfo=UTC), 1)


def impact_report(
    session: Session,
    org: Organization,
    *,
    months: int = 12,
    now: datetime | None = None,
    include_quotes: bool = False,
) -> ImpactReport:
    """Compute every figure for `org` over its last `months` sent rounds (see module doc)."""
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 120:
        raise ValueError(f"months must be a whole number from 1 to 120, not {months!r}")
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be an aware UTC datetime")
    history = queries.sent_rounds(session, org, month_of(now.date()))
    window = history[-months:]
    offset = len(history) - len(window)
    ids = [r.id for r in window]
    labels = [r.month for r in window]

    members = WindowMembers.from_rows(queries.window_members(session, ids))
    took_part = members.took_part()
    checked_in_by = now - CHECKIN_AFTER
    n_groups = queries.groups_per_round(session, ids, checked_in_by=checked_in_by) if ids else {}
    met = members.groups_met()
    groups = {r: (n, met.get(r, 0)) for r, n in n_groups.items()}
    checkins = members.checkins()
    cutoffs = [_add_months(now, -m) for m in RETENTION_MONTHS]
    enrolled, retention = queries.enrolment(session, org, [_month_end(m) for m in labels], cutoffs)
    respondents, outcomes = members.outcome_people()

    codes = PeopleCodes(session, org)
    took_part_people = members.people()
    trainees = int(codes.trainee[took_part_people].sum())
    # Pairs need every round before the window too: a pair who met then is not "new".
    earlier = queries.met_members(session, [r.id for r in history[:offset]])
    met_rows = np.concatenate([earlier, members.met_members()])
    history_ids = np.array([r.id for r in history], dtype=np.int64)
    # Round ids -> position in the history (0 = oldest), so rounds can be binned.
    by_id = np.argsort(history_ids)
    member_index = by_id[np.searchsorted(history_ids[by_id], met_rows[:, 0])]
    pairs = MetPairs.from_members(member_index, met_rows[:, 1], met_rows[:, 2])

    figures = {
        "participation": _participation(labels, ids, enrolled, took_part),
        "meetings": _meetings(labels, ids, took_part, groups, checkins),
        "ratings": _ratings(labels, ids, checkins),
        "outcomes": _outcomes(respondents, outcomes),
        "connections": connections_figure(labels, offset, len(history), pairs, codes),
    }
    in_window = pairs.where(pairs.round_index >= offset)
    ties, figures["ties"] = ties_figure(in_window, codes, trainees)
    figures["retention"] = _retention(retention)
    network = department_network(in_window, codes)
    figures["network"] = network_figure(network)

    new_total = figures["connections"].rows[-1]["cumulative_connections"] if labels else None
    met_groups = sum(groups.get(i, (0, 0))[1] for i in ids)
    all_groups = sum(groups.get(i, (0, 0))[0] for i in ids)
    headline = {
        "took_part": count_cell(len(took_part_people)),
        "met_rate": share_cell(met_groups, all_groups, len(took_part_people)),
        "rating_average": Cell(members.rating_average(), members.raters(), "average"),
        "connections": new_total if isinstance(new_total, Cell) else count_cell(0),
        **ties,
        **{
            f"retention_{m}": share_cell(kept, joined)
            for m, (joined, kept) in zip(RETENTION_MONTHS, retention, strict=True)
        },
    }
    quotes = queries.learned_quotes(session, ids) if include_quotes and ids else []
    return ImpactReport(labels, figures, headline, network, quotes)


def _participation(
    labels: list[str], ids: list[int], enrolled: list[int], took_part: dict[int, int]
) -> Figure:
    rows: list[dict[str, Cell | str]] = []
    for month, round_id, signed_up in zip(labels, ids, enrolled, strict=True):
        placed = took_part.get(round_id, 0)
        rows.append(
            {
                "month": month,
                "signed_up": count_cell(signed_up),
                "took_part": count_cell(placed),
                "participation_rate": share_cell(placed, signed_up, min(placed, signed_up)),
            }
        )
    return Figure(
        "participation",
        "Participants per month",
        "People signed up at the end of each month, and how many took part in that round.",
        [
            Column("month", "Month", False),
            Column("signed_up", "Signed up"),
            Column("took_part", "Took part"),
            Column("participation_rate", "Participation"),
        ],
        rows,
    )


def _meetings(
    labels: list[str],
    ids: list[int],
    took_part: dict[int, int],
    groups: dict[int, tuple[int, int]],
    checkins: dict[int, tuple[int, int, float | None]],
) -> Figure:
    rows: list[dict[str, Cell | str]] = []
    for month, round_id in zip(labels, ids, strict=True):
        people = took_part.get(round_id, 0)
        n_groups, n_met = groups.get(round_id, (0, 0))
        answered = checkins.get(round_id, (0, 0, None))[0]
        rows.append(
            {
                "month": month,
                "groups": count_cell(n_groups, people),
                "groups_met": count_cell(n_met, people),
                "met_rate": share_cell(n_met, n_groups, people),
                "checkins": count_cell(answered),
            }
        )
    return Figure(
        "meetings",
        "Did the meetings happen?",
        "Share of groups that met (at least two members confirmed it in their check-in).",
        [
            Column("month", "Month", False),
            Column("groups", "Groups"),
            Column("groups_met", "Groups that met"),
            Column("met_rate", "Met"),
            Column("checkins", "Check-ins answered"),
        ],
        rows,
    )


def _ratings(
    labels: list[str], ids: list[int], checkins: dict[int, tuple[int, int, float | None]]
) -> Figure:
    rows: list[dict[str, Cell | str]] = []
    for month, round_id in zip(labels, ids, strict=True):
        _, n_ratings, average = checkins.get(round_id, (0, 0, None))
        rows.append(
            {
                "month": month,
                "ratings": count_cell(n_ratings),
                "average_rating": Cell(average, n_ratings, "average"),
            }
        )
    return Figure(
        "ratings",
        "How was it? Average rating",
        "Average check-in rating from 1 (poor) to 5 (great), per month.",
        [
            Column("month", "Month", False),
            Column("ratings", "Ratings"),
            Column("average_rating", "Average rating (1-5)"),
        ],
        rows,
    )


def _outcomes(respondents: int, outcomes: dict[str, int]) -> Figure:
    rows: list[dict[str, Cell | str]] = [
        {
            "outcome": label,
            "people": count_cell(outcomes.get(key, 0)),
            "share": share_cell(
                outcomes.get(key, 0), respondents, min(outcomes.get(key, 0), respondents)
            ),
        }
        for key, label in OUTCOMES.items()
    ]
    return Figure(
        "outcomes",
        "What came of it (follow-ups)",
        f"What people reported in the follow-up, over {respondents:,} people who answered it "
        "(one person can report several things).",
        [
            Column("outcome", "Outcome", False),
            Column("people", "People"),
            Column("share", "Share of those who answered"),
        ],
        rows,
    )


def _retention(retention: list[tuple[int, int]]) -> Figure:
    rows: list[dict[str, Cell | str]] = [
        {
            "measure": f"Joined at least {m} months ago",
            "joined": count_cell(joined),
            "staying": count_cell(kept, joined),
            "share": share_cell(kept, joined),
        }
        for m, (joined, kept) in zip(RETENTION_MONTHS, retention, strict=True)
    ]
    return Figure(
        "retention",
        "Retention",
        "Of the people who joined at least 3 (or 6) months ago, the share still taking part "
        "(active or paused).",
        [
            Column("measure", "Measure", False),
            Column("joined", "Joined"),
            Column("staying", "Still taking part"),
            Column("share", "Share"),
        ],
        rows,
    )

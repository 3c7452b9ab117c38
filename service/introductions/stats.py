"""Introduction counts for the Impact page: how many were asked for, asked, accepted and met.

Never the request text. Like every impact figure, a count resting on fewer than five
distinct people is suppressed (service.impact.figures.Cell).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, literal, select, union_all
from sqlalchemy.orm import Session

from service.impact.figures import Cell
from service.models import IntroductionAsk, IntroductionRequest, Organization

METRICS = ("requested", "asked", "accepted", "met")


@dataclass(frozen=True)
class IntroductionCounts:
    requested: Cell  # requests made; rests on the distinct requesters
    asked: Cell  # colleagues asked (one per ask); rests on the distinct colleagues
    accepted: Cell  # introductions accepted; rests on everyone in them
    met: Cell  # introductions where someone said the call happened


def introduction_counts(session: Session, org: Organization) -> IntroductionCounts:
    """One aggregate query over (metric, request, person) rows of the organization."""
    request, ask = IntroductionRequest, IntroductionAsk
    in_org = request.organization_id == org.id
    joined = ask.__table__.join(request.__table__, request.id == ask.request_id)

    def part(metric: str, person: Any, source: Any, *where: Any) -> Select[Any]:
        return (
            select(
                literal(metric).label("metric"),
                request.id.label("request_id"),
                person.label("person_id"),
            )
            .select_from(source)
            .where(in_org, *where)
        )

    accepted = ask.status == "accepted"
    parts = union_all(
        part("requested", request.requester_id, request.__table__),
        part("asked", ask.candidate_id, joined),
        part("accepted", request.requester_id, request.__table__, request.status == "accepted"),
        part("accepted", ask.candidate_id, joined, accepted),
        part("met", request.requester_id, request.__table__, request.met.is_(True)),
        part("met", ask.candidate_id, joined, and_(accepted, request.met.is_(True))),
    ).subquery()
    totals = session.execute(
        select(
            parts.c.metric,
            func.count(func.distinct(parts.c.request_id)),
            func.count(func.distinct(parts.c.person_id)),
            func.count(),
        ).group_by(parts.c.metric)
    ).all()
    # Each ask is one "asked" row, so that metric counts rows; the others count requests.
    found = {metric: (requests, people, n) for metric, requests, people, n in totals}

    def cell(metric: str) -> Cell:
        requests, people, row_count = found.get(metric, (0, 0, 0))
        return Cell(float(row_count if metric == "asked" else requests), int(people), "count")

    return IntroductionCounts(*(cell(m) for m in METRICS))

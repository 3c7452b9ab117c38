"""Who may be asked for an introduction, ranked by `matching.introductions`.

Candidates are, by construction, colleagues of the same organization: active (not paused,
not left), accepting introductions, reachable by email, not the requester, on nobody's avoid
list in either direction, not yet asked for this request, and not asked by this requester in
the last 90 days. People the requester already shared a round group with are ranked after
comparable newcomers.

The ranker is fitted on the whole organization's profiles and kept in memory (per process).
A fingerprint query (how many participants, the newest `updated_at`, the highest id) tells
when any profile changed; then only the profiles changed since (newer `updated_at` or a new
id) are read and their rows refreshed with the fitted vocabulary and IDF. The whole
organization is refitted when more than 5% of its rows changed since the last full fit, when
that fit is an hour old, or when participant rows were deleted outright. Who may be asked is
read fresh for every search, so a pause, an opt-out or a bounced address counts at once even
when it did not touch `updated_at`. At 10,000 people a full refit costs about 0.2 s of CPU, a
search with the kept or refreshed model 15-40 ms of CPU (bench/introductions.py,
docs/benchmarks.md).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from matching.introductions import (
    IntroductionProfile,
    IntroductionQuery,
    IntroductionRanker,
    RankedCandidate,
)
from service.introductions import REPEAT_ASK_AFTER
from service.models import (
    AvoidEntry,
    IntroductionAsk,
    IntroductionRequest,
    Membership,
    Participant,
)

_PROFILE_COLUMNS = (
    Participant.id,
    Participant.can_teach,
    Participant.specialty,
    Participant.department,
    Participant.site,
    Participant.interests,
    Participant.goals,
)


def _profile(pid: int, can_teach: Any, specialty: Any, department: Any, site: Any,
             interests: Any, goals: Any) -> IntroductionProfile:
    return IntroductionProfile(
        pid,
        tuple(can_teach or ()),
        specialty or "",
        department or "",
        site or "",
        tuple(interests or ()),
        goals or "",
    )


def organization_profiles(session: Session, org_id: int) -> list[IntroductionProfile]:
    """The profile text of everyone in the organization (but the deleted), by id.

    A Core query (not the ORM's): a third of the CPU time at 10,000 rows.
    """
    rows = session.connection().execute(
        select(*_PROFILE_COLUMNS)
        .where(Participant.organization_id == org_id, Participant.status != "deleted")
        .order_by(Participant.id)
    )
    return [_profile(*row) for row in rows]


@dataclass(frozen=True)
class ProfileChanges:
    """Participants changed since a fit: new text to refresh, and who is gone."""

    profiles: list[IntroductionProfile]
    deleted: list[int]
    new_rows: int  # rows with an id above the fitted highest, deleted ones included


def changed_profiles(
    session: Session, org_id: int, *, updated_after: datetime, id_above: int
) -> ProfileChanges:
    """Everyone of the organization edited after ``updated_after`` or added after ``id_above``."""
    rows = session.connection().execute(
        select(*_PROFILE_COLUMNS, Participant.status)
        .where(
            Participant.organization_id == org_id,
            (Participant.updated_at > updated_after) | (Participant.id > id_above),
        )
        .order_by(Participant.id)
    )
    profiles, deleted, new_rows = [], [], 0
    for *row, status in rows:
        new_rows += row[0] > id_above
        if status == "deleted":
            deleted.append(row[0])
        else:
            profiles.append(_profile(*row))
    return ProfileChanges(profiles, deleted, new_rows)


def eligible_ids(session: Session, requester: Participant) -> set[int]:
    """Everyone in the requester's organization who may be asked at all."""
    return set(
        session.connection()
        .execute(
            select(Participant.id).where(
                Participant.organization_id == requester.organization_id,
                Participant.status == "active",
                Participant.accepts_introductions.is_(True),
                Participant.undeliverable.is_(False),
                Participant.id != requester.id,
            )
        )
        .scalars()
    )


def profiles_fingerprint(session: Session, org_id: int) -> tuple[Any, ...]:
    """Changes whenever a participant of the organization is added, removed or edited."""
    row = session.execute(
        select(
            func.count(Participant.id), func.max(Participant.updated_at), func.max(Participant.id)
        ).where(Participant.organization_id == org_id)
    ).one()
    return tuple(row)


@dataclass(frozen=True)
class _Kept:
    fingerprint: tuple[Any, ...]
    ranker: IntroductionRanker
    fitted_at: float  # clock() of the last full fit


class FittedRankers:
    """Fitted rankers per (database, organization), refreshed or refitted as profiles change.

    Parameters
    ----------
    size : int
        How many organizations to keep (least recently used ones go first).
    max_changed_share : float
        Refit the whole organization once more than this share of its rows was refreshed
        since the last full fit: the IDF drifts, and new words stay unsearchable until then.
    max_age : timedelta
        Refit the whole organization when its last full fit is this old.
    late_commit_margin : timedelta
        Profiles edited up to this long before the newest known edit are read again: a
        transaction stamps `updated_at` when it writes but becomes visible when it commits,
        possibly after a later edit was already seen.
    clock : callable
        Seconds, monotonic (for tests).

    Web requests run in a thread pool: the lock guards the dictionary only, so two searches
    of a stale organization may both refresh (harmless) but never block each other's queries.
    A refresh builds a new ranker; searches running on the old one are unaffected.
    """

    def __init__(
        self,
        size: int = 8,
        *,
        max_changed_share: float = 0.05,
        max_age: timedelta = timedelta(hours=1),
        late_commit_margin: timedelta = timedelta(seconds=5),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.max_changed_share = max_changed_share
        self.max_age = max_age
        self.late_commit_margin = late_commit_margin
        self.clock = clock
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, int], _Kept] = OrderedDict()

    def get(self, session: Session, org_id: int) -> IntroductionRanker:
        where = (str(session.get_bind().url), org_id)
        fingerprint = profiles_fingerprint(session, org_id)
        with self._lock:
            kept = self._items.get(where)
            if kept is not None and kept.fingerprint == fingerprint:
                self._items.move_to_end(where)
                return kept.ranker
        ranker = None
        if kept is not None and self.clock() - kept.fitted_at < self.max_age.total_seconds():
            ranker = self._refreshed(session, org_id, kept, fingerprint)
        if ranker is None:
            fitted_at = self.clock()
            ranker = IntroductionRanker().fit(organization_profiles(session, org_id))
        else:
            fitted_at = kept.fitted_at  # type: ignore[union-attr]
        with self._lock:
            self._items[where] = _Kept(fingerprint, ranker, fitted_at)
            self._items.move_to_end(where)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return ranker

    def _refreshed(
        self, session: Session, org_id: int, kept: _Kept, fingerprint: tuple[Any, ...]
    ) -> IntroductionRanker | None:
        """The kept ranker with the changed rows refreshed, or None when a full refit is due."""
        count, newest, highest = kept.fingerprint
        if newest is None or highest is None:
            return None  # fitted on an empty organization: nothing worth keeping
        if fingerprint[1] is None or fingerprint[1] < newest or fingerprint[2] < highest:
            return None  # time or ids went backwards (a restored database): start afresh
        changes = changed_profiles(
            session, org_id, updated_after=newest - self.late_commit_margin, id_above=highest
        )
        if fingerprint[0] != count + changes.new_rows:
            return None  # rows were deleted outright: only a full read says whose
        ranker = kept.ranker
        changed = ranker.n_refreshed_ + len(changes.profiles) + len(changes.deleted)
        if changed > self.max_changed_share * len(ranker.keys_):
            return None
        return ranker.refreshed(changes.profiles, remove=changes.deleted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


fitted_rankers = FittedRankers()


def excluded_ids(
    session: Session, request: IntroductionRequest, requester: Participant, *, now: datetime
) -> set[int]:
    """Never ask: people already asked for this request or by this requester lately, and
    anyone on an avoid list (the requester's, or theirs naming the requester)."""
    asked = session.scalars(
        select(IntroductionAsk.candidate_id)
        .join(IntroductionRequest, IntroductionRequest.id == IntroductionAsk.request_id)
        .where(
            IntroductionRequest.requester_id == requester.id,
            (IntroductionAsk.request_id == request.id)
            | (IntroductionAsk.asked_at > now - REPEAT_ASK_AFTER),
        )
    )
    excluded = set(asked)
    avoided = requester.avoid_emails
    if avoided:
        excluded.update(
            session.scalars(
                select(Participant.id).where(
                    Participant.organization_id == requester.organization_id,
                    Participant.email.in_(avoided),
                )
            )
        )
    theirs = select(AvoidEntry.participant_id).where(AvoidEntry.email == requester.email)
    excluded.update(session.scalars(theirs))
    return excluded


def met_ids(session: Session, requester: Participant) -> set[int]:
    """Everyone who was in a round group with the requester (both still in it)."""
    mine, theirs = aliased(Membership), aliased(Membership)
    return set(
        session.scalars(
            select(theirs.participant_id)
            .join(mine, mine.group_id == theirs.group_id)
            .where(
                mine.participant_id == requester.id,
                mine.status == "invited",
                theirs.status == "invited",
                theirs.participant_id != requester.id,
            )
        )
    )


def query_of(request: IntroductionRequest) -> IntroductionQuery:
    return IntroductionQuery(
        need=request.need,
        skill=request.skill or "",
        specialty=request.specialty or "",
        site=request.site or "",
    )


def rank_candidates(
    session: Session,
    request: IntroductionRequest,
    requester: Participant,
    *,
    now: datetime,
    limit: int | None = 1,
) -> list[RankedCandidate]:
    """The best colleagues to ask next for this request, best first (keys are participant ids)."""
    ranker = fitted_rankers.get(session, requester.organization_id)
    eligible = eligible_ids(session, requester)
    excluded = excluded_ids(session, request, requester, now=now)
    excluded.update(key for key in ranker.keys_ if key not in eligible)
    return ranker.rank(
        query_of(request), exclude=excluded, met=met_ids(session, requester), limit=limit
    )

"""The fitted introduction ranker of each organization, kept in memory and kept current.

A fingerprint query (how many participants, the newest `updated_at`, the highest id) tells
when any profile changed; then only the profiles changed since (newer `updated_at` or a new
id) are read and their rows refreshed with the fitted vocabulary and IDF. The whole
organization is refitted, in a separate process while searches go on with the refreshed
model, when more than 5% of its rows changed since the last full fit, when that fit is an
hour old, or when participant rows were deleted outright. Each web worker fits its biggest
organizations when it starts (`FittedRankers.warm`), so no search waits for a full fit.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from matching.introductions import IntroductionProfile, IntroductionRanker
from service.db import make_engine
from service.models import Participant

log = logging.getLogger(__name__)

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
    background : bool
        Run a due full refit in a separate process (`fit_organization`) while searches
        go on with the kept model, refreshed with the changed rows: no search waits for a
        full fit except an organization's very first one (see `warm`) or one changed beyond
        ``max_stale_share``. Off, the search that finds a refit due does it.
    max_stale_share : float
        Past this share of rows refreshed or deleted since the last full fit (an import, a
        restored database), the kept vocabulary and IDF no longer describe the organization:
        the search that finds it refits at once rather than rank with them.
    clock : callable
        Seconds, monotonic (for tests).

    Web requests run in a thread pool: the lock guards the dictionaries only, so two
    searches of a stale organization may both refresh (harmless) but never block each
    other's queries. A refresh or refit builds a new ranker; searches running on the old one
    are unaffected. Who may be asked is read fresh for every search, so a kept model that is
    a little behind never offers someone who left, paused or opted out.
    """

    def __init__(
        self,
        size: int = 8,
        *,
        max_changed_share: float = 0.05,
        max_age: timedelta = timedelta(hours=1),
        late_commit_margin: timedelta = timedelta(seconds=5),
        background: bool = True,
        max_stale_share: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.max_changed_share = max_changed_share
        self.max_age = max_age
        self.late_commit_margin = late_commit_margin
        self.background = background
        self.max_stale_share = max_stale_share
        self.clock = clock
        self._lock = threading.Condition()
        self._items: OrderedDict[tuple[str, int], _Kept] = OrderedDict()
        self._refitting: set[tuple[str, int]] = set()

    def get(self, session: Session, org_id: int) -> IntroductionRanker:
        """The organization's ranker, current with every committed profile edit except, while
        a background refit runs, words nobody in the organization used at the last full fit."""
        where = (str(session.get_bind().url), org_id)
        fingerprint = profiles_fingerprint(session, org_id)
        with self._lock:
            # An organization's first fit may already be running (warm-up, or another
            # search): wait for it rather than fitting twice.
            while where not in self._items and where in self._refitting:
                self._lock.wait()
            kept = self._items.get(where)
            if kept is not None and kept.fingerprint == fingerprint:
                self._items.move_to_end(where)
                return kept.ranker
        if kept is None or kept.fingerprint[1] is None:
            # Nothing kept (or fitted on an empty organization): a full fit, here and now.
            return self._fit_and_keep(session, org_id, where, fingerprint)
        refreshed = self._refreshed(session, org_id, kept, fingerprint)
        if refreshed is None:
            return self._fit_and_keep(session, org_id, where, fingerprint)
        ranker, refit_due = refreshed
        if refit_due and not self._start_background_refit(session, org_id, where):
            return self._fit_and_keep(session, org_id, where, fingerprint)
        self._keep(where, _Kept(fingerprint, ranker, kept.fitted_at))
        return ranker

    def _keep(self, where: tuple[str, int], kept: _Kept) -> None:
        with self._lock:
            self._items[where] = kept
            self._items.move_to_end(where)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def _fit_and_keep(
        self, session: Session, org_id: int, where: tuple[str, int],
        fingerprint: tuple[Any, ...] | None = None,
    ) -> IntroductionRanker:
        # The fingerprint is read before the profiles: an edit committed in between makes
        # the next search refresh it again, never miss it.
        if fingerprint is None:
            fingerprint = profiles_fingerprint(session, org_id)
        fitted_at = self.clock()
        ranker = IntroductionRanker().fit(organization_profiles(session, org_id))
        self._keep(where, _Kept(fingerprint, ranker, fitted_at))
        return ranker

    def _refreshed(
        self, session: Session, org_id: int, kept: _Kept, fingerprint: tuple[Any, ...]
    ) -> tuple[IntroductionRanker, bool] | None:
        """The kept ranker with the changed rows refreshed and whether a full refit is due, or
        None when it changed too much to rank with at all."""
        count, newest, highest = kept.fingerprint
        if fingerprint[1] is None or fingerprint[1] < newest or fingerprint[2] < highest:
            return None  # time or ids went backwards (a restored database): start afresh
        changes = changed_profiles(
            session, org_id, updated_after=newest - self.late_commit_margin, id_above=highest
        )
        deleted_outright = count + changes.new_rows - fingerprint[0]
        fitted_rows = max(len(kept.ranker.keys_), 1)
        changed = kept.ranker.n_refreshed_ + len(changes.profiles) + len(changes.deleted)
        if changed + deleted_outright > self.max_stale_share * fitted_rows:
            return None
        refit_due = (
            deleted_outright != 0  # only a full read says whose rows they were
            or changed > self.max_changed_share * fitted_rows
            or self.clock() - kept.fitted_at >= self.max_age.total_seconds()
        )
        return kept.ranker.refreshed(changes.profiles, remove=changes.deleted), refit_due

    def _start_background_refit(self, session: Session, org_id: int,
                                where: tuple[str, int]) -> bool:
        """Refit in a process of its own; False when it cannot (then the caller refits).

        A process, not a thread: a fit is mostly Python, and in a thread it would hold the
        interpreter lock the searches of this worker need (a search during a threaded refit
        took twice as long, bench/introductions.py)."""
        engine = session.get_bind()
        if not self.background or not isinstance(engine, Engine):
            return False
        with self._lock:
            if where in self._refitting:
                return True
            self._refitting.add(where)
        fitted_at = self.clock()
        url = engine.url.render_as_string(hide_password=False)
        threading.Thread(
            target=self._refit, args=(url, org_id, where, fitted_at), daemon=True,
            name=f"introductions-refit-{org_id}",
        ).start()
        return True

    def _refit(self, url: str, org_id: int, where: tuple[str, int], fitted_at: float) -> None:
        """Wait (in a thread that only waits) for a refit process and keep its model."""
        try:
            fingerprint, ranker = fit_in_process(url, org_id)
        except Exception:
            # The kept model goes on serving; the next search that finds the refit due
            # tries again.
            log.exception("introductions: refitting organization %s failed", org_id)
        else:
            self._keep(where, _Kept(fingerprint, ranker, fitted_at))
        finally:
            self._refit_finished(where)

    def _refit_finished(self, where: tuple[str, int]) -> None:
        with self._lock:
            self._refitting.discard(where)
            self._lock.notify_all()

    def warm(self, engine: Engine, *, limit: int | None = None) -> int:
        """Fit the organizations with the most participants now, so that no search of this
        process waits for a full fit (called at web-worker start). Returns how many."""
        limit = self.size if limit is None else limit
        with Session(engine) as session:
            org_ids = session.scalars(
                select(Participant.organization_id)
                .where(Participant.status != "deleted")
                .group_by(Participant.organization_id)
                .order_by(func.count().desc(), Participant.organization_id)
                .limit(limit)
            ).all()
            url = str(engine.url)
            for org_id in org_ids:
                where = (url, org_id)
                with self._lock:
                    if where in self._refitting:
                        continue
                    self._refitting.add(where)
                try:
                    self._fit_and_keep(session, org_id, where)
                finally:
                    self._refit_finished(where)
        return len(org_ids)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no background refit runs (tests, benchmarks); False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._refitting, timeout)

    def clear(self) -> None:
        self.wait()
        with self._lock:
            self._items.clear()


fitted_rankers = FittedRankers()


def fit_organization(url: str, org_id: int) -> tuple[tuple[Any, ...], IntroductionRanker]:
    """(fingerprint, fitted ranker) of one organization: what a refit process runs."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            # The fingerprint is read before the profiles: an edit committed in between
            # makes the next search refresh it again, never miss it.
            fingerprint = profiles_fingerprint(session, org_id)
            return fingerprint, IntroductionRanker().fit(organization_profiles(session, org_id))
    finally:
        engine.dispose()


REFIT_TIMEOUT_SECONDS = 600


def fit_in_process(url: str, org_id: int) -> tuple[tuple[Any, ...], IntroductionRanker]:
    """`fit_organization` in a new process that exits when done ("spawn": never a fork of a
    web worker with its threads and connections; no idle process holds memory between the
    at most hourly refits)."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_fit_and_send, args=(url, org_id, sender), daemon=True,
                              name=f"coffeerounds-introductions-refit-{org_id}")
    process.start()
    sender.close()  # ours: only the child's end stays open, so its death reads as EOF
    try:
        if not receiver.poll(REFIT_TIMEOUT_SECONDS):  # a database that hangs
            process.terminate()
            raise RuntimeError(f"the refit process took over {REFIT_TIMEOUT_SECONDS} s")
        outcome, value = receiver.recv()
    except EOFError:
        raise RuntimeError(f"the refit process died (exit code {process.exitcode})") from None
    finally:
        receiver.close()
        process.join(timeout=60)
    if outcome == "error":
        raise RuntimeError(f"the refit process failed: {value}")
    return value  # type: ignore[no-any-return]


def _fit_and_send(url: str, org_id: int, sender: Connection) -> None:
    try:
        result: tuple[str, Any] = ("fitted", fit_organization(url, org_id))
    except Exception as error:  # reported to the web worker, which logs it
        result = ("error", f"{type(error).__name__}: {error}")
    sender.send(result)
    sender.close()

"""Plain data types for the product matcher: people, topics, past groups and weights.

All types are frozen dataclasses that validate themselves on construction, so a bad row fails
with a message naming the field instead of a traceback from deep inside NumPy later on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "MENTORING_CHOICES",
    "ROLES",
    "SENIOR_ROLES",
    "TRAINEE_ROLES",
    "MatchWeights",
    "PastGroup",
    "Person",
    "Topic",
]

ROLES = frozenset({"attending", "fellow", "resident", "student", "nurse", "np_pa", "other"})
SENIOR_ROLES = frozenset({"attending", "np_pa"})
TRAINEE_ROLES = frozenset({"resident", "fellow", "student"})
MENTORING_CHOICES = frozenset({"offer", "seek", "both", "none"})
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_WINDOW_RE = re.compile(r"^([A-Za-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """Return the ``ZoneInfo`` for an IANA name, raising ``ValueError`` when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {name!r} (expected an IANA name such as "
                         "'America/New_York')") from exc


def check_month(month: str) -> str:
    """Validate a ``YYYY-MM`` month string and return it."""
    if not isinstance(month, str) or not _MONTH_RE.match(month):
        raise ValueError(f"month must look like 'YYYY-MM', got {month!r}")
    return month


def _as_str_tuple(value: object, field_name: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items: Iterable[object] = [v for v in value.split(";")]
    elif isinstance(value, Iterable):
        items = value
    else:
        raise TypeError(f"Person {key!r}: {field_name} must be a tuple of strings")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"Person {key!r}: {field_name} must contain strings, got {item!r}")
        if item.strip():
            out.append(item.strip())
    return tuple(out)


def _check_window(window: object, key: str) -> tuple[int, int, int]:
    if not isinstance(window, tuple | list) or len(window) != 3:
        raise ValueError(f"Person {key!r}: availability window {window!r} must be a tuple "
                         "(weekday 0-6, start_minute, end_minute)")
    weekday, start, end = window
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in window):
        raise ValueError(f"Person {key!r}: availability window {window!r} must hold integers")
    if not 0 <= weekday <= 6:
        raise ValueError(f"Person {key!r}: availability weekday {weekday} not in 0 (Mon)..6 (Sun)")
    if not 0 <= start < 1440:
        raise ValueError(f"Person {key!r}: availability start {start} not in 0..1439 minutes")
    if not start < end <= 2880:
        raise ValueError(f"Person {key!r}: availability window {window!r} needs "
                         "start_minute < end_minute <= 2880")
    return (weekday, start, end)


@dataclass(frozen=True)
class Person:
    """One participant of a round.

    Parameters
    ----------
    key : str
        Normalized email; unique within a cohort.
    name : str
        Display name used in explanations.
    role : str
        One of ``attending, fellow, resident, student, nurse, np_pa, other``.
    interests, can_teach, wants_to_learn : tuple of str
        Free-text phrases (a ``;``-separated string is accepted too).
    goals : str
        Free text about what the person hopes to get out of the chats.
    mentoring : str
        ``offer``, ``seek``, ``both`` or ``none``.
    timezone : str
        IANA time zone of the availability windows.
    availability : tuple of (weekday, start_minute, end_minute)
        Weekly windows in local time; weekday 0 = Monday; ``end_minute`` up to 2880 for
        windows running past midnight.
    avoid : frozenset of str
        Keys never to be grouped with (either direction).
    priority : bool
        True when the person was not placed last month; such people are placed first.
    """

    key: str
    name: str
    role: str
    specialty: str = ""
    department: str = ""
    site: str = ""
    interests: tuple[str, ...] = ()
    goals: str = ""
    mentoring: str = "none"
    can_teach: tuple[str, ...] = ()
    wants_to_learn: tuple[str, ...] = ()
    timezone: str = "UTC"
    availability: tuple[tuple[int, int, int], ...] = ()
    avoid: frozenset[str] = field(default_factory=frozenset)
    priority: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key.strip():
            raise ValueError(f"Person key must be a non-empty string, got {self.key!r}")
        key = self.key
        if not isinstance(self.name, str):
            raise TypeError(f"Person {key!r}: name must be a string")
        role = str(self.role).strip().lower()
        if role not in ROLES:
            raise ValueError(f"Person {key!r}: role {self.role!r} is not one of {sorted(ROLES)}")
        mentoring = str(self.mentoring).strip().lower() or "none"
        if mentoring not in MENTORING_CHOICES:
            raise ValueError(f"Person {key!r}: mentoring {self.mentoring!r} is not one of "
                             f"{sorted(MENTORING_CHOICES)}")
        for text_field in ("specialty", "department", "site", "goals"):
            if not isinstance(getattr(self, text_field), str):
                raise TypeError(f"Person {key!r}: {text_field} must be a string")
        zone(self.timezone)
        windows = self.availability
        if not isinstance(windows, Iterable) or isinstance(windows, str):
            raise ValueError(f"Person {key!r}: availability must be a tuple of windows")
        avoid = self.avoid
        if isinstance(avoid, str):
            avoid = [avoid]
        set_ = object.__setattr__
        set_(self, "role", role)
        set_(self, "mentoring", mentoring)
        set_(self, "interests", _as_str_tuple(self.interests, "interests", key))
        set_(self, "can_teach", _as_str_tuple(self.can_teach, "can_teach", key))
        set_(self, "wants_to_learn", _as_str_tuple(self.wants_to_learn, "wants_to_learn", key))
        set_(self, "availability", tuple(_check_window(w, key) for w in windows))
        set_(self, "avoid", frozenset(str(a).strip() for a in avoid if str(a).strip()))
        set_(self, "priority", bool(self.priority))

    @property
    def is_senior(self) -> bool:
        """Attendings and NPs/PAs."""
        return self.role in SENIOR_ROLES

    @property
    def is_trainee(self) -> bool:
        """Residents, fellows and students."""
        return self.role in TRAINEE_ROLES

    @classmethod
    def from_row(cls, row: Mapping[str, str], *, priority: bool = False) -> Person:
        """Build a person from one row of the CSV import format.

        ``availability`` looks like ``"Mon 12:00-13:00; Tue 23:00-01:00"`` (a window whose end
        is before its start runs past midnight); list fields are ``;``-separated.
        """
        key = str(row.get("email", "")).strip().lower()
        return cls(
            key=key,
            name=str(row.get("full_name", "")).strip(),
            role=str(row.get("role", "")).strip(),
            specialty=str(row.get("specialty", "")).strip(),
            department=str(row.get("department", "")).strip(),
            site=str(row.get("site", "")).strip(),
            interests=str(row.get("interests", "")),
            goals=str(row.get("goals", "")).strip(),
            mentoring=str(row.get("mentoring", "none")).strip() or "none",
            can_teach=str(row.get("can_teach", "")),
            wants_to_learn=str(row.get("wants_to_learn", "")),
            timezone=str(row.get("timezone", "")).strip() or "UTC",
            availability=parse_availability(str(row.get("availability", "")), key=key),
            avoid=frozenset(a.strip().lower() for a in str(row.get("avoid", "")).split(";")
                            if a.strip()),
            priority=priority,
        )


def parse_availability(text: str, *, key: str = "?") -> tuple[tuple[int, int, int], ...]:
    """Parse ``"Mon 12:00-13:00; Thu 07:00-07:30"`` into ``(weekday, start, end)`` minutes."""
    windows = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        match = _WINDOW_RE.match(part)
        if not match or match.group(1).lower() not in _WEEKDAYS:
            raise ValueError(f"Person {key!r}: availability {part!r} is not like 'Mon 12:00-13:00'")
        day = _WEEKDAYS.index(match.group(1).lower())
        h1, m1, h2, m2 = (int(match.group(i)) for i in range(2, 6))
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"Person {key!r}: availability {part!r} has an invalid time")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            end += 1440
        windows.append((day, start, end))
    return tuple(windows)


@dataclass(frozen=True)
class Topic:
    """A conversation topic from an organization's catalog."""

    key: str
    title: str
    description: str = ""
    starters: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ValueError(f"Topic key must be a non-empty string, got {self.key!r}")
        object.__setattr__(self, "starters", tuple(self.starters))
        object.__setattr__(self, "tags", tuple(self.tags))


@dataclass(frozen=True)
class PastGroup:
    """A group from an earlier round (``month`` is ``YYYY-MM``)."""

    month: str
    members: tuple[str, ...]
    topic_key: str | None = None

    def __post_init__(self) -> None:
        check_month(self.month)
        if isinstance(self.members, str):
            raise TypeError("PastGroup members must be a tuple of keys, not a string")
        object.__setattr__(self, "members", tuple(str(m).strip() for m in self.members))


@dataclass(frozen=True)
class MatchWeights:
    """Per-organization weights of the pairwise affinity.

    Defaults put shared interests first, then teaching/learning complementarity, a senior-trainee
    mix and reach across departments. ``no_common_time`` is subtracted for a pair with no common
    30-minute window (whole groups are also checked and repaired after optimization).

    Parameters
    ----------
    interests : float, default=1.0
        Times the TF-IDF cosine similarity of interests and goals, divided by the cohort's
        typical good-match similarity (mean 3rd-best cosine among the partners one shares a
        30-minute window with), so 1.0 means "a good match one can meet".
    teaching : float, default=0.5
        Per can-teach/wants-to-learn match (either direction, at most 2 counted per pair).
    mentoring : float, default=0.5
        A mentor who offers with a mentee who seeks.
    seniority_mix : float, default=0.6
        A senior (attending, NP/PA) with a trainee (resident, fellow, student); two seniors
        or two trainees together cost half of it, so they spread over the groups.
    cross_department : float, default=0.3
        Different departments (plus half of it again for different specialties).
    no_common_time : float, default=1.5
        Penalty for a pair that shares no 30-minute weekly window, plus up to the same again
        as a bonus for pairs whose free slots coincide (cosine of meeting-start vectors).
        Whole groups are checked and repaired after optimization.
    """

    interests: float = 1.0
    teaching: float = 0.5
    mentoring: float = 0.5
    seniority_mix: float = 0.6
    cross_department: float = 0.3
    no_common_time: float = 1.5

    def __post_init__(self) -> None:
        for name in ("interests", "teaching", "mentoring", "seniority_mix", "cross_department",
                     "no_common_time"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value != value or value < 0:
                raise ValueError(f"MatchWeights.{name} must be a non-negative number, "
                                 f"got {value!r}")

    @classmethod
    def equal(cls) -> MatchWeights:
        """All affinity terms off: only hard rules (and common time) matter."""
        return cls(interests=0.0, teaching=0.0, mentoring=0.0, seniority_mix=0.0,
                   cross_department=0.0, no_common_time=0.0)

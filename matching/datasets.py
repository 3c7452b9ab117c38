"""Synthetic hospital cohorts for the demo and the matching benchmarks, and the default topics.

The cohort generator aims at the shape of a real multi-site health system rather than uniform
noise, because the matcher's quality is only meaningful on realistic data: a skewed role and
department mix, interests that cluster by specialty, seniors who teach and trainees who learn,
and availability driven by shift patterns (day clinicians at lunch, residents early and late,
12-hour nurses on their days off, night staff around midnight). All randomness comes from one
NumPy Generator seeded by ``random_state`` and is drawn in bulk, so 20,000 rows take well under
a second. The vocabularies and tables live in the second half of this module.
"""

from __future__ import annotations

import bisect
import json
import math
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from matching._cohort_tables import (  # noqa: F401 - public names re-exported
    _CAREER_NEXT,
    _DAY_SETS,
    _DAYS,
    _EMAIL_FOLD,
    _EUROPE_SHARE,
    _EUROPE_TIMEZONES,
    _FAMILY_INTERESTS,
    _GOAL_MIX_CUMULATIVE,
    _GOAL_TEMPLATES,
    _HARD_PART,
    _HOBBIES,
    _INITIALS,
    _INTEREST_INDEX,
    _LEARN_COUNT_P,
    _MENTORING_P,
    _NAME_GROUP_P,
    _NAME_GROUPS,
    _NIGHT_WEIGHT,
    _PATTERNS,
    _ROLE_INTERESTS,
    _SENIORITY,
    _SITE_TABLE,
    _SKILL_BOOSTS,
    _TEACH_COUNT_P,
    _UNITS,
    _UNITS_BY_ROLE,
    _US_TIMEZONES,
    _WEEK,
    _WEEKDAY_WEIGHT,
    _WORKFLOW,
    INTEREST_VOCABULARY,
    ROLE_SHARES,
    SITES,
    SKILL_VOCABULARY,
)

if TYPE_CHECKING:
    from ._people import Topic

__all__ = [
    "CSV_COLUMNS",
    "INTEREST_VOCABULARY",
    "SITES",
    "SKILL_VOCABULARY",
    "cohort_summary",
    "default_topics",
    "make_hospital_cohort",
]

CSV_COLUMNS = ("email", "full_name", "role", "specialty", "department", "site", "interests",
               "goals", "mentoring", "can_teach", "wants_to_learn", "timezone", "availability",
               "avoid")


def make_hospital_cohort(n_people: int, *, random_state: int | np.random.Generator | None = 0,
                         n_sites: int = 3, organization_domain: str = "demo.example",
                         night_shift_share: float = 0.12,
                         timezones: Mapping[str, float] | None = None) -> list[dict[str, str]]:
    """Generate a realistic synthetic hospital cohort in the CSV import format.

    Parameters
    ----------
    n_people : int
        Number of rows (0 gives an empty list).
    random_state : int, numpy Generator or None, default=0
        Seed; the same integer always gives the same cohort.
    n_sites : int, default=3
        Use the first ``n_sites`` of :data:`SITES` ("Main Campus", "North Hospital",
        "Riverside Clinic", ...). Inpatient units are only placed at hospital sites.
    organization_domain : str, default="demo.example"
        Email domain. Emails are ``firstname.lastname@domain`` in lowercase ASCII, with 2, 3,
        ... appended to repeated names.
    night_shift_share : float, default=0.12
        Share of the cohort on night shift (mostly nurses, residents, emergency and ICU staff);
        their windows sit around midnight (``Tue 23:00-01:00``) or right after the shift.
    timezones : mapping of IANA name to weight, optional
        Time-zone distribution for everyone. The heaviest zone is the organization's own;
        people in a zone at least four hours away get evening-local "remote" windows that
        overlap the organization's working day. By default about 80% America/New_York, the
        rest in Chicago, Denver and Los Angeles, plus a few visiting faculty in Europe.

    Returns
    -------
    list of dict
        One dict per person with the keys of :data:`CSV_COLUMNS`, in that order.

    Examples
    --------
    >>> rows = make_hospital_cohort(3, random_state=1)
    >>> list(rows[0]) == list(CSV_COLUMNS)
    True
    """
    n = _check_arguments(n_people, n_sites, organization_domain, night_shift_share)
    zone_weights = None if timezones is None else _check_timezones(timezones)
    rng = random_state if isinstance(random_state, np.random.Generator) \
        else np.random.default_rng(random_state)
    if n == 0:
        return []
    roles = _allocate_roles(n, rng)
    unit_idx = _assign_units(roles, rng)
    units = [_UNITS[k] for k in unit_idx]
    family = np.array([u.family for u in units], dtype=object)
    pattern = np.array([u.pattern for u in units], dtype=object)
    site = _assign_sites(np.array([u.inpatient for u in units]), n_sites, rng)
    zones, remote = _assign_timezones(roles, zone_weights, rng)
    pattern = _assign_night_shift(roles, family, np.where(remote, "remote", pattern),
                                  night_shift_share, rng)
    full_names, emails = _make_names(n, organization_domain.lower(), rng)
    interests = _interests(roles, family, rng)
    mentoring = _draw_by_role(roles, _MENTORING_P, rng)
    teach, learn = _skills(roles, rng)
    availability = _availability(pattern, rng)
    avoid = _avoid_lists(roles, [u.department for u in units], emails, rng)
    goal_u = rng.random((n, 3)).tolist()
    rows = []
    for i, unit in enumerate(units):
        specialty = "Medical Student" if roles[i] == "student" else unit.specialty
        goals = _goal(roles[i], mentoring[i], unit.department, site[i], pattern[i],
                      interests[i], teach[i], learn[i], goal_u[i])
        rows.append({
            "email": emails[i], "full_name": full_names[i], "role": roles[i],
            "specialty": specialty, "department": unit.department, "site": site[i],
            "interests": "; ".join(interests[i]), "goals": goals, "mentoring": mentoring[i],
            "can_teach": "; ".join(teach[i]), "wants_to_learn": "; ".join(learn[i]),
            "timezone": zones[i], "availability": availability[i], "avoid": avoid[i],
        })
    return rows


def cohort_summary(rows: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """Count a cohort by role, mentoring, department, site and time zone (most common first)."""
    summary: dict[str, Any] = {"n_people": len(rows)}
    for column in ("role", "mentoring", "department", "site", "timezone"):
        summary[column] = dict(Counter(str(r.get(column, "")) for r in rows).most_common())
    windows = [sum(1 for w in str(r.get("availability", "")).split(";") if w.strip())
               for r in rows]
    summary["mean_windows_per_person"] = round(float(np.mean(windows)), 2) if rows else 0.0
    summary["people_with_avoid"] = sum(1 for r in rows if str(r.get("avoid", "")).strip())
    return summary


def default_topics() -> list[Topic]:
    """The default topic catalog (``matching/data/topics.json``) as ``Topic`` objects."""
    return list(_load_topics())


@lru_cache(maxsize=1)
def _load_topics() -> tuple[Topic, ...]:
    from ._people import Topic

    text = resources.files("matching").joinpath("data/topics.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    entries = raw.get("topics") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ValueError("matching/data/topics.json must hold {'topics': [...]}")
    topics = []
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"topics.json entry {k}: expected an object, got {entry!r}")
        missing = {"key", "title", "description", "starters", "tags"} - set(entry)
        if missing:
            raise ValueError(f"topics.json entry {k}: missing fields {sorted(missing)}")
        topics.append(Topic(key=entry["key"], title=entry["title"],
                            description=entry["description"], starters=tuple(entry["starters"]),
                            tags=tuple(entry["tags"])))
    return tuple(topics)


# --- validation ---------------------------------------------------------------------------------

def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _check_arguments(n_people: object, n_sites: object, domain: object, night: object) -> int:
    if not _is_int(n_people):
        raise TypeError(f"n_people must be an integer, got {n_people!r}")
    if n_people < 0:  # type: ignore[operator]
        raise ValueError(f"n_people must be >= 0, got {n_people}")
    if not _is_int(n_sites) or not 1 <= n_sites <= len(SITES):  # type: ignore[operator]
        raise ValueError(f"n_sites must be an integer in 1..{len(SITES)}, got {n_sites!r}")
    if not isinstance(domain, str) or not domain.isascii() or "." not in domain.strip(".") \
            or any(c in domain for c in " @;,/") or domain != domain.strip("."):
        raise ValueError("organization_domain must be an ASCII domain like 'demo.example', "
                         f"got {domain!r}")
    if isinstance(night, bool) or not isinstance(night, int | float) or not 0 <= night <= 1:
        raise ValueError(f"night_shift_share must be a number in [0, 1], got {night!r}")
    return int(n_people)  # type: ignore[call-overload]


def _check_timezones(timezones: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(timezones, Mapping) or not timezones:
        raise ValueError("timezones must be a non-empty mapping of IANA name to weight")
    checked = {}
    for name, weight in timezones.items():
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"timezones: unknown IANA time zone {name!r}") from exc
        if isinstance(weight, bool) or not isinstance(weight, int | float) \
                or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"timezones: weight of {name!r} must be a finite number >= 0, "
                             f"got {weight!r}")
        checked[name] = float(weight)
    if sum(checked.values()) <= 0:
        raise ValueError("timezones: at least one weight must be positive")
    return checked


# --- who is who ---------------------------------------------------------------------------------

def _choice(options: Sequence[Any], weights: Sequence[float], size: int,
            rng: np.random.Generator) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    picks = rng.choice(len(options), size=size, p=p / p.sum())
    return np.array(list(options), dtype=object)[picks] if size else np.array([], dtype=object)


def _allocate_roles(n: int, rng: np.random.Generator) -> np.ndarray:
    """Exact role quotas (largest remainder), shuffled, so even a small demo has every role."""
    names = list(ROLE_SHARES)
    raw = np.array(list(ROLE_SHARES.values())) * n
    counts = np.floor(raw).astype(int)
    order = np.lexsort((rng.random(len(names)), -(raw - counts)))
    counts[order[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.array(names, dtype=object), counts))


def _assign_units(roles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    unit = np.zeros(len(roles), dtype=int)
    for role, (indices, weights) in _UNITS_BY_ROLE.items():
        rows = np.flatnonzero(roles == role)
        unit[rows] = _choice(indices, weights, rows.size, rng)
    return unit


def _assign_sites(inpatient: np.ndarray, n_sites: int, rng: np.random.Generator) -> np.ndarray:
    names = [name for name, _, _ in _SITE_TABLE[:n_sites]]
    weights = np.array([w for _, _, w in _SITE_TABLE[:n_sites]])
    hospital = weights * np.array([kind == "hospital" for _, kind, _ in _SITE_TABLE[:n_sites]])
    site = np.empty(len(inpatient), dtype=object)
    site[~inpatient] = _choice(names, weights, int((~inpatient).sum()), rng)
    site[inpatient] = _choice(names, hospital if hospital.sum() else weights,
                              int(inpatient.sum()), rng)
    return site


def _utc_offset_hours(name: str) -> float:
    offset = datetime(2026, 1, 15, 12, tzinfo=ZoneInfo(name)).utcoffset()
    return offset.total_seconds() / 3600 if offset is not None else 0.0


def _assign_timezones(roles: np.ndarray, weights: dict[str, float] | None,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = len(roles)
    zone_weights = dict(_US_TIMEZONES) if weights is None else weights
    zones = _choice(list(zone_weights), list(zone_weights.values()), n, rng)
    if weights is None:
        # Visiting and remote faculty are the ones who sit in Europe.
        faculty = np.isin(roles, ("attending", "fellow")) & (rng.random(n) < _EUROPE_SHARE)
        zones[faculty] = _choice(list(_EUROPE_TIMEZONES), list(_EUROPE_TIMEZONES.values()),
                                 int(faculty.sum()), rng)
    home = _utc_offset_hours(max(zone_weights, key=zone_weights.__getitem__))
    far = [z for z in set(zones) if abs(_utc_offset_hours(z) - home) >= 4]
    return zones, np.isin(zones, far)


def _assign_night_shift(roles: np.ndarray, family: np.ndarray, pattern: np.ndarray,
                        share: float, rng: np.random.Generator) -> np.ndarray:
    """Put ``share`` of the cohort on nights, weighted to the roles that really work nights."""
    n_night = int(round(share * len(roles)))
    weight = np.array([_NIGHT_WEIGHT[r] for r in roles])
    weight *= np.where(np.isin(family, ("emergency", "critical")), 3.0, 1.0)
    weight *= np.where(pattern == "remote", 0.01, 1.0)
    weight *= np.where(pattern == "day_only", 0.02, 1.0)
    # Efraimidis-Spirakis keys: weighted sampling without replacement in one vectorized step.
    keys = np.log(rng.random(len(roles))) / weight
    pattern = np.where(pattern == "day_only", "day", pattern).astype(object)
    pattern[np.argsort(-keys)[:n_night]] = "night"
    return pattern


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower().translate(_EMAIL_FOLD))
    return "".join(c for c in folded if c.isascii() and (c.isalnum() or c == "-"))


def _make_names(n: int, domain: str, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    group_idx = rng.choice(len(_NAME_GROUPS), size=n, p=_NAME_GROUP_P)
    # Some family names come from another background (marriage, adoption, heritage).
    family_idx = np.where(rng.random(n) < 0.12, rng.choice(len(_NAME_GROUPS), size=n,
                                                            p=_NAME_GROUP_P), group_idx)
    u = rng.random((4, n))
    slug = lru_cache(maxsize=None)(_ascii_slug)
    seen: Counter[str] = Counter()
    full_names, emails = [], []
    for i in range(n):
        _, family_first, firsts, _, middles = _NAME_GROUPS[group_idx[i]]
        lasts = _NAME_GROUPS[group_idx[i] if family_first else family_idx[i]][3]
        first = firsts[int(u[0, i] * len(firsts))]
        last = lasts[int(u[1, i] * len(lasts))]
        if family_first:
            full_names.append(f"{last} {middles[int(u[2, i] * len(middles))]} {first}")
        elif u[3, i] < 0.3:
            # Many clinicians go by a middle initial on rosters and badges.
            full_names.append(f"{first} {_INITIALS[int(u[2, i] * len(_INITIALS))]}. {last}")
        else:
            full_names.append(f"{first} {last}")
        base = f"{slug(first)}.{slug(last)}"
        seen[base] += 1
        emails.append(f"{base}{seen[base] if seen[base] > 1 else ''}@{domain}")
    return full_names, emails


# --- interests, mentoring, skills ---------------------------------------------------------------

def _gumbel_order(log_weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row, indices in the order of a weighted draw without replacement (Gumbel top-k)."""
    return np.argsort(-(log_weights + rng.gumbel(size=log_weights.shape)), axis=1)


def _interests(roles: np.ndarray, family: np.ndarray,
               rng: np.random.Generator) -> list[list[str]]:
    """2-6 interests each: Zipf-like popularity times role and specialty affinity."""
    combos = [f"{r}|{f}" for r, f in zip(roles, family, strict=True)]
    unique, inverse = np.unique(np.array(combos), return_inverse=True)
    table = np.stack([_interest_log_weights(*c.split("|")) for c in unique])
    order = _gumbel_order(table[inverse], rng)
    counts = rng.choice(np.arange(2, 7), size=len(roles), p=[0.2, 0.3, 0.25, 0.15, 0.1])
    return [[INTEREST_VOCABULARY[j] for j in order[i, :counts[i]]] for i in range(len(roles))]


def _interest_log_weights(role: str, family: str) -> np.ndarray:
    weights = 1.0 / np.arange(2, len(INTEREST_VOCABULARY) + 2) ** 0.9
    for boosts in (_FAMILY_INTERESTS.get(family, {}), _ROLE_INTERESTS.get(role, {})):
        for phrase, factor in boosts.items():
            # The exponent makes specialty clusters visible against the popularity curve.
            weights[_INTEREST_INDEX[phrase]] *= factor ** 1.6
    return np.log(weights)


def _draw_by_role(roles: np.ndarray, table: Mapping[str, Sequence[float]],
                  rng: np.random.Generator, options: Sequence[Any] = ("offer", "seek", "both",
                                                                      "none")) -> np.ndarray:
    out = np.empty(len(roles), dtype=object)
    for role, probs in table.items():
        rows = np.flatnonzero(roles == role)
        out[rows] = _choice(options, probs, rows.size, rng)
    return out


def _skill_log_weights(role: str, direction: str) -> np.ndarray:
    weights = np.ones(len(SKILL_VOCABULARY))
    for phrase, factor in _SKILL_BOOSTS[direction].get(role, {}).items():
        weights[SKILL_VOCABULARY.index(phrase)] *= factor
    return np.log(weights)


def _skills(roles: np.ndarray, rng: np.random.Generator) -> tuple[list[list[str]], ...]:
    """0-3 skills to teach and 0-3 to learn; seniors mostly teach, trainees mostly learn."""
    n = len(roles)
    n_teach = _draw_by_role(roles, _TEACH_COUNT_P, rng, range(4)).astype(int)
    n_learn = _draw_by_role(roles, _LEARN_COUNT_P, rng, range(4)).astype(int)
    role_names = list(ROLE_SHARES)
    role_idx = np.array([role_names.index(r) for r in roles])
    teach_w = np.stack([_skill_log_weights(r, "teach") for r in role_names])[role_idx]
    learn_w = np.stack([_skill_log_weights(r, "learn") for r in role_names])[role_idx]
    teach_order = _gumbel_order(teach_w, rng)
    taught = np.zeros_like(learn_w, dtype=bool)
    for k in range(3):
        rows = np.flatnonzero(n_teach > k)
        taught[rows, teach_order[rows, k]] = True
    # Nobody asks to learn what they already offer to teach.
    learn_order = _gumbel_order(np.where(taught, -np.inf, learn_w), rng)
    teach = [[SKILL_VOCABULARY[j] for j in teach_order[i, :n_teach[i]]] for i in range(n)]
    learn = [[SKILL_VOCABULARY[j] for j in learn_order[i, :n_learn[i]]] for i in range(n)]
    return teach, learn


def _goal(role: str, mentoring: str, department: str, site: str, pattern: str,
          interests: list[str], teach: list[str], learn: list[str], u: list[float]) -> str:
    """One sentence from templates that fit the person (no template needs a missing field)."""
    hobbies = [i for i in interests if i in _HOBBIES]
    short = department.removeprefix("Department of ")
    if short.endswith(("Center", "Department", "ICU", "Unit", "Pool", "Lab", "PACU")):
        short = "the " + short
    fields = {"career": _pick(_CAREER_NEXT[role], u[1]), "short": short, "site": site,
              "interest": interests[0], "hobby": hobbies[0] if hobbies else "",
              "teach": teach[0] if teach else "", "learn": learn[0] if learn else "",
              "workflow": _pick(_WORKFLOW[role], u[1]),
              "hard": _HARD_PART.get(pattern, "a busy week") if role != "fellow"
              else "fellowship"}
    kinds, cumulative = _GOAL_MIX_CUMULATIVE[mentoring]
    kind = kinds[min(bisect.bisect_right(cumulative, u[0]), len(kinds) - 1)]
    usable = [t for t in _GOAL_TEMPLATES[kind]
              if all(fields[name] for name in _placeholders(t))]
    template = _pick(usable or _GOAL_TEMPLATES["connect"][:1], u[2])
    return template.format(**fields)


def _pick(options: Sequence[str], u: float) -> str:
    return options[min(int(u * len(options)), len(options) - 1)]


@cache
def _placeholders(template: str) -> tuple[str, ...]:
    return tuple(part.split("}")[0] for part in template.split("{")[1:])


# --- availability -------------------------------------------------------------------------------

class _Menu(NamedTuple):
    day: np.ndarray
    start: np.ndarray
    length: np.ndarray
    weight: np.ndarray
    slot: np.ndarray
    anchor: np.ndarray
    slot_p: np.ndarray
    count_p: tuple[float, ...]
    works_shifts: bool


@cache
def _menu(pattern: str) -> _Menu:
    """Expand a pattern's (days, window, weight, anchor) spec into one entry per weekday."""
    works_shifts, count_p, spec = _PATTERNS[pattern]
    rows = []
    for slot, (days, window, weight, anchor) in enumerate(spec):
        (h1, m1), (h2, m2) = (map(int, t.split(":")) for t in window.split("-"))
        start, length = h1 * 60 + m1, (h2 * 60 + m2 - h1 * 60 - m1) % 1440
        for day in _DAY_SETS[days]:
            day_weight = _WEEKDAY_WEIGHT[day] if days == "wk" else 1.0
            rows.append((day, start, length, weight * day_weight, slot, anchor))
    columns = list(zip(*rows, strict=True))
    slot_weight = np.array([w for _, _, w, _ in spec])
    return _Menu(*(np.array(c) for c in columns), slot_p=slot_weight / slot_weight.sum(),
                 count_p=count_p, works_shifts=works_shifts)


def _availability(pattern: np.ndarray, rng: np.random.Generator) -> list[str]:
    out = [""] * len(pattern)
    for name in np.unique(pattern):
        rows = np.flatnonzero(pattern == name)
        menu = _menu(str(name))
        weights = np.tile(menu.weight, (rows.size, 1))
        if menu.works_shifts:
            # Three shifts a week on random days: windows on days off, on a break during the
            # shift, or right after it ends.
            on = np.zeros((rows.size, 7), dtype=bool)
            np.put_along_axis(on, np.argsort(rng.random((rows.size, 7)), axis=1)[:, :3], True,
                              axis=1)
            on_day, after = on[:, menu.day], on[:, (menu.day - 1) % 7]
            weights *= np.select([menu.anchor == "work", menu.anchor == "after",
                                  menu.anchor == "off"], [on_day, after, ~on_day], default=True)
        else:
            # One weekday is often taken by the OR, a clinic or a lecture block.
            busy = np.where(rng.random(rows.size) < 0.4, rng.integers(0, 5, rows.size), -1)
            weights *= menu.day[None, :] != busy[:, None]
        # People keep to a favourite time of day across several days of the week.
        favourite = rng.choice(len(menu.slot_p), size=rows.size, p=menu.slot_p)
        weights *= np.where(menu.slot[None, :] == favourite[:, None], 3.0, 1.0)
        with np.errstate(divide="ignore"):
            order = _gumbel_order(np.log(weights), rng)
        counts = rng.choice(np.arange(2, 6), size=rows.size, p=menu.count_p)
        for r, row in enumerate(rows):
            out[row] = _pick_windows(order[r], weights[r], int(counts[r]), menu)
    return out


def _pick_windows(order: np.ndarray, weights: np.ndarray, count: int, menu: _Menu) -> str:
    """Take the best-ranked windows that do not overlap each other, sorted by time of week."""
    kept: list[tuple[int, int]] = []
    for j in order:
        if weights[j] <= 0 or len(kept) == count:
            break
        start = int(menu.day[j]) * 1440 + int(menu.start[j])
        end = start + int(menu.length[j])
        # Shifting by a week catches a Sunday-night window running into Monday morning.
        if all(end <= s + shift or start >= e + shift
               for s, e in kept for shift in (-_WEEK, 0, _WEEK)):
            kept.append((start, end))
    return "; ".join(f"{_DAYS[s // 1440]} {s % 1440 // 60:02d}:{s % 60:02d}-"
                     f"{e % 1440 // 60:02d}:{e % 60:02d}" for s, e in sorted(kept))


# --- avoid lists --------------------------------------------------------------------------------

def _avoid_lists(roles: np.ndarray, department: list[str], emails: list[str],
                 rng: np.random.Generator) -> list[str]:
    """About 3% name one colleague, usually someone more senior in their own department."""
    n = len(roles)
    avoid = [""] * n
    n_avoiders = int(round(0.03 * n))
    if n < 2 or n_avoiders == 0:
        return avoid
    seniority = np.array([_SENIORITY[r] for r in roles])
    departments, dept_of = np.unique(np.array(department), return_inverse=True)
    members = np.split(np.argsort(dept_of, kind="stable"),
                       np.cumsum(np.bincount(dept_of, minlength=len(departments)))[:-1])
    for i in rng.choice(n, size=n_avoiders, replace=False):
        colleagues = members[dept_of[i]]
        colleagues = colleagues[colleagues != i]
        seniors = colleagues[seniority[colleagues] > seniority[i]]
        pool = seniors if seniors.size else colleagues
        if pool.size and rng.random() < 0.85:
            j = int(pool[rng.integers(pool.size)])
        else:
            j = int(rng.integers(n - 1))
            j += int(j >= i)
        avoid[i] = emails[j]
    return avoid

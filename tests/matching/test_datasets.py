"""Synthetic hospital cohorts and the default topic catalog behave like real, importable data."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from matching._people import MENTORING_CHOICES, ROLES, Person, Topic
from matching.datasets import (
    CSV_COLUMNS,
    INTEREST_VOCABULARY,
    SITES,
    SKILL_VOCABULARY,
    cohort_summary,
    default_topics,
    make_hospital_cohort,
)

WINDOW_RE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EMAIL_RE = re.compile(r"^[a-z0-9-]+\.[a-z0-9-]+[0-9]*@demo\.example$")


@pytest.fixture(scope="module")
def cohort() -> list[dict[str, str]]:
    return make_hospital_cohort(2000, random_state=7)


def parse_windows(text: str) -> list[tuple[int, int, int]]:
    """Strict parser of the documented format: (weekday, start minute, length in minutes)."""
    windows = []
    for part in text.split("; "):
        match = WINDOW_RE.match(part)
        assert match, f"availability window {part!r} does not match the documented format"
        h1, m1, h2, m2 = (int(match.group(k)) for k in range(2, 6))
        start, end = h1 * 60 + m1, h2 * 60 + m2
        windows.append((DAYS.index(match.group(1)), start, (end - start) % 1440))
    return windows


def test_rows_have_the_csv_columns_in_order(cohort):
    assert all(tuple(row) == CSV_COLUMNS for row in cohort)
    assert all(isinstance(value, str) for row in cohort for value in row.values())


def test_same_seed_same_cohort_and_other_seed_differs():
    assert make_hospital_cohort(300, random_state=3) == make_hospital_cohort(300, random_state=3)
    assert make_hospital_cohort(300, random_state=3) != make_hospital_cohort(300, random_state=4)


def test_emails_are_unique_lowercase_ascii_in_the_domain(cohort):
    emails = [row["email"] for row in cohort]
    assert len(set(emails)) == len(emails)
    assert all(EMAIL_RE.match(email) for email in emails), [
        e for e in emails if not EMAIL_RE.match(e)][:5]
    custom = make_hospital_cohort(20, organization_domain="stmarys.org")
    assert all(row["email"].endswith("@stmarys.org") for row in custom)


def test_names_are_diverse_and_include_non_ascii(cohort):
    names = [row["full_name"] for row in cohort]
    assert sum(not name.isascii() for name in names) >= 50
    assert len(set(names)) > 0.8 * len(names)
    surnames = Counter(name.split()[-1] for name in names)
    assert surnames.most_common(1)[0][1] < 0.03 * len(names)


def test_roles_and_mentoring_use_the_contract_values(cohort):
    assert {row["role"] for row in cohort} == ROLES
    assert {row["mentoring"] for row in cohort} <= MENTORING_CHOICES


def test_role_shares_match_a_hospital_mix(cohort):
    expected = {"attending": 0.25, "resident": 0.22, "fellow": 0.06, "student": 0.08,
                "nurse": 0.27, "np_pa": 0.09, "other": 0.03}
    counts = Counter(row["role"] for row in cohort)
    for role, share in expected.items():
        assert abs(counts[role] / len(cohort) - share) < 0.02, role


def test_small_cohorts_still_have_the_big_roles():
    roles = {row["role"] for row in make_hospital_cohort(12, random_state=1)}
    assert {"attending", "resident", "nurse"} <= roles


def test_every_row_is_importable_as_a_person(cohort):
    people = [Person.from_row(row) for row in cohort]
    assert all(2 <= len(p.availability) <= 5 for p in people)


def test_availability_windows_are_realistic(cohort):
    for row in cohort:
        windows = parse_windows(row["availability"])
        assert 2 <= len(windows) <= 5, row["availability"]
        spans = []
        for day, start, length in windows:
            assert start % 15 == 0 and 30 <= length <= 120, row["availability"]
            spans.append((day * 1440 + start, day * 1440 + start + length))
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), \
            f"overlapping windows in {row['availability']!r}"


def test_night_shift_share_controls_overnight_windows():
    def crosses_midnight(rows):
        return sum(any(s + n > 1440 for _, s, n in parse_windows(r["availability"]))
                   for r in rows)

    assert crosses_midnight(make_hospital_cohort(500, night_shift_share=0.0)) == 0
    assert crosses_midnight(make_hospital_cohort(500, night_shift_share=0.3)) >= 40


def test_popular_windows_are_common(cohort):
    starts = Counter((d, s) for r in cohort for d, s, _ in parse_windows(r["availability"])
                     if d < 5)
    top_starts = {s for (_, s), _ in starts.most_common(10)}
    assert {12 * 60, 17 * 60} <= top_starts


def _utc_start_slots(row: dict[str, str]) -> set[int]:
    """15-minute UTC slots (week of 2026-03-16) at which a 30-minute meeting could start."""
    tz = ZoneInfo(row["timezone"])
    slots = set()
    for day, start, length in parse_windows(row["availability"]):
        local = datetime(2026, 3, 16 + day, tzinfo=tz)
        offset = int(local.utcoffset().total_seconds() // 60)
        first = day * 1440 + start - offset
        slots.update(((first + m) // 15) % 672 for m in range(0, length - 15, 15))
    return slots


def test_most_people_share_a_window_with_several_others():
    rows = make_hospital_cohort(200, random_state=0)
    starts = np.zeros((len(rows), 672), dtype=bool)
    for i, row in enumerate(rows):
        starts[i, sorted(_utc_start_slots(row))] = True
    per_slot = starts.sum(axis=0)
    best_company = np.array([per_slot[s].max() - 1 for s in starts])
    assert np.mean(best_company >= 3) >= 0.9


def test_timezones_are_valid_and_mostly_the_organizations(cohort):
    zones = Counter(row["timezone"] for row in cohort)
    for name in zones:
        ZoneInfo(name)
    assert 0.7 < zones["America/New_York"] / len(cohort) < 0.9
    assert {"America/Chicago", "America/Los_Angeles"} <= set(zones)
    assert any(name.startswith("Europe/") for name in zones)


def test_timezones_parameter_overrides_the_distribution():
    rows = make_hospital_cohort(200, timezones={"Europe/London": 3, "Europe/Dublin": 1})
    zones = Counter(row["timezone"] for row in rows)
    assert set(zones) == {"Europe/London", "Europe/Dublin"}
    assert zones["Europe/London"] > zones["Europe/Dublin"]


def test_avoid_lists_name_other_people_in_the_cohort(cohort):
    emails = {row["email"] for row in cohort}
    avoiders = [row for row in cohort if row["avoid"]]
    assert 0.02 * len(cohort) <= len(avoiders) <= 0.04 * len(cohort)
    for row in avoiders:
        targets = row["avoid"].split("; ")
        assert set(targets) <= emails and row["email"] not in targets


def test_interests_and_skills_come_from_the_vocabularies(cohort):
    for row in cohort:
        interests = row["interests"].split("; ")
        assert 2 <= len(interests) <= 6 and len(set(interests)) == len(interests)
        assert set(interests) <= set(INTEREST_VOCABULARY)
        teach = [s for s in row["can_teach"].split("; ") if s]
        learn = [s for s in row["wants_to_learn"].split("; ") if s]
        assert len(teach) <= 3 and len(learn) <= 3
        assert set(teach) | set(learn) <= set(SKILL_VOCABULARY)
        assert not set(teach) & set(learn)


def test_interests_cluster_by_specialty(cohort):
    def share(rows, phrase):
        return sum(phrase in r["interests"].split("; ") for r in rows) / len(rows)

    emergency = [r for r in cohort if r["department"] == "Department of Emergency Medicine"]
    others = [r for r in cohort if r["department"] != "Department of Emergency Medicine"]
    assert share(emergency, "point-of-care ultrasound") > 2 * share(others,
                                                                    "point-of-care ultrasound")
    nurses = [r for r in cohort if r["role"] == "nurse"]
    assert share(nurses, "nursing leadership") > 3 * share(others, "nursing leadership")


def test_seniors_offer_mentoring_and_trainees_seek_it(cohort):
    def mentoring(role):
        return Counter(r["mentoring"] for r in cohort if r["role"] == role)

    attendings, students = mentoring("attending"), mentoring("student")
    assert attendings["offer"] + attendings["both"] > 0.7 * sum(attendings.values())
    assert students["seek"] > 0.7 * sum(students.values())

    def mean_skills(roles, column):
        rows = [r for r in cohort if r["role"] in roles]
        return np.mean([len([s for s in r[column].split("; ") if s]) for r in rows])

    assert mean_skills({"attending"}, "can_teach") > 2 * mean_skills({"student"}, "can_teach")
    assert mean_skills({"resident", "student"}, "wants_to_learn") > \
        mean_skills({"attending"}, "wants_to_learn")


def test_goals_are_single_varied_sentences(cohort):
    goals = [row["goals"] for row in cohort]
    assert all(g and g[0].isupper() and g.endswith(".") and "{" not in g for g in goals)
    assert len(set(goals)) > 100


def test_sites_respect_n_sites_and_inpatient_units_stay_in_hospitals():
    rows = make_hospital_cohort(1000, n_sites=3, random_state=2)
    assert {row["site"] for row in rows} == set(SITES[:3])
    icu = [r for r in rows if r["department"] in {"Cardiac ICU", "Medical ICU", "Surgical ICU"}]
    assert icu and all(r["site"] != "Riverside Clinic" for r in icu)
    assert {r["site"] for r in make_hospital_cohort(50, n_sites=1)} == {"Main Campus"}


def test_departments_have_skewed_sizes(cohort):
    sizes = sorted(Counter(r["department"] for r in cohort).values(), reverse=True)
    assert len(sizes) >= 25
    assert sizes[0] > 8 * sizes[-1]


def test_cohort_summary_counts_the_rows(cohort):
    summary = cohort_summary(cohort)
    assert summary["n_people"] == len(cohort)
    assert sum(summary["role"].values()) == len(cohort)
    assert sum(summary["timezone"].values()) == len(cohort)
    assert list(summary["role"])[0] == "nurse"
    assert summary["people_with_avoid"] == sum(1 for r in cohort if r["avoid"])


def test_empty_cohort_is_empty():
    assert make_hospital_cohort(0) == []
    assert cohort_summary([])["n_people"] == 0


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"n_people": -1}, ValueError, "n_people"),
    ({"n_people": 2.5}, TypeError, "n_people"),
    ({"n_people": "10"}, TypeError, "n_people"),
    ({"n_people": 10, "n_sites": 0}, ValueError, "n_sites"),
    ({"n_people": 10, "n_sites": len(SITES) + 1}, ValueError, "n_sites"),
    ({"n_people": 10, "organization_domain": "not a domain"}, ValueError, "organization_domain"),
    ({"n_people": 10, "organization_domain": "Über.example"}, ValueError, "organization_domain"),
    ({"n_people": 10, "night_shift_share": 1.5}, ValueError, "night_shift_share"),
    ({"n_people": 10, "timezones": {"Mars/Olympus_Mons": 1.0}}, ValueError, "Mars/Olympus_Mons"),
    ({"n_people": 10, "timezones": {"America/Chicago": -1.0}}, ValueError, "weight"),
    ({"n_people": 10, "timezones": {"America/Chicago": 0.0}}, ValueError, "positive"),
    ({"n_people": 10, "timezones": {}}, ValueError, "timezones"),
])
def test_bad_arguments_raise_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make_hospital_cohort(**kwargs)


# --- topics -------------------------------------------------------------------------------------

def test_default_topics_are_a_rich_clinician_catalog():
    topics = default_topics()
    assert len(topics) >= 30
    assert all(isinstance(t, Topic) for t in topics)
    keys = [t.key for t in topics]
    assert len(set(keys)) == len(keys)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", key) for key in keys)
    for topic in topics:
        assert topic.title and topic.description.endswith(".")
        assert 3 <= len(topic.starters) <= 4
        assert all(s.endswith("?") or s.endswith(".") for s in topic.starters)
        assert 3 <= len(topic.tags) <= 6


def test_topic_tags_share_the_interest_vocabulary():
    # Tags in the same words as interests let TF-IDF link a group's interests to a topic.
    tags = {tag for topic in default_topics() for tag in topic.tags}
    assert tags <= set(INTEREST_VOCABULARY)
    assert len(tags) > 0.8 * len(INTEREST_VOCABULARY)


def test_default_topics_returns_a_fresh_list():
    first = default_topics()
    first.clear()
    assert len(default_topics()) >= 30

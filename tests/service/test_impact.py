"""The Impact page: its numbers against hand-computed ones, suppression, CSVs, SVG and access."""

from __future__ import annotations

import csv
import io
import itertools
import random
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.admin import impact as impact_routes
from service.impact import SUPPRESSED_TEXT, Cell, figure_csv, impact_report
from service.impact.charts import Series, hbar_chart, month_chart, network_chart, report_charts
from service.impact.figures import Column, Figure
from service.impact.pairs import MetPairs, department_edges
from service.models import Feedback, MatchGroup, Membership, Organization, Participant
from service.rounds.create import create_round
from tests.service.admin_helpers import login, make_admin
from tests.service.round_fixtures import make_org

XSS = "<script>alert(1)</script>"
NOW = datetime(2026, 4, 15, 12, tzinfo=UTC)
MONTHS = ("2026-01", "2026-02", "2026-03")
# Person i (make_org's "Person i"): roles chosen so that 6 are residents or students.
ROLES = ["attending"] * 3 + ["fellow"] + ["resident", "student"] * 3 + ["nurse"] * 2
JOINED = (
    [datetime(2025, 9, 1, tzinfo=UTC)] * 6
    + [datetime(2025, 12, 1, tzinfo=UTC)] * 4
    + [datetime(2026, 1, 20, tzinfo=UTC)] * 2
)


@dataclass
class Scenario:
    org: Organization
    # Per round: its groups, each a list of (person index, membership).
    groups: list[list[list[tuple[int, Membership]]]]
    met: list[list[bool]]  # which groups met, per round


def _feedback(session: Session, membership: Membership, kind: str, **values: object) -> None:
    session.add(Feedback(membership_id=membership.id, kind=kind, **values))


def _round_groups(
    session: Session, round_id: int, index_of: dict[int, int]
) -> list[list[tuple[int, Membership]]]:
    groups = []
    for group_id in session.scalars(
        select(MatchGroup.id).where(MatchGroup.round_id == round_id).order_by(MatchGroup.number)
    ):
        members = session.scalars(
            select(Membership).where(Membership.group_id == group_id).order_by(Membership.id)
        ).all()
        groups.append(
            sorted(((index_of[m.participant_id], m) for m in members), key=lambda t: t[0])
        )
    return groups


def build(session: Session, settings, links, slug: str = "stmarys") -> Scenario:  # noqa: ANN001
    """12 people, three rounds of three groups of four; round 3 repeats round 1's groups."""
    org = make_org(session, slug=slug, people=12)
    org.min_group_size = org.max_group_size = 4
    people = session.scalars(
        select(Participant).where(Participant.organization_id == org.id).order_by(Participant.id)
    ).all()
    index_of = {p.id: i for i, p in enumerate(people)}
    for i, person in enumerate(people):
        person.role = ROLES[i]
        person.department = XSS if i % 4 == 0 else f"Dept {i % 4}"
        person.site = "North" if i % 2 else "South"
    session.flush()
    rounds = []
    for month in MONTHS:
        year, number = int(month[:4]), int(month[5:])
        run = create_round(
            session,
            settings,
            links,
            org,
            month,
            send=False,
            now=datetime(year, number, 7, 14, tzinfo=UTC),
        )
        run.round.status = "sent"
        rounds.append(run.round)
    session.flush()
    groups = [_round_groups(session, r.id, index_of) for r in rounds]
    # Round 3 gets exactly round 1's groups, so its pairs have all been together before.
    group_ids = [g[0][1].group_id for g in groups[2]]
    for number, group in enumerate(groups[0]):
        for person, _ in group:
            session.execute(
                update(Membership)
                .where(
                    Membership.round_id == rounds[2].id,
                    Membership.participant_id == people[person].id,
                )
                .values(group_id=group_ids[number])
            )
    session.flush()
    session.expire_all()
    groups[2] = _round_groups(session, rounds[2].id, index_of)
    assert [[p for p, _ in g] for g in groups[2]] == [[p for p, _ in g] for g in groups[0]]

    # Round 1: A all four met (5,4,4,3); B two met (5,5); C one yes (2) and one no: not met.
    (a, b, c) = groups[0]
    for (_, m), rating in zip(a, (5, 4, 4, 3), strict=True):
        _feedback(
            session,
            m,
            "checkin",
            met=True,
            rating=rating,
            learned="Ask pharmacy early" if rating == 3 else "",
        )
    for _, m in b[:2]:
        _feedback(session, m, "checkin", met=True, rating=5)
    _feedback(session, c[0][1], "checkin", met=True, rating=2)
    _feedback(session, c[1][1], "checkin", met=False)
    # Follow-ups: five people had a second coffee, two of them a referral too; one nothing.
    for _, m in a:
        _feedback(session, m, "followup", outcomes=["second_coffee"])
    _feedback(session, b[0][1], "followup", outcomes=["second_coffee", "referral"])
    _feedback(session, b[1][1], "followup", outcomes=["referral"])
    _feedback(session, c[0][1], "followup", outcomes=["nothing_yet"])
    # Round 2: only its first group met (4 ratings of 4); one member of the last group dropped.
    x, _, z = groups[1]
    for _, m in x:
        _feedback(session, m, "checkin", met=True, rating=4)
    z[0][1].status = "dropped"
    # Round 3 (= round 1's groups): A met again (3, 5), C met this time (4, 4, 5).
    a3, _, c3 = groups[2]
    for (_, m), rating in zip(a3[:2], (3, 5), strict=True):
        _feedback(session, m, "checkin", met=True, rating=rating)
    for (_, m), rating in zip(c3[:3], (4, 4, 5), strict=True):
        _feedback(session, m, "checkin", met=True, rating=rating)

    for i, person in enumerate(people):
        person.confirmed_at = JOINED[i]
    people[0].status, people[0].left_at = "left", datetime(2026, 4, 2, tzinfo=UTC)
    people[7].status = "paused"
    session.commit()
    return Scenario(org, groups, [[True, True, False], [True, False, False], [True, False, True]])


@pytest.fixture
def scenario(db: Session, settings, links) -> Scenario:  # noqa: ANN001
    return build(db, settings, links)


def _value(cell: Cell | str) -> float | None:
    assert isinstance(cell, Cell)
    return cell.shown


def _column(report, figure: str, column: str) -> list[float | None]:  # noqa: ANN001
    return [_value(c) for c in report.figures[figure].column(column)]


def _expected_pairs(s: Scenario) -> tuple[list[int], set[tuple[int, int]]]:
    """Independent of the code under test: plain Python sets over the groups that met."""
    seen: set[tuple[int, int]] = set()
    new_per_round = []
    for groups, met in zip(s.groups, s.met, strict=True):
        new = set()
        for group, did_meet in zip(groups, met, strict=True):
            if did_meet:
                people = [p for p, m in group if m.status == "invited"]
                new |= set(itertools.combinations(people, 2)) - seen
        seen |= new
        new_per_round.append(len(new))
    return new_per_round, seen


def test_numbers_match_hand_computed_values(db: Session, scenario: Scenario) -> None:
    report = impact_report(db, scenario.org, now=NOW)
    assert report.months == list(MONTHS)
    assert _column(report, "participation", "signed_up") == [12, 12, 12]
    assert _column(report, "participation", "took_part") == [12, 11, 12]
    assert _column(report, "meetings", "groups") == [3, 3, 3]
    assert _column(report, "meetings", "groups_met") == [2, 1, 2]
    assert _column(report, "meetings", "met_rate") == pytest.approx([2 / 3, 1 / 3, 2 / 3])
    assert _column(report, "ratings", "ratings") == [7, None, 5]  # 4 ratings: suppressed
    assert _column(report, "ratings", "average_rating") == pytest.approx([4.0, None, 4.2])

    # A window of the last two rounds still knows round 1: its pairs are not new in round 3.
    shorter = impact_report(db, scenario.org, now=NOW, months=2)
    assert shorter.months == list(MONTHS[1:])
    assert _column(shorter, "participation", "took_part") == [11, 12]
    assert [c.value for c in shorter.figures["connections"].column("new_connections")] == [
        c.value for c in report.figures["connections"].column("new_connections")[1:]
    ]

    new, ties = _expected_pairs(scenario)
    assert new[0] == 12  # two groups of four met: 6 + 6 pairs
    new_cells = report.figures["connections"].column("new_connections")
    assert [c.value for c in new_cells if isinstance(c, Cell)] == new
    # Round 2's new pairs are all in one group of four: fewer than 5 people.
    assert new[1] == 6 and new_cells[1].text() == SUPPRESSED_TEXT  # type: ignore[union-attr]
    assert _column(report, "connections", "cumulative_connections") == list(
        itertools.accumulate(new)
    )
    # Round 3 repeats round 1: group A's pairs met before and are not new; of C's (who did
    # not meet in round 1), only those not already together in round 2's met group are.
    c_pairs = set(itertools.combinations([p for p, _ in scenario.groups[2][2][:4]], 2))
    round2_pairs = set(itertools.combinations([p for p, _ in scenario.groups[1][0]], 2))
    assert new[2] == len(c_pairs - round2_pairs)

    department = [XSS if i % 4 == 0 else f"Dept {i % 4}" for i in range(12)]
    cross = sum(department[a] != department[b] for a, b in ties)
    assert report.headline["ties"].shown == len(ties)
    assert report.headline["cross_department"].shown == pytest.approx(cross / len(ties))
    cross_site = sum(a % 2 != b % 2 for a, b in ties)
    assert report.headline["cross_site"].shown == pytest.approx(cross_site / len(ties))

    trainees = {i for i, role in enumerate(ROLES) if role in ("resident", "student")}
    seniors = {i for i, role in enumerate(ROLES) if role in ("attending", "fellow")}
    met_senior = {a for pair in ties for a in pair if a in trainees and set(pair) & seniors}
    assert report.headline["trainee_met_senior"].shown == pytest.approx(len(met_senior) / 6)

    # Joined >= 3 months before 15 April: the 10 who joined in 2025, one of whom left
    # (a paused person still counts); >= 6 months: the 6 from September, one left.
    assert _column(report, "retention", "joined") == [10, 6]
    assert _column(report, "retention", "staying") == [9, 5]
    assert report.headline["retention_3"].shown == pytest.approx(0.9)
    assert report.headline["retention_6"].shown == pytest.approx(5 / 6)

    outcomes = {row["outcome"]: row for row in report.figures["outcomes"].rows}
    second = outcomes["We met again, or plan to"]
    assert _value(second["people"]) == 5
    assert _value(second["share"]) == pytest.approx(5 / 7)
    assert _value(outcomes["A referral or an introduction to someone"]["people"]) is None
    assert report.headline["rating_average"].shown == pytest.approx(
        (28 + 16 + 21) / 16  # every rating of the window, over 16 ratings by distinct raters
    )


def test_cells_based_on_fewer_than_five_people_are_suppressed(
    db: Session,
    settings,
    links,  # noqa: ANN001
) -> None:
    org = make_org(db, slug="tiny", people=4)
    run = create_round(
        db, settings, links, org, "2026-01", send=False, now=datetime(2026, 1, 7, 14, tzinfo=UTC)
    )
    run.round.status = "sent"
    for m in db.scalars(select(Membership).where(Membership.round_id == run.round.id)):
        _feedback(db, m, "checkin", met=True, rating=5)
    db.commit()
    report = impact_report(db, org, now=NOW)
    took_part = report.figures["participation"].rows[0]["took_part"]
    assert isinstance(took_part, Cell) and took_part.value == 4
    assert took_part.suppressed and took_part.text() == SUPPRESSED_TEXT
    assert report.headline["rating_average"].text() == SUPPRESSED_TEXT
    assert report.headline["connections"].text() == SUPPRESSED_TEXT
    rows = list(csv.DictReader(io.StringIO(figure_csv(report.figures["participation"]))))
    assert rows[0]["took_part"] == "" and rows[0]["signed_up"] == ""
    assert "fewer than 5" in rows[0]["note"] and "took_part" in rows[0]["note"]
    # Five people are enough.
    assert Cell(5.0, 5).text() == "5" and Cell(4.0, 4).text() == SUPPRESSED_TEXT


@pytest.fixture
def admin_client(client: TestClient, db: Session, scenario: Scenario) -> TestClient:
    make_admin(db, scenario.org)
    login(client, "lead@stmarys.example")
    return client


FIGURES = (
    "participation",
    "meetings",
    "ratings",
    "outcomes",
    "connections",
    "ties",
    "retention",
    "network",
)


def test_every_csv_has_a_header_and_the_numbers_of_the_page(
    admin_client: TestClient, db: Session, scenario: Scenario
) -> None:
    report = impact_report(db, scenario.org)
    for key in FIGURES:
        response = admin_client.get(f"/admin/o/stmarys/impact/{key}.csv")
        assert response.status_code == 200, key
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(response.text)))
        figure = report.figures[key]
        assert rows[0] == [c.key for c in figure.columns] + ["note"]
        assert rows[1:] == list(csv.reader(io.StringIO(figure_csv(figure))))[1:]
    participation = list(
        csv.DictReader(
            io.StringIO(admin_client.get("/admin/o/stmarys/impact/participation.csv").text)
        )
    )
    assert [(r["month"], r["took_part"]) for r in participation] == [
        ("2026-01", "12"),
        ("2026-02", "11"),
        ("2026-03", "12"),
    ]
    ratings = list(
        csv.DictReader(io.StringIO(admin_client.get("/admin/o/stmarys/impact/ratings.csv").text))
    )
    assert [r["average_rating"] for r in ratings] == ["4.00", "", "4.20"]
    assert ratings[1]["note"]
    assert admin_client.get("/admin/o/stmarys/impact/nope.csv").status_code == 404


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, re.S)


def test_the_page_shows_accessible_svg_charts_without_inline_styles_or_scripts(
    admin_client: TestClient,
) -> None:
    response = admin_client.get("/admin/o/stmarys/impact")
    assert response.status_code == 200
    html = response.text
    svgs = _svgs(html)
    assert len(svgs) == len(FIGURES)
    for svg in svgs:
        root = ET.fromstring(svg)  # well-formed XML
        assert root.get("role") == "img"
        title = root.find("{http://www.w3.org/2000/svg}title")
        assert title is not None and title.text
        assert root.get("aria-labelledby", "").startswith(title.get("id", "?"))
        assert "style=" not in svg and "<script" not in svg.lower()
    assert "style=" not in html and "<style" not in html
    assert "/static/css/admin-impact.css" in html
    assert admin_client.get("/static/css/admin-impact.css").status_code == 200
    assert "The numbers" in html and "2026-02" in html
    # The department called <script>alert(1)</script> is text, in the SVG and in the HTML.
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    network = next(s for s in svgs if 'id="chart-network-title"' in s)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in network


def test_free_text_is_for_the_organizations_own_admins_only(
    client: TestClient, db: Session, scenario: Scenario
) -> None:
    make_admin(db, scenario.org)
    make_admin(db, None, "root@coffee.example", is_super=True)
    login(client, "lead@stmarys.example")
    page = client.get("/admin/o/stmarys/impact").text
    assert "Ask pharmacy early" in page
    assert "Person " not in page  # never names
    client.cookies.clear()
    login(client, "root@coffee.example")
    page = client.get("/admin/o/stmarys/impact")
    assert page.status_code == 200
    assert "Ask pharmacy early" not in page.text
    assert "One thing people learned" not in page.text


def test_another_organizations_impact_is_not_found(
    client: TestClient,
    db: Session,
    scenario: Scenario,
    settings,
    links,  # noqa: ANN001
) -> None:
    other = make_org(db, slug="stjude", people=3)
    db.commit()
    make_admin(db, other, "lead@stjude.example")
    login(client, "lead@stjude.example")
    assert client.get("/admin/o/stmarys/impact").status_code == 404
    assert client.get("/admin/o/stmarys/impact/participation.csv").status_code == 404
    own = client.get("/admin/o/stjude/impact")
    assert own.status_code == 200 and "No round has been sent yet" in own.text


def test_charts_are_deterministic_and_escape_text() -> None:
    cells = [Cell(12.0, 12), Cell(3.0, 3), Cell(20.0, 20)]
    chart = month_chart(
        "c",
        "A <b> title",
        ["2026-01", "2026-02", "2026-03"],
        bars=Series("Took part", cells),
        lines=[Series("x", cells)],
    )
    assert chart == month_chart(
        "c",
        "A <b> title",
        ["2026-01", "2026-02", "2026-03"],
        bars=Series("Took part", cells),
        lines=[Series("x", cells)],
    )
    root = ET.fromstring(str(chart))
    assert root.findtext("{http://www.w3.org/2000/svg}title") == "A <b> title"
    assert "2026-02: fewer than 5" in root.findtext("{http://www.w3.org/2000/svg}desc", "")
    bars = ET.fromstring(str(hbar_chart("h", "t", ["a", XSS], cells[:2], kind="count")))
    assert bars.get("role") == "img"
    net = network_chart(
        "n", "t", ["A", "B", "C"], cells, [(0, 1, Cell(9.0, 9)), (1, 2, Cell(2.0, 2))]
    )
    lines = ET.fromstring(str(net)).findall(".//{http://www.w3.org/2000/svg}line")
    assert len(lines) == 1  # the link resting on 2 people is not drawn


def test_bad_arguments_are_refused_with_a_clear_message(db: Session, org: Organization) -> None:
    with pytest.raises(ValueError, match="months"):
        impact_report(db, org, months=0)
    with pytest.raises(ValueError, match="aware"):
        impact_report(db, org, now=datetime(2026, 1, 1))
    report = impact_report(db, org)
    assert report.months == [] and set(report_charts(report)) == set(FIGURES)
    assert report.headline["took_part"].text() == SUPPRESSED_TEXT


def test_csv_cells_cannot_run_as_spreadsheet_formulas() -> None:
    figure = Figure(
        "f",
        "t",
        "d",
        [Column("name", "Name", False), Column("n", "N")],
        [{"name": "=HYPERLINK(1)", "n": Cell(7.0, 7)}, {"name": "Cardiology", "n": Cell(2.0, 2)}],
    )
    rows = list(csv.reader(io.StringIO(figure_csv(figure))))
    assert rows == [
        ["name", "n", "note"],
        ["'=HYPERLINK(1)", "7", ""],
        ["Cardiology", "", "fewer than 5 people: n not shown"],
    ]


def test_long_tables_are_cut_on_the_page_but_whole_in_the_csv(
    admin_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(impact_routes, "PAGE_ROWS", 1)
    page = admin_client.get("/admin/o/stmarys/impact").text
    assert "2 more rows are in the CSV." in page  # participation: 3 months, 1 shown
    rows = list(
        csv.reader(io.StringIO(admin_client.get("/admin/o/stmarys/impact/participation.csv").text))
    )
    assert len(rows) == 1 + 3


def test_pair_arithmetic_matches_plain_python_on_random_groups() -> None:
    rng = random.Random(3)
    rows, group_id = [], 0
    for round_index in range(4):
        people = rng.sample(range(1, 60), 40)
        for start in range(0, 40, 4):
            group_id += 1
            rows += [(round_index, group_id, p) for p in people[start : start + rng.choice((3, 4))]]
    r, g, p = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    pairs = MetPairs.from_members(r, g, p)
    by_group: dict[int, list[tuple[int, int]]] = {}
    for ri, gi, pi in rows:
        by_group.setdefault(gi, []).append((ri, pi))
    expected = {
        (min(a, b), max(a, b), gi): ri
        for gi, members in by_group.items()
        for (ri, a), (_, b) in itertools.combinations(members, 2)
    }
    assert len(pairs) == len(expected)
    first_round: dict[tuple[int, int], int] = {}
    for (a, b, _), ri in sorted(expected.items(), key=lambda kv: kv[1]):
        first_round.setdefault((a, b), ri)
    new = pairs.first_meetings()
    got = zip(new.first.tolist(), new.second.tolist(), new.round_index.tolist(), strict=True)
    assert sorted(got) == sorted((a, b, ri) for (a, b), ri in first_round.items())
    departments = np.array([0] + [1 + i % 5 for i in range(1, 60)], dtype=np.int64)
    edges = {(e.a, e.b): (e.meetings, e.people) for e in department_edges(pairs, departments)}
    naive: dict[tuple[int, int], tuple[set[int], set[int]]] = {}
    for a, b, gi in expected:
        da, db = int(departments[a]), int(departments[b])
        if da != db:
            groups, people = naive.setdefault((min(da, db), max(da, db)), (set(), set()))
            groups.add(gi)
            people |= {a, b}
    assert edges == {k: (len(gs), len(ps)) for k, (gs, ps) in naive.items()}

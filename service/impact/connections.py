"""Connections between people: new connections per month, ties across departments and sites,
trainees meeting senior colleagues, and the department network (see `metrics` for the
definitions)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from service.impact import queries
from service.impact.charts import DRAWN_LINKS
from service.impact.figures import Cell, Column, Figure, count_cell, share_cell
from service.impact.pairs import Edge, MetPairs, department_edges, differ, distinct_sorted
from service.models import Organization


@dataclass
class NetworkData:
    departments: list[str]
    people: list[Cell]  # distinct people from each department in groups that met
    edges: list[Edge]


class PeopleCodes:
    """Participants' departments, sites and roles as integer codes, indexed by participant id
    (dense arrays: a lookup per pair is then one NumPy indexing, not a search)."""

    def __init__(self, session: Session, org: Organization) -> None:
        ids, departments, sites, roles = queries.people(session, org)
        size = int(ids.max(initial=0)) + 1
        self.department_names, self.departments = self._encode(ids, departments, size)
        self.site_names, self.sites = self._encode(ids, sites, size)
        self.trainee = np.zeros(size, dtype=bool)
        self.trainee[ids] = [role in queries.TRAINEE_ROLES for role in roles]
        self.senior = np.zeros(size, dtype=bool)
        self.senior[ids] = [role in queries.SENIOR_ROLES for role in roles]

    @staticmethod
    def _encode(ids: np.ndarray, values: list[str], size: int) -> tuple[list[str], np.ndarray]:
        # Codes in sorted-name order, "" always code 0 so it can be told apart as unknown.
        # A dict over the few distinct names: np.unique on 10,000 Python strings is ~20 ms.
        names = sorted(set(values) | {""})
        code = {name: i for i, name in enumerate(names)}
        by_id = np.zeros(size, dtype=np.int64)
        by_id[ids] = np.fromiter(map(code.__getitem__, values), dtype=np.int64, count=len(values))
        return names, by_id


def connections_figure(
    labels: list[str], offset: int, n_rounds: int, pairs: MetPairs, codes: PeopleCodes
) -> Figure:
    new = pairs.first_meetings()
    cross_dept = new.where(differ(codes.departments, new))
    cross_site = new.where(differ(codes.sites, new))
    per_round = np.bincount(new.round_index, minlength=n_rounds)[:n_rounds]
    cumulative = np.cumsum(per_round)
    people = new.people_per_round(n_rounds)
    people_cumulative = new.people_cumulative(n_rounds)
    dept_count = np.bincount(cross_dept.round_index, minlength=n_rounds)[:n_rounds]
    site_count = np.bincount(cross_site.round_index, minlength=n_rounds)[:n_rounds]
    rows: list[dict[str, Cell | str]] = []
    for i, month in enumerate(labels, start=offset):
        rows.append(
            {
                "month": month,
                "new_connections": count_cell(int(per_round[i]), int(people[i])),
                "cumulative_connections": count_cell(int(cumulative[i]), int(people_cumulative[i])),
                # Sub-counts of the month's new connections rest on the same people.
                "new_cross_department": count_cell(int(dept_count[i]), int(people[i])),
                "new_cross_site": count_cell(int(site_count[i]), int(people[i])),
            }
        )
    return Figure(
        "connections",
        "New connections",
        "Pairs of people who met for the first time each month, and the running total "
        "since the programme began.",
        [
            Column("month", "Month", False),
            Column("new_connections", "New connections"),
            Column("cumulative_connections", "Total so far"),
            Column("new_cross_department", "New, across departments"),
            Column("new_cross_site", "New, across sites"),
        ],
        rows,
    )


def ties_figure(
    pairs: MetPairs, codes: PeopleCodes, trainees: int
) -> tuple[dict[str, Cell], Figure]:
    ties = pairs.unique_pairs()
    in_ties = ties.people()
    cross_dept = int(differ(codes.departments, ties).sum())
    cross_site = int(differ(codes.sites, ties).sum())
    first, second = pairs.first, pairs.second
    trainee_met_senior = distinct_sorted(
        np.concatenate(
            [
                pairs.first[codes.trainee[first] & codes.senior[second]],
                pairs.second[codes.trainee[second] & codes.senior[first]],
            ]
        )
    )
    met_senior = len(trainee_met_senior)
    headline = {
        "ties": count_cell(len(ties), in_ties),
        "cross_department": share_cell(cross_dept, len(ties), in_ties),
        "cross_site": share_cell(cross_site, len(ties), in_ties),
        "trainee_met_senior": share_cell(met_senior, trainees),
    }
    rows: list[dict[str, Cell | str]] = [
        {
            "measure": "Ties across departments",
            "count": count_cell(cross_dept, in_ties),
            "base": count_cell(len(ties), in_ties),
            "share": headline["cross_department"],
        },
        {
            "measure": "Ties across sites",
            "count": count_cell(cross_site, in_ties),
            "base": count_cell(len(ties), in_ties),
            "share": headline["cross_site"],
        },
        {
            "measure": "Residents and students who met a senior colleague",
            "count": count_cell(met_senior, trainees),
            "base": count_cell(trainees),
            "share": headline["trainee_met_senior"],
        },
    ]
    figure = Figure(
        "ties",
        "Ties across the hospital",
        "Pairs of people who met in these months (ties) that crossed departments or sites; "
        "and residents and students who took part and met an attending or a fellow.",
        [
            Column("measure", "Measure", False),
            Column("count", "Count"),
            Column("base", "Out of"),
            Column("share", "Share"),
        ],
        rows,
    )
    return headline, figure


def department_network(pairs: MetPairs, codes: PeopleCodes) -> NetworkData:
    person = distinct_sorted(np.concatenate([pairs.first, pairs.second]))
    dept = codes.departments[person]
    counts = np.bincount(dept, minlength=len(codes.department_names))
    present = [int(c) for c in np.flatnonzero(counts) if c != 0]
    position = {code: i for i, code in enumerate(present)}
    edges = [
        Edge(position[e.a], position[e.b], e.meetings, e.people)
        for e in department_edges(pairs, codes.departments)
    ]
    return NetworkData(
        [codes.department_names[c] for c in present],
        [count_cell(int(counts[c])) for c in present],
        edges,
    )


def network_figure(network: NetworkData) -> Figure:
    names = network.departments
    rows: list[dict[str, Cell | str]] = [
        {
            "department_a": names[e.a],
            "department_b": names[e.b],
            "meetings": count_cell(e.meetings, e.people),
            "people": count_cell(e.people),
        }
        for e in sorted(network.edges, key=lambda e: (-e.meetings, names[e.a], names[e.b]))
    ]
    return Figure(
        "network",
        "Departments linked by the meetings",
        "Each line joins two departments whose people met in the same group; the thicker, "
        f"the more meetings. The {DRAWN_LINKS} strongest links are drawn, none resting on fewer "
        "than 5 people.",
        [
            Column("department_a", "Department", False),
            Column("department_b", "Department", False),
            Column("meetings", "Meetings"),
            Column("people", "People"),
        ],
        rows,
    )

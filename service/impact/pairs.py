"""Who met whom, in NumPy: pairs of people from the members of the groups that met.

Input is one compact row per (round, group, person) of every group that met; a group of n
people gives n(n-1)/2 pairs. Everything here is vectorised: at 10,000 people and 12 rounds
there are ~100,000 member rows and ~150,000 pairs, far too many for Python loops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class MetPairs:
    """One row per pair of people in the same group that met, the smaller id first."""

    first: IntArray
    second: IntArray
    round_index: IntArray
    group_id: IntArray

    @classmethod
    def from_members(cls, round_index: IntArray, group_id: IntArray, person: IntArray) -> MetPairs:
        order = np.lexsort((person, group_id))
        g, p, r = group_id[order], person[order], round_index[order]
        largest = int(np.unique(g, return_counts=True)[1].max()) if len(g) else 0
        firsts, seconds, rounds, groups = [], [], [], []
        # Sorted by group then person: members k places apart in the same group form a pair.
        for k in range(1, largest):
            same = g[:-k] == g[k:]
            firsts.append(p[:-k][same])
            seconds.append(p[k:][same])
            rounds.append(r[:-k][same])
            groups.append(g[:-k][same])
        if not firsts:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty, empty, empty)
        return cls(
            np.concatenate(firsts),
            np.concatenate(seconds),
            np.concatenate(rounds),
            np.concatenate(groups),
        )

    def __len__(self) -> int:
        return len(self.first)

    def where(self, mask: NDArray[Any]) -> MetPairs:
        """The pairs picked by a boolean mask or an index array."""
        return MetPairs(
            self.first[mask], self.second[mask], self.round_index[mask], self.group_id[mask]
        )

    def keys(self) -> IntArray:
        """One integer per unordered pair of people."""
        span = int(max(self.second.max(initial=0), self.first.max(initial=0))) + 1
        return self.first * span + self.second

    def first_meetings(self) -> MetPairs:
        """Each pair once, at the first round it met in (a "new connection")."""
        if not len(self):
            return self
        keys = self.keys()
        order = np.lexsort((self.round_index, keys))
        _, first_index = np.unique(keys[order], return_index=True)
        return self.where(order[first_index])

    def unique_pairs(self) -> MetPairs:
        """Each pair once (whatever round); for counting ties."""
        if not len(self):
            return self
        _, index = np.unique(self.keys(), return_index=True)
        return self.where(index)

    def people(self) -> int:
        both = np.concatenate([self.first, self.second])
        return int(np.count_nonzero(np.bincount(both))) if len(both) else 0

    def people_per_round(self, n_rounds: int) -> IntArray:
        """Distinct people in these pairs, round by round."""
        person = np.concatenate([self.first, self.second])
        rounds = np.concatenate([self.round_index, self.round_index])
        span = int(person.max(initial=0)) + 1
        unique = distinct_sorted(rounds * span + person)
        return np.bincount(unique // span, minlength=n_rounds)[:n_rounds].astype(np.int64)

    def people_cumulative(self, n_rounds: int) -> IntArray:
        """Distinct people in these pairs up to and including each round."""
        person = np.concatenate([self.first, self.second])
        rounds = np.concatenate([self.round_index, self.round_index])
        if not len(person):
            return np.zeros(n_rounds, dtype=np.int64)
        order = np.lexsort((rounds, person))
        _, first_index = np.unique(person[order], return_index=True)
        first_round = rounds[order][first_index]
        return np.cumsum(np.bincount(first_round, minlength=n_rounds)[:n_rounds]).astype(np.int64)


def differ(codes: IntArray, pairs: MetPairs) -> NDArray[np.bool_]:
    """Pairs whose two people have different known codes (`codes` indexed by person id;
    code 0 = unknown, an empty department or site, never counts as different)."""
    a, b = codes[pairs.first], codes[pairs.second]
    return (a != b) & (a != 0) & (b != 0)


@dataclass(frozen=True)
class Edge:
    a: int
    b: int
    meetings: int
    people: int


def distinct_sorted(values: IntArray) -> IntArray:
    """Sorted distinct values. Not np.unique: since NumPy 2.3 it hashes when asked for
    nothing else, several times slower than a sort at these sizes."""
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


def contains(ordered: IntArray, values: IntArray) -> NDArray[np.bool_]:
    """Which values are in a sorted array (np.isin hashes too)."""
    index = np.searchsorted(ordered, values)
    found = np.zeros(values.shape, dtype=bool)
    inside = index < len(ordered)
    found[inside] = ordered[index[inside]] == values[inside]
    return found


def _runs(ordered: IntArray) -> tuple[IntArray, IntArray]:
    """(value, how many times) for each run of a sorted array."""
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.diff(np.r_[starts, len(ordered)])


def department_edges(pairs: MetPairs, departments: IntArray) -> list[Edge]:
    """Departments linked by meetings: per pair of departments, the groups (meetings) that
    brought them together and the distinct people involved."""
    cross = pairs.where(differ(departments, pairs))
    if not len(cross):
        return []
    a, b = departments[cross.first], departments[cross.second]
    span_d = int(departments.max()) + 1
    edge = np.minimum(a, b) * span_d + np.maximum(a, b)
    # Composite keys (edge, group) and (edge, person), deduplicated once each; dividing a
    # sorted key array by the span keeps it sorted, so the counts are run lengths.
    group_span = int(cross.group_id.max()) + 1
    edge_ids, meetings = _runs(distinct_sorted(edge * group_span + cross.group_id) // group_span)
    person_span = int(max(cross.first.max(), cross.second.max())) + 1
    person_keys = np.concatenate(
        [edge * person_span + cross.first, edge * person_span + cross.second]
    )
    _, people = _runs(distinct_sorted(person_keys) // person_span)
    # Both run over the same set of edges, in the same (sorted) order.
    return [
        Edge(e // span_d, e % span_d, m, p)
        for e, m, p in zip(edge_ids.tolist(), meetings.tolist(), people.tolist(), strict=True)
    ]

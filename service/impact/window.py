"""Per-round numbers of the window, in NumPy, from one compact array of its memberships.

`queries.window_members` returns one row per person placed in a round of the window (round,
group, person, said-met, rating). Counting people, check-ins, ratings and groups that met
from it costs a few milliseconds, where the same numbers as separate SQL aggregates (several
with COUNT(DISTINCT)) cost several hundred at 10,000 people and 12 rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.impact.pairs import contains
from service.rounds.feedback import MET_QUORUM, OUTCOMES


def distinct(ids: np.ndarray) -> int:
    """How many different (non-negative, database) ids; counting beats hashing here."""
    return int(np.count_nonzero(np.bincount(ids))) if len(ids) else 0


@dataclass(frozen=True)
class WindowMembers:
    round_id: np.ndarray
    group_id: np.ndarray
    person: np.ndarray
    said_met: np.ndarray  # 1 yes, 0 no, -1 no check-in
    rating: np.ndarray  # 1-5, 0 when none
    outcomes: np.ndarray  # bit i set = OUTCOMES key i reported; -1 when no follow-up

    @classmethod
    def from_rows(cls, rows: np.ndarray) -> WindowMembers:
        columns = [rows[:, i].copy() for i in range(6)]
        return cls(*columns)

    def _per_round(
        self, mask: np.ndarray | None = None, weights: np.ndarray | None = None
    ) -> dict[int, float]:
        rounds = self.round_id if mask is None else self.round_id[mask]
        values = None if weights is None else (weights if mask is None else weights[mask])
        ids, inverse = np.unique(rounds, return_inverse=True)
        sums = np.bincount(inverse, weights=values, minlength=len(ids))
        return dict(zip(ids.tolist(), sums.tolist(), strict=True))

    def took_part(self) -> dict[int, int]:
        """People placed per round (one membership per person and round)."""
        return {k: int(v) for k, v in self._per_round().items()}

    def checkins(self) -> dict[int, tuple[int, int, float | None]]:
        """(check-ins answered, ratings given, average rating) per round."""
        answered = self._per_round(self.said_met >= 0)
        rated = self.rating > 0
        counts = self._per_round(rated)
        sums = self._per_round(rated, self.rating.astype(np.float64))
        return {
            r: (
                int(answered.get(r, 0)),
                int(counts.get(r, 0)),
                sums[r] / counts[r] if counts.get(r) else None,
            )
            for r in answered
        }

    def met_group_ids(self) -> np.ndarray:
        """Groups where at least MET_QUORUM remaining members said they met."""
        groups, votes = np.unique(self.group_id[self.said_met == 1], return_counts=True)
        return groups[votes >= MET_QUORUM]

    def groups_met(self) -> dict[int, int]:
        met = self.met_group_ids()
        mask = contains(met, self.group_id)
        _, first = np.unique(self.group_id[mask], return_index=True)
        rounds = self.round_id[mask][first]
        ids, counts = np.unique(rounds, return_counts=True)
        return dict(zip(ids.tolist(), counts.tolist(), strict=True))

    def met_members(self) -> np.ndarray:
        """(round id, group id, person id) rows of the groups that met."""
        mask = contains(self.met_group_ids(), self.group_id)
        return np.column_stack([self.round_id[mask], self.group_id[mask], self.person[mask]])

    def people(self) -> np.ndarray:
        return np.flatnonzero(np.bincount(self.person))

    def raters(self) -> int:
        return distinct(self.person[self.rating > 0])

    def rating_average(self) -> float | None:
        given = self.rating[self.rating > 0]
        return float(given.mean()) if len(given) else None

    def outcome_people(self) -> tuple[int, dict[str, int]]:
        """Distinct people who answered a follow-up, and who reported each outcome."""
        answered = self.outcomes >= 0
        reported = {
            key: distinct(self.person[answered & (self.outcomes & (1 << bit) != 0)])
            for bit, key in enumerate(OUTCOMES)
        }
        return distinct(self.person[answered]), reported

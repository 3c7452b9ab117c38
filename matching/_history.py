"""Past rounds and do-not-match lists as index pairs, with tiered repeat penalties.

Repeats are handled in tiers: every past pair is *forbidden* for the optimizer (which first
minimizes the number of forbidden pairs used), and on top of that carries a weight penalty that
grows with recency, so when some repeat is unavoidable the oldest pairs are reused first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._people import PastGroup

__all__ = ["PairHistory", "REPEAT_PENALTY", "TOPIC_MEMORY_ROUNDS"]

#: Weight penalty of the oldest past pair; the most recent costs twice as much.
REPEAT_PENALTY = 20.0
#: A topic is not offered again to anyone who had it in this many most recent rounds.
TOPIC_MEMORY_ROUNDS = 6


@dataclass
class PairHistory:
    """Past pairs and avoid pairs of one cohort, as index arrays (``i < j``)."""

    past_i: np.ndarray
    past_j: np.ndarray
    past_month: np.ndarray  # object array of "YYYY-MM"
    past_penalty: np.ndarray
    avoid_i: np.ndarray
    avoid_j: np.ndarray
    recent_topics: list[set[str]]
    warnings: list[str]

    @classmethod
    def build(cls, keys: Sequence[str], avoid_lists: Sequence[frozenset[str]],
              history: Sequence[PastGroup], month: str) -> PairHistory:
        index = {k: i for i, k in enumerate(keys)}
        warnings: list[str] = []
        unknown_avoid = sorted({a for lst in avoid_lists for a in lst if a not in index})
        if unknown_avoid:
            shown = ", ".join(unknown_avoid[:5]) + (" ..." if len(unknown_avoid) > 5 else "")
            warnings.append(f"{len(unknown_avoid)} do-not-match key(s) are not in this round's "
                            f"cohort and were ignored: {shown}")
        avoid = {(min(i, index[a]), max(i, index[a]))
                 for i, lst in enumerate(avoid_lists) for a in lst
                 if a in index and index[a] != i}
        past_groups = []
        unknown_members: set[str] = set()
        for g in history:
            if not isinstance(g, PastGroup):
                raise TypeError(f"history must contain PastGroup objects, got {type(g).__name__}")
            if g.month >= month:
                continue
            known = sorted({index[m] for m in g.members if m in index})
            unknown_members.update(m for m in g.members if m not in index)
            past_groups.append((g.month, known, g.topic_key))
        skipped_future = sum(1 for g in history if g.month >= month)
        if skipped_future:
            warnings.append(f"{skipped_future} history group(s) from {month} or later were "
                            "ignored")
        if unknown_members:
            warnings.append(f"{len(unknown_members)} history member key(s) are not in this "
                            "round's cohort and were ignored")
        months = sorted({m for m, _, _ in past_groups}, reverse=True)
        rank = {m: r for r, m in enumerate(months)}
        topic_months = set(months[:TOPIC_MEMORY_ROUNDS])
        recent_topics: list[set[str]] = [set() for _ in keys]
        last: dict[tuple[int, int], str] = {}
        for m, members, topic in past_groups:
            for a, i in enumerate(members):
                if topic and m in topic_months:
                    recent_topics[i].add(topic)
                for j in members[a + 1:]:
                    if last.get((i, j), "") < m:
                        last[(i, j)] = m
        n_months = max(len(months), 1)
        pairs = sorted(last)
        past_i = np.array([p[0] for p in pairs], dtype=np.int64)
        past_j = np.array([p[1] for p in pairs], dtype=np.int64)
        past_month = np.array([last[p] for p in pairs], dtype=object)
        recency = np.array([1.0 - rank[last[p]] / n_months for p in pairs], dtype=np.float64)
        avoid_sorted = sorted(avoid)
        return cls(
            past_i=past_i, past_j=past_j, past_month=past_month,
            past_penalty=REPEAT_PENALTY * (1.0 + recency),
            avoid_i=np.array([p[0] for p in avoid_sorted], dtype=np.int64),
            avoid_j=np.array([p[1] for p in avoid_sorted], dtype=np.int64),
            recent_topics=recent_topics, warnings=warnings,
        )

    def last_met(self) -> dict[tuple[int, int], str]:
        """``{(i, j): month}`` of every past pair."""
        return {(int(i), int(j)): str(m)
                for i, j, m in zip(self.past_i, self.past_j, self.past_month, strict=True)}

    def avoid_set(self) -> set[tuple[int, int]]:
        return {(int(i), int(j)) for i, j in zip(self.avoid_i, self.avoid_j, strict=True)}

    def block_matrices(self, idx: np.ndarray, n_total: int) -> tuple[np.ndarray, np.ndarray,
                                                                        np.ndarray]:
        """Dense ``(past, penalty, avoid)`` matrices restricted to the people ``idx``."""
        pos = np.full(n_total, -1, dtype=np.int64)
        pos[idx] = np.arange(len(idx))
        size = len(idx)
        past = np.zeros((size, size), dtype=bool)
        penalty = np.zeros((size, size), dtype=np.float64)
        avoid = np.zeros((size, size), dtype=bool)
        a, b = pos[self.past_i], pos[self.past_j]
        keep = (a >= 0) & (b >= 0)
        a, b, pen = a[keep], b[keep], self.past_penalty[keep]
        past[a, b] = past[b, a] = True
        penalty[a, b] = penalty[b, a] = pen
        a, b = pos[self.avoid_i], pos[self.avoid_j]
        keep = (a >= 0) & (b >= 0)
        avoid[a[keep], b[keep]] = avoid[b[keep], a[keep]] = True
        return past, penalty, avoid

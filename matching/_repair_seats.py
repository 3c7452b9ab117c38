"""Seat repair: move many people at once between groups with a linear assignment.

The pair, triple and chain repairs change two or three groups at a time, so a fix that needs
a senior to move two groups away, while that group takes someone else's trainee, is found
only by luck. This pass looks at all groups at once. Each group keeps one of its common
meeting starts; its members become seats: a *senior seat*, a *trainee seat* and open seats.
Every person is assigned to one seat (:func:`scipy.optimize.linear_sum_assignment`) with a
cost for a non-senior in a senior seat and a non-trainee in a trainee seat, a small cost for
leaving one's group, and a reward for affinity with the members of the new group; a person
not free at a group's start may not take its seat, so every group with a common window keeps
it. (A group without one asks for its members' best start, at a cost below a window's worth.)

Because the groups' starts are held, the assignment is exact for them: with those starts no
other grouping fills more role seats at less cost. Different starts give different
assignments, so a few rounds are run, the first with each group's most popular start (the
most people free), later ones with random starts. A result replaces the grouping only when it
is better on (forbidden pairs, groups without a window, unmixed groups, minus affinity), so
the pass never makes a grouping worse; it often raises affinity too.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["repair_groups_by_seats"]

#: Cost of a seat left without its role; of a person outside a group's start when the group
#: has no common window (a window outranks a mix); of leaving one's group; and the weight of
#: affinity with the new group (in units of a typical strong tie, the 90th percentile).
_ROLE = 1.0
_NO_TIME = 2.0
_MOVE = 0.2
_AFFINITY = 0.5
#: A seat one must not take (not free at a windowed group's start, or a do-not-match or
#: past partner among its members).
_BANNED = 1e6


def _quality(groups: list[np.ndarray], starts: np.ndarray, weights: np.ndarray,
             forbidden: np.ndarray, senior: np.ndarray, trainee: np.ndarray
             ) -> tuple[int, int, int, float]:
    """(forbidden pairs, groups without a window, unmixed groups, minus affinity)."""
    banned = windowless = unmixed = 0
    affinity = 0.0
    for g in groups:
        sub = np.ix_(g, g)
        banned += int(forbidden[sub].sum()) // 2
        windowless += not np.logical_and.reduce(starts[g], axis=0).any()
        unmixed += not (senior[g].any() and trainee[g].any())
        affinity += float(weights[sub].sum()) / 2.0
    return banned, int(windowless), int(unmixed), -affinity


def _starts_of(groups: list[np.ndarray], starts: np.ndarray, popular: np.ndarray,
               rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    """Per group: the meeting start it keeps, and whether that is a common window."""
    chosen = np.zeros(len(groups), dtype=np.int64)
    common = np.zeros(len(groups), dtype=bool)
    for k, g in enumerate(groups):
        shared = np.flatnonzero(np.logical_and.reduce(starts[g], axis=0))
        if len(shared):
            common[k] = True
            if rng is None:
                chosen[k] = shared[np.argmax(popular[shared])]
            else:
                chosen[k] = rng.choice(shared, p=popular[shared] / popular[shared].sum())
        else:  # the start most members can make
            chosen[k] = int(np.argmax(starts[g].sum(axis=0) * 1000 + popular))
    return chosen, common


def _assign(groups: list[np.ndarray], starts: np.ndarray, weights: np.ndarray,
            forbidden: np.ndarray, senior: np.ndarray, trainee: np.ndarray,
            chosen: np.ndarray, common: np.ndarray) -> list[np.ndarray]:
    n = starts.shape[0]
    seat_group = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    kind = np.concatenate([np.minimum(np.arange(len(g)), 2) for g in groups])  # 0, 1, open
    member = np.zeros((len(groups), n))
    owner = np.empty(n, dtype=np.int64)
    for k, g in enumerate(groups):
        member[k, g] = 1.0
        owner[g] = k
    tie = weights @ member.T  # (n, groups): affinity with each group's current members
    scale = float(np.percentile(np.abs(tie), 90)) or 1.0
    cost = _ROLE * (((kind == 0)[None, :] & ~senior[:, None])
                    + ((kind == 1)[None, :] & ~trainee[:, None]))
    cost = cost + _MOVE * (owner[:, None] != seat_group[None, :])
    cost -= _AFFINITY * tie[:, seat_group] / scale
    free = starts[:, chosen[seat_group]]
    cost += np.where(common[seat_group][None, :], _BANNED, _NO_TIME) * ~free
    clash = (forbidden.astype(np.float64) @ member.T) > 0  # a banned partner in the group
    cost += _BANNED * clash[:, seat_group]
    people, seats = linear_sum_assignment(cost)
    out: list[list[int]] = [[] for _ in groups]
    for person, seat in zip(people, seats, strict=True):
        out[seat_group[seat]].append(int(person))
    return [np.array(sorted(g), dtype=np.int64) for g in out]


def repair_groups_by_seats(groups: list[list[int]], starts: np.ndarray, weights: np.ndarray,
                           forbidden: np.ndarray, *, senior: np.ndarray | None = None,
                           trainee: np.ndarray | None = None, rounds: int = 6, seed: int = 0,
                           deadline: float | None = None) -> list[list[int]]:
    """Reassign everyone to role and open seats of the groups at once; never worse.

    Parameters
    ----------
    groups : list of list of int
        Local indices ``0..n-1``; sizes are kept.
    starts : bool array (n, 672)
        Meeting-start vectors (see :func:`matching.start_matrix`).
    weights : float array (n, n)
        Affinity (rewarded, and the last criterion).
    forbidden : bool array (n, n)
        Pairs (past or do-not-match) a new group must not hold.
    senior, trainee : bool arrays (n,), optional
        Roles; without them only windows and affinity count.
    rounds : int, default=6
        Assignments tried (each group's most popular start first, then random ones).
    seed : int, default=0
        Seed of the random starts.
    deadline : float, optional
        ``time.perf_counter()`` value after which no further round starts.

    Returns
    -------
    list of list of int
    """
    n = starts.shape[0]
    current = [np.array(sorted(int(x) for x in g), dtype=np.int64) for g in groups]
    if n == 0 or len(current) < 2:
        return [g.tolist() for g in current]
    senior = np.zeros(n, bool) if senior is None else np.asarray(senior, bool)
    trainee = np.zeros(n, bool) if trainee is None else np.asarray(trainee, bool)
    forbidden = np.asarray(forbidden, bool)
    popular = starts.sum(axis=0).astype(np.float64)
    best = _quality(current, starts, weights, forbidden, senior, trainee)
    rng = np.random.default_rng(seed)
    for attempt in range(rounds):
        if deadline is not None and time.perf_counter() > deadline:
            break
        chosen, common = _starts_of(current, starts, popular, rng if attempt else None)
        found = _assign(current, starts, weights, forbidden, senior, trainee, chosen, common)
        quality = _quality(found, starts, weights, forbidden, senior, trainee)
        if quality < best:
            best, current = quality, found
    return [g.tolist() for g in current]

"""Voters packed into given sites by tabu search on moves and swaps: the construction's fallback
when places are tight.

Growing areas nearest-first and moving one unit at a time (:mod:`solver.construct`) fail when
the chosen sites hold barely more places than the part has voters: the areas are then a bin
packing, where a unit can only enter a full area if another leaves it. This search moves one unit
or swaps two between areas, taking at each step the step that leaves the fewest voters outside
the bounds (ties: less travel, plus a little noise), and keeps a moved unit where it was put for
a few steps so that the search walks out of dead ends. After KICK_STEPS steps without a better
packing it starts again from the best one with a few units put in other near areas. Once every
area keeps its bounds, moves and swaps that keep them cut travel while one helps.

Measured on the issue's 49-unit, 41-site commune with 12 areas (benchmark ``urban-49-seed2``,
whose 12 largest sites hold 32,500 places for 32,222 voters): the construction found no plan and
the full models none in 60 s; CP-SAT on the packing alone (one worker) took 0.3 to 3.3 s
depending on its seed, HiGHS more than 5 s; this search takes 0.05 s. On 387 random instances
with a planted packing and 0-19 spare places per site (14 to 49 units, 4 to 12 sites) it packed
384 within 3 s each, without the restarts 331.

Areas here need not be contiguous; parts with contiguity have the spanning-tree fallback.
"""

from __future__ import annotations

import time

import numpy as np

#: Steps a moved unit stays where it was put, at most (a quarter of the units that can move, plus
#: a random 0-2 so that cycles break).
TABU_STEPS = 7
#: Steps without a new fewest-broken packing before the search gives up.
STALL_STEPS = 20_000
#: Steps without a new fewest-broken packing before the search starts again from the best one kicked.
KICK_STEPS = 50
#: Share of the units that can move that a kick puts in a random reachable area.
KICK_SHARE = 0.2
#: A kicked unit goes to one of this many areas nearest to it.
KICK_NEAREST = 3
#: Random share of a step's key (keys are voters outside the bounds, travel breaks ties): breaks cycles.
NOISE = 0.25
#: Above this many units the swap tables (units x units, a few of them per step) are too big: moves only.
SWAP_MAX_UNITS = 1_000


def pack(weights: np.ndarray, sparse: np.ndarray, capacity: np.ndarray, lower: int, cost: np.ndarray,
         start: np.ndarray, fixed: np.ndarray, *, deadline: float, seed: int = 0) -> np.ndarray | None:
    """The area (column of ``cost``) of each unit such that every area keeps its bounds, then as
    little travel as moves and swaps reach; None when no such packing was found before
    ``deadline`` or the stall limit.

    ``weights`` voters per unit; ``sparse`` the units whose areas may stay below ``lower`` when
    all their units are sparse; ``capacity`` places per area (the maximum included); ``cost``
    travel of unit to area (``np.inf``: unreachable); ``start`` the area of each unit to begin
    from (reachable); ``fixed`` the units that must stay where they start (each area's own unit,
    pinned units).
    """
    n = cost.shape[0]
    rng = np.random.default_rng(seed)
    state = _Packing(weights, sparse, capacity, lower, cost, start)
    movable = ~fixed.astype(bool)
    best_total, best_area, stalled = state.total(), state.area.copy(), 0
    tabu_until = np.zeros(n, dtype=np.int64)
    steppers = movable & (state.reach.sum(axis=1) > 1)  # units that can go elsewhere at all
    tenure = max(1, min(TABU_STEPS, int(steppers.sum()) // 4))
    step = 0
    while best_total > 0 and stalled < STALL_STEPS and time.monotonic() < deadline:
        step += 1
        if stalled and stalled % KICK_STEPS == 0:  # a dead end: from the best packing, a few units elsewhere
            state = _Packing(weights, sparse, capacity, lower, cost, _kicked(best_area, movable, cost, rng))
            tabu_until[:] = 0
        key, chosen = state.best_step(movable & (tabu_until <= step), rng)
        if not np.isfinite(key):  # every unit that could step is held: take the best step of any
            key, chosen = state.best_step(movable, rng)
            if not np.isfinite(key):
                break
        for unit in state.take(chosen):
            tabu_until[unit] = step + tenure + int(rng.integers(3))
        if state.total() < best_total:
            best_total, best_area, stalled = state.total(), state.area.copy(), 0
        else:
            stalled += 1
    if best_total > 0:
        return None
    # then less travel: the best move or swap that keeps every area within its bounds, while one helps
    state = _Packing(weights, sparse, capacity, lower, cost, best_area)
    while time.monotonic() < deadline:
        key, chosen = state.best_step(movable)
        if not key < -1e-12:
            break
        state.take(chosen)
    return state.area


def _kicked(area: np.ndarray, movable: np.ndarray, cost: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``area`` with a random few movable units each put in one of its KICK_NEAREST nearest areas."""
    out = area.copy()
    units = np.flatnonzero(movable)
    if len(units) == 0:
        return out
    for u in rng.choice(units, size=max(1, int(KICK_SHARE * len(units))), replace=False):
        near = np.argsort(cost[u], kind="stable")[:KICK_NEAREST]
        out[u] = int(rng.choice(near[np.isfinite(cost[u, near])]))
    return out


class _Packing:
    """Units in areas, with each area's voters, dense units and voters outside its bounds."""

    def __init__(self, weights: np.ndarray, sparse: np.ndarray, capacity: np.ndarray, lower: int,
                 cost: np.ndarray, area: np.ndarray):
        self.w = weights.astype(np.int64)
        self.dense = (~sparse.astype(bool)).astype(np.int64)
        self.cap = capacity.astype(np.int64)
        self.lower = int(lower)
        self.reach = np.isfinite(cost)
        self.cost = np.where(self.reach, cost, 0.0)
        # travel only breaks ties: a swap's travel change over this scale stays within (-0.25, 0.25),
        # and with the noise (below 0.25) a key never overturns a whole voter outside the bounds
        self.scale = 8.0 * float(np.abs(self.cost).max(initial=0.0)) + 1.0
        k = cost.shape[1]
        self.area = area.astype(int).copy()
        self.load = np.bincount(self.area, weights=self.w, minlength=k).astype(np.int64)
        self.count = np.bincount(self.area, weights=self.dense, minlength=k).astype(np.int64)
        self.current = self.broken(self.load, self.count, self.cap)

    def broken(self, loads: np.ndarray, counts: np.ndarray, caps: np.ndarray) -> np.ndarray:
        """Voters above the capacity or below the minimum (areas with a dense unit) of each area."""
        return np.maximum(0, loads - caps) + np.where(counts > 0, np.maximum(0, self.lower - loads), 0)

    def total(self) -> int:
        return int(self.current.sum())

    def best_step(self, free: np.ndarray, rng: np.random.Generator | None = None) -> tuple[float, tuple[str, int, int]]:
        """The move of one free unit, or swap of two, that breaks the bounds least, then saves the
        most travel: its key (change in voters outside the bounds + travel change / scale) and the
        step."""
        w, dense, area, load, count, cap = self.w, self.dense, self.area, self.load, self.count, self.cap
        n = len(area)
        here = self.cost[np.arange(n), area]
        leave = self.broken(load[area] - w, count[area] - dense, cap[area]) - self.current[area]
        enter = self.broken(load[None, :] + w[:, None], count[None, :] + dense[:, None], cap[None, :]) \
            - self.current[None, :]
        ok = self.reach & free[:, None]
        ok[np.arange(n), area] = False
        tie = (self.cost - here[:, None]) / self.scale
        if rng is not None:
            tie = tie + NOISE * rng.random(ok.shape)
        move_key = np.where(ok, leave[:, None] + enter + tie, np.inf)
        u, b = np.unravel_index(int(np.argmin(move_key)), move_key.shape)
        best_key, chosen = float(move_key[u, b]), ("move", int(u), int(b))
        if n > SWAP_MAX_UNITS:
            return best_key, chosen
        a_of, b_of = area[:, None], area[None, :]
        delta = w[None, :] - w[:, None]  # voters area(u) gains when u and v trade places
        dense_delta = dense[None, :] - dense[:, None]
        change = self.broken(load[a_of] + delta, count[a_of] + dense_delta, cap[a_of]) \
            + self.broken(load[b_of] - delta, count[b_of] - dense_delta, cap[b_of]) \
            - self.current[a_of] - self.current[b_of]
        to_other = self.cost[:, area]  # [u, v]: travel of u to v's area
        travel = (to_other - here[:, None]) + (to_other.T - here[None, :])
        ok = free[:, None] & free[None, :] & (a_of != b_of) & self.reach[:, area] & self.reach[:, area].T
        ok &= np.triu(np.ones((n, n), dtype=bool), 1)
        tie = travel / self.scale
        if rng is not None:
            tie = tie + NOISE * rng.random(ok.shape)
        swap_key = np.where(ok, change + tie, np.inf)
        u, v = np.unravel_index(int(np.argmin(swap_key)), swap_key.shape)
        if float(swap_key[u, v]) < best_key:
            best_key, chosen = float(swap_key[u, v]), ("swap", int(u), int(v))
        return best_key, chosen

    def take(self, step: tuple[str, int, int]) -> list[int]:
        """Apply a step of :meth:`best_step`; the units it moved."""
        kind, u, other = step
        if kind == "move":
            self._place(u, other)
            return [u]
        a, b = int(self.area[u]), int(self.area[other])
        self._place(u, b)
        self._place(other, a)
        return [u, other]

    def _place(self, u: int, b: int) -> None:
        a = int(self.area[u])
        self.load[a] -= self.w[u]
        self.count[a] -= self.dense[u]
        self.load[b] += self.w[u]
        self.count[b] += self.dense[u]
        self.area[u] = b
        self.current[[a, b]] = self.broken(self.load[[a, b]], self.count[[a, b]], self.cap[[a, b]])

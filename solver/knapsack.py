"""Every site's best area as a 0-1 knapsack over voters, solved exactly by dynamic programming.

In the Lagrangian relaxation (:mod:`solver.lagrange`) each site's subproblem picks the units of
one area: its own unit, then any others whose reduced costs pay, as long as the voters fit. Taken
as a continuous knapsack this is the linear relaxation's bound; taken whole units at a time it is
the bound of the set partitioning model over all areas that fit (Dantzig-Wolfe), often far higher:
on the issue's 49-unit, 41-site commune 13,250 against 12,337, the optimum being 13,615.

The table has one row per site and one column per load: ``best[j, c]`` is the least reduced cost of
an area of site ``j`` with load ``c``. Loads are counted in steps of ``scale`` voters, each unit's
voters rounded down and each site's capacity too: every real area still fits, so every value
stays a valid lower bound (coarser steps only weaken it). The voter minimum is kept only at a
step of one voter; at coarser steps it is dropped, which also keeps the bound valid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Sites:
    """The sites' knapsack data in load steps (see the module text)."""

    weight: np.ndarray  # units: voters in load steps (rounded down)
    root: np.ndarray  # sites: the row of each site's own unit
    lower: np.ndarray  # sites: least load in steps (0 when the minimum is dropped)
    upper: np.ndarray  # sites: most load in steps
    scale: int  # voters per load step

    @property
    def loads(self) -> int:
        """Columns of the table: every load from 0 to the largest capacity."""
        return int(self.upper.max(initial=0)) + 1


def steps(weight: np.ndarray, root: np.ndarray, lower: np.ndarray, upper: np.ndarray, max_loads: int) -> Sites:
    """The knapsack data with at most ``max_loads`` load columns (one voter per step when that fits)."""
    scale = max(1, math.ceil(float(upper.max(initial=0)) / max(1, max_loads - 1)))
    return Sites(np.floor(weight / scale).astype(int), root.astype(int),
                 np.ceil(lower - 1e-9).astype(int) if scale == 1 else np.zeros(len(lower), dtype=int),
                 np.floor(upper / scale + 1e-9).astype(int), scale)


def _start(sites: Sites, reduced: np.ndarray) -> np.ndarray:
    """The table with only each site's own unit in its area (inf where it alone is too heavy)."""
    m = len(sites.root)
    best = np.full((m, sites.loads), np.inf)
    own = sites.weight[sites.root]
    fits = own <= sites.upper
    columns = np.arange(m)[fits]
    best[columns, own[fits]] = reduced[sites.root[fits], columns]
    return best


def _add(best: np.ndarray, weight: int, cost: np.ndarray) -> np.ndarray:
    """Offer one unit (``cost`` per site, inf where not allowed) to every site's table, in place;
    returns where taking it improved the table (sites x loads)."""
    if weight == 0:
        taken = np.broadcast_to((cost < 0)[:, None], best.shape).copy()
        best[taken[:, 0]] += cost[taken[:, 0], None]
        return taken
    if weight >= best.shape[1]:
        return np.zeros(best.shape, dtype=bool)  # heavier than any site holds
    candidate = best[:, :best.shape[1] - weight] + cost[:, None]
    better = candidate < best[:, weight:]
    best[:, weight:] = np.where(better, candidate, best[:, weight:])
    taken = np.zeros(best.shape, dtype=bool)
    taken[:, weight:] = better
    return taken


def _valid(sites: Sites) -> np.ndarray:
    """Which (site, load) cells are areas within the site's bounds."""
    load = np.arange(sites.loads)
    return (load[None, :] >= sites.lower[:, None]) & (load[None, :] <= sites.upper[:, None])


def best_areas(sites: Sites, reduced: np.ndarray, allowed: np.ndarray,
               members_of: np.ndarray | Callable[[np.ndarray], np.ndarray] | None = None,
               ) -> tuple[np.ndarray, dict[int, list[int]]]:
    """Per site, the least reduced cost of a valid area (inf: none), and for the sites in
    ``members_of`` (or those it picks from the values) the rows of the units of such an area
    (own unit first).
    ``reduced``/``allowed``: units x sites; the own unit's entry gives its cost (always in)."""
    n, m = reduced.shape
    offer = np.where(allowed, reduced, np.inf)
    offer[sites.root, np.arange(m)] = np.inf
    best = _start(sites, reduced)
    trace = [] if members_of is not None else None
    for i in range(n):
        if not np.isfinite(offer[i]).any():
            if trace is not None:
                trace.append(None)
            continue
        taken = _add(best, int(sites.weight[i]), offer[i])
        if trace is not None:
            trace.append(taken)
    table = np.where(_valid(sites), best, np.inf)
    load = table.argmin(axis=1)
    value = table[np.arange(m), load]
    members: dict[int, list[int]] = {}
    if callable(members_of):  # chosen from the values (the subgradient traces only the sites it opens)
        members_of = members_of(value)
    for j in ([] if members_of is None else np.asarray(members_of).tolist()):
        if not math.isfinite(value[j]):
            continue
        c, rows = int(load[j]), [int(sites.root[j])]
        for i in range(n - 1, -1, -1):
            taken = trace[i]
            if taken is not None and taken[j, c]:
                rows.append(i)
                c -= int(sites.weight[i])
        members[j] = rows
    return value, members


def with_unit(sites: Sites, reduced: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Units x sites: the least reduced cost of an area of the site that holds the unit, the voter
    minimum dropped (inf where the pair is not allowed or no such area fits). A lower bound of the
    same with the minimum, hence valid for fixing. Forward tables for the units before, suffix tables
    (lightest cost up to each load) for the units after, joined at the capacity."""
    n, m = reduced.shape
    offer = np.where(allowed, reduced, np.inf)
    columns = np.arange(m)
    offer[sites.root, columns] = np.inf
    loads = sites.loads
    # suffix[i][j, c]: least cost of units i.. (own unit excluded) with load at most c
    suffix = np.empty((n + 1, m, loads))
    after = np.full((m, loads), np.inf)
    after[:, 0] = 0.0
    suffix[n] = np.minimum.accumulate(after, axis=1)
    for i in range(n - 1, -1, -1):
        if np.isfinite(offer[i]).any():
            _add(after, int(sites.weight[i]), offer[i])
        suffix[i] = np.minimum.accumulate(after, axis=1)
    out = np.full((n, m), np.inf)
    before = _start(sites, reduced)
    load = np.arange(loads)
    for i in range(n):
        w = int(sites.weight[i])
        room = sites.upper[:, None] - w - load[None, :]  # load left for the units after, per (site, load before)
        ok = room >= 0
        rest = np.take_along_axis(suffix[i + 1], np.clip(room, 0, loads - 1), axis=1)
        joined = np.where(ok, before + rest, np.inf).min(axis=1)
        out[i] = np.where(np.isfinite(offer[i]), offer[i] + joined, np.inf)
        if np.isfinite(offer[i]).any():
            _add(before, w, offer[i])
    # the own unit is in every area of its site: the best area at all (minimum dropped)
    whole = np.minimum.accumulate(before, axis=1)
    out[sites.root, columns] = whole[columns, np.clip(sites.upper, 0, loads - 1)]
    return out

"""Which unit-site pairs the assignment model has, and what each costs.

Shared by the HiGHS model (:mod:`solver.highs`) and its Lagrangian relaxation
(:mod:`solver.lagrange`), so both see exactly the same pairs and costs: a bound or a fixing
computed on one is valid for the other.
"""

from __future__ import annotations

import heapq
import math
import threading
import weakref
from typing import Sequence

import numpy as np

from solver.parts import Part
from solver.problem import UNREACHABLE_KM, PlanningProblem


#: Light paths computed lately (see :func:`light_paths`), by problem, units and limit; the problem
#: is held weakly, so an entry never serves another problem that reuses its id.
_PATHS: dict[tuple[int, tuple[int, ...], float], tuple[weakref.ref, dict[int, set[int]]]] = {}
_PATHS_MAX = 64
_PATHS_LOCK = threading.Lock()


def light_paths(problem: PlanningProblem, units: Sequence[int], limit: float) -> dict[int, set[int]]:
    """For each unit, the units joined to it by a chain whose total weight (both ends included)
    stays within ``limit``: the only units a connected area of at most ``limit`` voters can
    hold together with it. Dijkstra over vertex weights, restricted to ``units``. Every HiGHS
    model of a solve asks again for the same units (Validi KS: 9 times, 11 ms each), so recent
    answers are kept and handed out again (callers only read them)."""
    key = (id(problem), tuple(int(u) for u in units), float(limit))
    with _PATHS_LOCK:  # the racing routes build their models in threads of their own
        kept = _PATHS.get(key)
    if kept is not None and kept[0]() is problem:
        return kept[1]
    out = _light_paths(problem, key[1], limit)
    with _PATHS_LOCK:
        while len(_PATHS) >= _PATHS_MAX:
            del _PATHS[next(iter(_PATHS))]
        _PATHS[key] = (weakref.ref(problem), out)
    return out


def _light_paths(problem: PlanningProblem, units: Sequence[int], limit: float) -> dict[int, set[int]]:
    inside = set(units)
    weight = problem.weights
    out: dict[int, set[int]] = {}
    for source in units:
        best = {source: float(weight[source])}
        heap = [(float(weight[source]), source)]
        while heap:
            d, u = heapq.heappop(heap)
            if d > best.get(u, math.inf):
                continue
            for v in problem.neighbours[u]:
                if v not in inside:
                    continue
                nd = d + float(weight[v])
                if nd <= limit and nd < best.get(v, math.inf):
                    best[v] = nd
                    heapq.heappush(heap, (nd, v))
        out[source] = set(best)
    return out


def model_pairs(problem: PlanningProblem, part: Part,
                restrict: dict[int, set[int]] | None = None) -> dict[int, list[int]]:
    """Units each site of the part may serve: finite distance, within the travel bound, and (with
    contiguity) joined to the site's unit by a chain light enough to fit in one area. The site's own
    unit is always offered unless it has voters beyond the travel bound: the site then stays closed,
    as in the CP-SAT model and :func:`within_travel`.
    ``restrict[j]``: the only units site ``j`` is offered (None: every unit of the part)."""
    paths = light_paths(problem, part.units, float(problem.max_voters)) if problem.contiguity else None
    out: dict[int, list[int]] = {}
    for j in part.sites:
        root = int(problem.site_unit[j])
        allowed = []
        offered = part.units if restrict is None else sorted(restrict.get(j, ()))
        for i in offered:
            d = float(problem.distance[i, j])
            if i == root:
                if not _beyond_travel(problem, i, d):
                    allowed.append(i)
                continue
            if not np.isfinite(d):
                continue
            if _beyond_travel(problem, i, d):
                continue
            if paths is not None and root not in paths[i]:
                continue
            allowed.append(i)
        out[j] = allowed
    return out


def _beyond_travel(problem: PlanningProblem, unit: int, distance: float) -> bool:
    """Whether ``unit`` has voters and ``distance`` (km, inf when unreachable) is beyond the travel bound."""
    return problem.max_travel_km is not None and problem.weights[unit] > 0 and distance > problem.max_travel_km + 1e-9


def beyond_travel(problem: PlanningProblem, units: Sequence[int], sites: Sequence[int] | int) -> np.ndarray:
    """Per unit of ``units``, served from the matching entry of ``sites`` (or all from one site):
    whether it has voters beyond the travel bound (the rule :func:`model_pairs` applies pair by
    pair; never without a bound)."""
    units = np.asarray(list(units), dtype=int)
    if problem.max_travel_km is None:
        return np.zeros(len(units), dtype=bool)
    sites = np.broadcast_to(np.asarray(sites, dtype=int), units.shape)
    return (problem.weights[units] > 0) & (problem.distance[units, sites] > problem.max_travel_km + 1e-9)


def within_travel(problem: PlanningProblem, units: Sequence[int], site: int) -> bool:
    """Whether ``site`` is within the travel bound of every unit of ``units`` that has voters."""
    return not bool(beyond_travel(problem, units, site).any())


def pair_cost(problem: PlanningProblem, unit: int, site: int) -> float:
    """The model's cost of serving ``unit`` from ``site``: weighted travel, less the keep-what-exists
    weight when the previous plan had the same pair (the constant :func:`keep_offset` adds it back)."""
    d = float(problem.distance[unit, site])
    cost = float(problem.cost_w[unit]) * (d if np.isfinite(d) else UNREACHABLE_KM)
    if problem.previous and problem.keep_weight > 0 and problem.previous.get(unit) == site:
        cost -= problem.keep_weight
    return cost


def pair_costs(problem: PlanningProblem) -> np.ndarray:
    """Units x sites, all at once: :func:`pair_cost` of every pair :func:`model_pairs` may offer, inf
    where it never does (unreachable, or beyond the travel bound for a unit with voters; a site's
    own unit has its pair unless it has voters beyond the travel bound). Contiguity's filter (a light
    enough chain to the site) is left to the caller: every set :mod:`solver.partition` lists passes
    it already."""
    distance = problem.distance
    finite = np.isfinite(distance)
    own = np.zeros(distance.shape, dtype=bool)
    own[problem.site_unit, np.arange(problem.n_sites)] = True
    cost = problem.cost_w[:, None].astype(float) * np.where(finite, distance, UNREACHABLE_KM)
    near = np.ones(distance.shape, dtype=bool)
    if problem.max_travel_km is not None:
        near = ~((problem.weights[:, None] > 0) & (distance > problem.max_travel_km + 1e-9))
    if problem.previous and problem.keep_weight > 0:
        for u, j in problem.previous.items():
            cost[int(u), int(j)] -= problem.keep_weight
    return np.where((finite | own) & near, cost, np.inf)


def keep_offset(problem: PlanningProblem, parts: Sequence[Part]) -> float:
    """Constant part of the objective: the keep-what-exists weight of every unit the previous plan had."""
    if not problem.previous or problem.keep_weight <= 0:
        return 0.0
    return problem.keep_weight * sum(1 for part in parts for u in part.units if u in problem.previous)


def site_cost(problem: PlanningProblem, fixed_total: int | None) -> float:
    """The price of opening a site: the area cost when the number of areas is priced, else 0."""
    return problem.area_cost if fixed_total is None and problem.max_travel_km is None else 0.0

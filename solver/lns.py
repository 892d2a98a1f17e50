"""Large-neighbourhood search for big parts, and a linear-relaxation lower bound.

A part with thousands of units (a fine-grained urban ward) is too big for the full flow model.
LNS keeps the current valid plan and repeatedly re-solves, exactly with CP-SAT, the units of a
few touching areas with the sites standing in them, accepting strictly better plans. The bound
comes from the LP relaxation of the capacitated assignment (contiguity dropped), so the gap we
report is a true optimality gap, if a loose one.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from solver.parts import Part, split_parts
from solver.problem import PlanningProblem

#: Units re-optimised together in one LNS step.
NEIGHBOURHOOD_UNITS = 90
#: Time for one LNS step (seconds).
STEP_SECONDS = 3.0


def restrict(problem: PlanningProblem, units: Sequence[int], sites: Sequence[int], *,
             areas: int | None) -> PlanningProblem:
    """The sub-problem over some units and the sites standing in them (re-indexed from 0), each
    unit still in its own electoral unit."""
    units = list(units)
    sites = list(sites)
    groups, group = np.unique(problem.group[units], return_inverse=True)
    local = {u: i for i, u in enumerate(units)}
    site_local = {s: i for i, s in enumerate(sites)}
    return PlanningProblem(
        unit_ids=tuple(problem.unit_ids[u] for u in units),
        weights=problem.weights[units],
        cost_weights=None if problem.cost_weights is None else problem.cost_weights[units],
        contiguity=problem.contiguity,
        sparse=problem.sparse[units],
        group=group.astype(int),
        group_labels=tuple(problem.group_labels[int(g)] for g in groups),
        neighbours=tuple(tuple(local[v] for v in problem.neighbours[u] if v in local) for u in units),
        site_ids=tuple(problem.site_ids[s] for s in sites),
        site_unit=np.array([local[int(problem.site_unit[s])] for s in sites], dtype=int),
        capacity=problem.capacity[sites],
        distance=problem.distance[np.ix_(units, sites)],
        min_voters=problem.min_voters,
        max_voters=problem.max_voters,
        areas=areas,
        max_travel_km=problem.max_travel_km,
        area_cost=problem.area_cost,
        unit_names=tuple(problem.name(u) for u in units),
        pinned={local[u]: site_local[s] for u, s in problem.pinned.items() if u in local and s in site_local},
        forced_open=frozenset(site_local[s] for s in problem.forced_open if s in site_local),
        forced_closed=frozenset(site_local[s] for s in problem.forced_closed if s in site_local),
        previous={local[u]: site_local[s] for u, s in problem.previous.items() if u in local and s in site_local},
        keep_weight=problem.keep_weight,
    )


def _neighbourhood(problem: PlanningProblem, members: dict[int, set[int]], unit_site: dict[int, int],
                   rng: np.random.Generator) -> list[int]:
    """A few touching areas around a random one, up to about NEIGHBOURHOOD_UNITS units."""
    sites = sorted(members)
    start = sites[int(rng.integers(len(sites)))]
    chosen = [start]
    size = len(members[start])
    frontier = [start]
    while frontier and size < NEIGHBOURHOOD_UNITS:
        site = frontier.pop(0)
        touching = sorted({unit_site[v] for u in members[site] for v in problem.neighbours[u]
                           if v in unit_site and unit_site[v] != site} - set(chosen))
        rng.shuffle(touching)
        for other in touching:
            if size + len(members[other]) > 1.5 * NEIGHBOURHOOD_UNITS and len(chosen) > 1:
                continue
            chosen.append(other)
            frontier.append(other)
            size += len(members[other])
    return chosen


def improve_lns(problem: PlanningProblem, parts: Sequence[Part], start: dict[int, int], *, deadline: float,
                seed: int, fixed_count: bool) -> tuple[dict[int, int], list[str]]:
    """Improve a valid plan of the parts until the deadline; the number of areas stays when fixed."""
    from solver.exact import solve_exact  # local import: exact imports nothing from here

    rng = np.random.default_rng(seed)
    part_units = {u for p in parts for u in p.units}
    part_sites = sorted({s for p in parts for s in p.sites})
    current = {u: s for u, s in start.items() if u in part_units}
    sites_in_unit: dict[int, list[int]] = {}
    for s in part_sites:
        sites_in_unit.setdefault(int(problem.site_unit[s]), []).append(s)
    steps = 0
    while time.monotonic() < deadline - 0.2:
        members: dict[int, set[int]] = {}
        for u, s in current.items():
            members.setdefault(s, set()).add(u)
        if len(members) < 2 and fixed_count:
            break
        areas = _neighbourhood(problem, members, current, rng)
        units = sorted(u for s in areas for u in members[s])
        sites = sorted(s for u in units for s in sites_in_unit.get(u, []))
        sub = restrict(problem, units, sites, areas=len(areas) if fixed_count else None)
        local_of_site = {s: i for i, s in enumerate(sites)}
        hint = {i: local_of_site[current[u]] for i, u in enumerate(units)}
        before = _sub_objective(sub, hint)
        outcome = solve_exact(sub, split_parts(sub), fixed_total=sub.areas, seed=seed + steps,
                              time_limit=min(STEP_SECONDS, max(0.1, deadline - time.monotonic())), hint=hint,
                              explain=False, workers=None)
        steps += 1
        if outcome.status in ("optimal", "feasible"):
            after = _sub_objective(sub, outcome.assignment)
            if after < before - 1e-6:
                for i, s in outcome.assignment.items():
                    current[units[i]] = sites[s]
    return current, ["feasible"] * len(parts)


def _sub_objective(sub: PlanningProblem, assignment: dict[int, int]) -> float:
    from solver.problem import model_objective

    array = np.array([assignment[i] for i in range(sub.n_units)], dtype=int)
    return model_objective(sub, array)


def relaxation_bound(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None,
                     time_limit: float) -> float | None:
    """Lower bound from the LP relaxation of the capacitated assignment (no contiguity), voter-km."""
    from ortools.linear_solver import pywraplp

    lp = pywraplp.Solver.CreateSolver("GLOP")
    if lp is None:
        return None
    lp.SetTimeLimit(int(max(1.0, time_limit) * 1000))
    x: dict[tuple[int, int], object] = {}
    y: dict[int, object] = {}
    objective = lp.Objective()
    per_cost = problem.areas is None and problem.max_travel_km is None and fixed_total is None
    for part in parts:
        for j in part.sites:
            y[j] = lp.NumVar(0.0, 1.0, f"y{j}")
            if per_cost:
                objective.SetCoefficient(y[j], problem.area_cost)
        for u in part.units:
            row = lp.Constraint(1.0, 1.0)
            for j in part.sites:
                d = float(problem.distance[u, j])
                if not np.isfinite(d):
                    continue
                if problem.max_travel_km is not None and problem.weights[u] > 0 and d > problem.max_travel_km:
                    continue
                var = lp.NumVar(0.0, 1.0, "")
                x[u, j] = var
                row.SetCoefficient(var, 1.0)
                objective.SetCoefficient(var, float(problem.cost_w[u]) * d)
                link = lp.Constraint(-lp.infinity(), 0.0)
                link.SetCoefficient(var, 1.0)
                link.SetCoefficient(y[j], -1.0)
        for j in part.sites:
            load = lp.Constraint(-lp.infinity(), 0.0)
            for u in part.units:
                if (u, j) in x:
                    load.SetCoefficient(x[u, j], float(problem.weights[u]))
            load.SetCoefficient(y[j], -float(min(problem.capacity[j], problem.max_voters)))
            root = int(problem.site_unit[j])
            if (root, j) in x:
                tie = lp.Constraint(0.0, 0.0)
                tie.SetCoefficient(x[root, j], 1.0)
                tie.SetCoefficient(y[j], -1.0)
        least = lp.Constraint(float(part.min_areas(problem)), lp.infinity())
        for j in part.sites:
            least.SetCoefficient(y[j], 1.0)
    if fixed_total is not None:
        total = lp.Constraint(float(fixed_total), float(fixed_total))
        for var in y.values():
            total.SetCoefficient(var, 1.0)
    objective.SetMinimization()
    status = lp.Solve()
    if status != pywraplp.Solver.OPTIMAL:
        return None
    return float(objective.Value())

"""The same model as a mixed-integer programme, solved by SCIP through OR-Tools.

Measured on the capacitated p-median instances (no contiguity), a MIP with its LP bound proves
optima that CP-SAT only approaches in the same time; with contiguity, flows are continuous here
(single-commodity, rooted at each site's unit), which an LP-based solver handles well. The
engine is chosen per problem shape in :mod:`solver.solve`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from solver.parts import Part
from solver.problem import PlanningProblem


@dataclass
class MipOutcome:
    status: str  # optimal | feasible | infeasible | unknown
    assignment: dict[int, int]
    bound: float | None
    objective: float | None
    seconds: float


def solve_mip(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None, time_limit: float,
              hint: dict[int, int] | None = None, threads: int | None = None) -> MipOutcome:
    """Travel (+ area price when the count is free) over the parts, with every rule of the model."""
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:
        return MipOutcome("unknown", {}, None, None, 0.0)
    solver.SetTimeLimit(int(max(0.1, time_limit) * 1000))
    if threads:
        solver.SetNumThreads(threads)
    infinity = solver.infinity()
    x: dict[tuple[int, int], object] = {}
    y: dict[int, object] = {}
    objective = solver.Objective()
    for part in parts:
        units = set(part.units)
        serving: dict[int, list[int]] = {u: [] for u in part.units}
        for j in part.sites:
            y[j] = solver.BoolVar(f"y{j}")
            if fixed_total is None and problem.max_travel_km is None:
                objective.SetCoefficient(y[j], problem.area_cost)
            root = int(problem.site_unit[j])
            for i in part.units:
                d = float(problem.distance[i, j])
                if not np.isfinite(d) and i != root:
                    continue
                if problem.max_travel_km is not None and i != root and problem.weights[i] > 0 \
                        and d > problem.max_travel_km + 1e-9:
                    continue
                x[i, j] = solver.BoolVar(f"x{i}_{j}")
                serving[i].append(j)
                objective.SetCoefficient(x[i, j], float(problem.cost_w[i]) * (d if np.isfinite(d) else 1000.0))
                solver.Add(x[i, j] <= y[j])
            solver.Add(x[root, j] == y[j])
        for i, sites in serving.items():
            solver.Add(sum(x[i, j] for j in sites) == 1)
        for j in part.sites:
            members = [i for i in part.units if (i, j) in x]
            load = sum(float(problem.weights[i]) * x[i, j] for i in members)
            solver.Add(load <= float(min(problem.capacity[j], problem.max_voters)) * y[j])
            if problem.min_voters > 0:
                if part.any_sparse:
                    small = solver.BoolVar(f"small{j}")
                    solver.Add(small <= y[j])
                    for i in members:
                        if not problem.sparse[i]:
                            solver.Add(x[i, j] + small <= 1)
                    solver.Add(load >= problem.min_voters * (y[j] - small))
                else:
                    solver.Add(load >= problem.min_voters * y[j])
            if problem.contiguity and len(members) > 1:
                _flow(solver, problem, j, members, units, x, infinity)
    for u, j in problem.pinned.items():
        if (u, j) in x:
            solver.Add(x[u, j] == 1)
    for j in problem.forced_open:
        if j in y:
            solver.Add(y[j] == 1)
    if fixed_total is not None:
        solver.Add(sum(y.values()) == fixed_total)
    if problem.previous and problem.keep_weight > 0:
        for u, j in problem.previous.items():
            if (u, j) in x:
                objective.SetCoefficient(x[u, j], objective.GetCoefficient(x[u, j]) - problem.keep_weight)
    objective.SetMinimization()
    if hint:
        variables, values = [], []
        for (i, j), var in x.items():
            variables.append(var)
            values.append(1.0 if hint.get(i) == j else 0.0)
        for j, var in y.items():
            variables.append(var)
            values.append(1.0 if j in set(hint.values()) else 0.0)
        solver.SetHint(variables, values)
    status = solver.Solve()
    seconds = solver.wall_time() / 1000.0
    if status in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        assignment = {i: j for (i, j), var in x.items() if var.solution_value() > 0.5}
        keep = problem.keep_weight * sum(1 for u in problem.previous if u in {i for p in parts for i in p.units}) \
            if problem.previous and problem.keep_weight > 0 else 0.0
        bound = objective.BestBound() + keep
        name = "optimal" if status == pywraplp.Solver.OPTIMAL else "feasible"
        return MipOutcome(name, assignment, bound, objective.Value() + keep, seconds)
    if status == pywraplp.Solver.INFEASIBLE:
        return MipOutcome("infeasible", {}, None, None, seconds)
    return MipOutcome("unknown", {}, None, None, seconds)


def _flow(solver, problem: PlanningProblem, j: int, members: list[int], units: set[int],
          x: dict[tuple[int, int], object], infinity: float) -> None:
    """Continuous single-commodity flow from the site's unit: each other member consumes one unit."""
    root = int(problem.site_unit[j])
    inside = set(members)
    big = float(len(members) - 1)
    inflow: dict[int, list] = {u: [] for u in members}
    outflow: dict[int, list] = {u: [] for u in members}
    for u in members:
        for v in problem.neighbours[u]:
            if v not in inside or v == root:
                continue
            f = solver.NumVar(0.0, big, "")
            solver.Add(f <= big * x[u, j])
            solver.Add(f <= big * x[v, j])
            outflow[u].append(f)
            inflow[v].append(f)
    for v in members:
        if v != root:
            solver.Add(sum(inflow[v]) - sum(outflow[v]) == x[v, j])

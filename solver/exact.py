"""Exact model: CP-SAT over units x sites with single-commodity flow contiguity.

Variables: ``x[i, j]`` unit i is in the area of site j; ``y[j]`` site j is open; ``small[j]``
the area of j is below the minimum, allowed only when all its units are sparse (R3); flows
``f[j, u, v]`` carry one unit of flow from the site's unit to every other unit of its area
along adjacency arcs inside the area, so each area is connected (an exact formulation, not a
repair). Optional assumptions switch rule families on, so that an infeasible model names the
rules in conflict (CP-SAT's sufficient assumptions for infeasibility).
"""

from __future__ import annotations

import math
import os
from collections import deque
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from ortools.sat.python import cp_model

from solver.graph import cut_off_pieces, reachable
from solver.parts import Part
from solver.problem import UNREACHABLE_KM, Diagnostic, PlanningProblem

SCALE = 1000  # objective in voter-metres


@dataclass
class ExactOutcome:
    """Result of one CP-SAT run over some parts."""

    status: str  # optimal | feasible | infeasible | unknown
    assignment: dict[int, int]
    objective: float  # voter-km (travel only)
    bound: float | None  # lower bound on the full objective (voter-km units, travel + penalties)
    full_objective: float | None
    seconds: float
    diagnostics: list[Diagnostic] = field(default_factory=list)
    branches: int = 0


@dataclass
class _Model:
    model: cp_model.CpModel
    x: dict[tuple[int, int], cp_model.IntVar]
    y: dict[int, cp_model.IntVar]
    flows: dict[tuple[int, int, int], cp_model.IntVar]
    assumptions: dict[cp_model.IntVar, Diagnostic]
    travel_terms: list[tuple[cp_model.IntVar, int]]
    candidates: dict[int, list[int]]


def _candidates(problem: PlanningProblem, part: Part, travel_bound: float | None) -> dict[int, list[int]]:
    """Units each site of the part may serve: finite distance and a path to the site's unit."""
    units = set(part.units)
    out: dict[int, list[int]] = {}
    for j in part.sites:
        root = int(problem.site_unit[j])
        allowed = {u for u in units if np.isfinite(problem.distance[u, j])}
        allowed.add(root)
        if not problem.contiguity:
            out[j] = sorted(allowed)
            continue
        out[j] = sorted(reachable(problem, root, allowed))  # only units joined to the root through allowed ones
    return out


def build_model(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None,
                minimize: str = "cost", with_assumptions: bool = True, formulation: str = "flow",
                cuts: Sequence[tuple[int, tuple[int, ...], tuple[int, ...]]] = ()) -> _Model:
    """The CP-SAT model of the given parts (a fixed area count couples them).

    ``minimize="cost"``: travel, plus the price of each area when the count is not fixed, plus
    the keep-what-exists penalty; ``minimize="count"``: the number of open areas.
    """
    model = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    y: dict[int, cp_model.IntVar] = {}
    flows: dict[tuple[int, int, int], cp_model.IntVar] = {}
    assumptions: dict[cp_model.IntVar, Diagnostic] = {}
    travel_terms: list[tuple[cp_model.IntVar, int]] = []
    penalty_terms: list[tuple[cp_model.IntVar, int]] = []
    all_candidates: dict[int, list[int]] = {}

    def assumption(name: str, diagnostic: Diagnostic) -> cp_model.IntVar | None:
        if not with_assumptions:
            return None
        literal = model.new_bool_var(name)
        assumptions[literal] = diagnostic
        return literal

    scale = objective_scale(problem)
    travel_literal = None
    if problem.max_travel_km is not None:
        travel_literal = assumption("travel_bound", Diagnostic("conflict_travel", {"km": problem.max_travel_km}))

    for part in parts:
        candidates = _candidates(problem, part, problem.max_travel_km)
        all_candidates.update(candidates)
        eu = problem.group_labels[part.group]
        # --- assignment (R13: every unit in exactly one area)
        serving: dict[int, list[int]] = {u: [] for u in part.units}
        for j, units in candidates.items():
            y[j] = model.new_bool_var(f"y[{j}]")
            for i in units:
                x[i, j] = model.new_bool_var(f"x[{i},{j}]")
                serving[i].append(j)
                model.add_implication(x[i, j], y[j])
            model.add(x[int(problem.site_unit[j]), j] == y[j])
        for i, sites in serving.items():
            model.add_exactly_one(x[i, j] for j in sites)
        # --- voters within bounds and capacity (R2, R3, R8)
        min_literal = assumption(f"min[{part.index}]", Diagnostic(
            "conflict_min_voters", {"eu": eu, "min_voters": problem.min_voters,
                                    "units": ", ".join(problem.unit_ids[u] for u in part.units[:8])}))
        for j, units in candidates.items():
            load = sum(int(problem.weights[i]) * x[i, j] for i in units)
            cap = int(min(problem.capacity[j], problem.max_voters))
            model.add(load <= cap * y[j])
            if problem.min_voters <= 0:
                continue
            if part.any_sparse:
                small = model.new_bool_var(f"small[{j}]")
                model.add_implication(small, y[j])
                for i in units:
                    if not problem.sparse[i]:
                        model.add_bool_or([x[i, j].Not(), small.Not()])
                constraint = model.add(load >= problem.min_voters * (y[j] - small))
            else:
                constraint = model.add(load >= problem.min_voters * y[j])
            if min_literal is not None:
                constraint.only_enforce_if(min_literal)
        # --- contiguity: single-commodity flow rooted at the site's unit
        if problem.contiguity and formulation == "flow":
            for j, units in candidates.items():
                _add_flow(model, problem, j, units, x, y, flows)
        elif problem.contiguity:
            for j, units in candidates.items():
                _add_touching(model, problem, j, units, x)
        # --- travel bound
        if problem.max_travel_km is not None:
            for j, units in candidates.items():
                for i in units:
                    if problem.weights[i] > 0 and problem.distance[i, j] > problem.max_travel_km + 1e-9:
                        if travel_literal is not None:
                            model.add_implication(travel_literal, x[i, j].Not())
                        else:
                            model.add(x[i, j] == 0)
        # --- travel objective
        for j, units in candidates.items():
            for i in units:
                d = float(problem.distance[i, j])
                d = d if np.isfinite(d) else UNREACHABLE_KM  # only a site's own unit can be unreachable here
                coefficient = int(round(float(problem.cost_w[i]) * d * scale))
                if coefficient > 0:
                    travel_terms.append((x[i, j], coefficient))

    for j, component, separator in cuts:  # cut formulation: v in C needs a unit of N(C) \ C
        for v in component:
            if (v, j) in x:
                model.add(x[v, j] <= sum(x[u, j] for u in separator if (u, j) in x))
    # --- locks
    in_parts = {u for part in parts for u in part.units}
    for u, j in sorted(problem.pinned.items()):
        if u not in in_parts:
            continue
        literal = assumption(f"pin[{u}]", Diagnostic("conflict_pin", {"unit": problem.unit_ids[u],
                                                                      "site": problem.site_ids[j]}))
        # a pin to a site the unit cannot reach (no such pair in the model) cannot hold
        served = x[u, j] if (u, j) in x else model.new_constant(0)
        if literal is not None:
            model.add_implication(literal, served)
        else:
            model.add(served == 1)
    for j in sorted(problem.forced_open):
        if j in y:
            literal = assumption(f"open[{j}]", Diagnostic("conflict_open", {"site": problem.site_ids[j]}))
            if literal is not None:
                model.add_implication(literal, y[j])
            else:
                model.add(y[j] == 1)
    # --- number of areas
    if fixed_total is not None:
        literal = assumption("area_count", Diagnostic("conflict_area_count", {"areas": fixed_total}))
        constraint = model.add(sum(y.values()) == fixed_total)
        if literal is not None:
            constraint.only_enforce_if(literal)
    if minimize == "count":
        model.minimize(sum(y.values()))
        return _Model(model, x, y, flows, assumptions, travel_terms, all_candidates)
    if fixed_total is None:
        cost = int(round(problem.area_cost * scale))
        penalty_terms.extend((var, cost) for var in y.values())
    # --- keep what exists
    if problem.previous and problem.keep_weight > 0:
        cost = int(round(problem.keep_weight * scale))
        for u, j in problem.previous.items():
            if (u, j) in x:
                penalty_terms.append((x[u, j], -cost))  # reward staying; constant added back below
    model.minimize(sum(c * v for v, c in travel_terms) + sum(c * v for v, c in penalty_terms))
    return _Model(model, x, y, flows, assumptions, travel_terms, all_candidates)


def objective_scale(problem: PlanningProblem) -> float:
    """Integer scaling of the objective: metres, unless coefficients would grow too large for CP-SAT."""
    finite = np.where(np.isfinite(problem.distance), problem.distance, 0.0)
    largest = float((problem.cost_w[:, None] * finite).max()) if finite.size else 0.0
    largest = max(largest, problem.area_cost, problem.keep_weight)
    return float(SCALE) if largest * SCALE <= 1e12 else 1e12 / largest


def _add_flow(model: cp_model.CpModel, problem: PlanningProblem, j: int, units: list[int],
              x: dict[tuple[int, int], cp_model.IntVar], y: dict[int, cp_model.IntVar],
              flows: dict[tuple[int, int, int], cp_model.IntVar]) -> None:
    root = int(problem.site_unit[j])
    members = set(units)
    if len(members) <= 1:
        return
    big = len(members) - 1
    inflow: dict[int, list[cp_model.IntVar]] = {u: [] for u in units}
    outflow: dict[int, list[cp_model.IntVar]] = {u: [] for u in units}
    for u in units:
        for v in problem.neighbours[u]:
            if v not in members or v == root:
                continue
            f = model.new_int_var(0, big, f"f[{j},{u},{v}]")
            flows[j, u, v] = f
            model.add(f <= big * x[u, j])
            model.add(f <= big * x[v, j])
            outflow[u].append(f)
            inflow[v].append(f)
    for v in units:
        if v == root:
            continue
        model.add(sum(inflow[v]) - sum(outflow[v]) == x[v, j])
        # a unit of an area other than the root has a neighbour in the same area
        touching = [x[u, j] for u in problem.neighbours[v] if u in members]
        model.add_bool_or([x[v, j].Not(), *touching])


def _add_touching(model: cp_model.CpModel, problem: PlanningProblem, j: int, units: list[int],
                  x: dict[tuple[int, int], cp_model.IntVar]) -> None:
    """A non-root unit of an area has a neighbour in it (the base of the cut formulation)."""
    root = int(problem.site_unit[j])
    members = set(units)
    for v in units:
        if v != root:
            model.add_bool_or([x[v, j].Not(), *(x[u, j] for u in problem.neighbours[v] if u in members)])


def disconnected_pieces(problem: PlanningProblem, assignment: dict[int, int]) -> list[tuple[int, tuple[int, ...],
                                                                                         tuple[int, ...]]]:
    """For each area, its pieces cut off from the site's unit, with the units bordering each piece."""
    areas: dict[int, set[int]] = {}
    for u, j in assignment.items():
        areas.setdefault(j, set()).add(u)
    pieces = []
    for j, members in areas.items():
        for piece in cut_off_pieces(problem, members, int(problem.site_unit[j])):
            border = {v for u in piece for v in problem.neighbours[u] if v not in piece}
            pieces.append((j, tuple(sorted(piece)), tuple(sorted(border))))
    return pieces


def _flow_hint(problem: PlanningProblem, j: int, units: list[int], area_units: set[int]) -> dict[tuple[int, int], int]:
    """Flows of a BFS tree of the hinted area, so the hint is complete."""
    root = int(problem.site_unit[j])
    parent: dict[int, int] = {root: -1}
    order = [root]
    queue = deque([root])
    while queue:
        u = queue.popleft()
        for v in problem.neighbours[u]:
            if v in area_units and v not in parent:
                parent[v] = u
                order.append(v)
                queue.append(v)
    size = {u: 1 for u in order}
    for v in reversed(order[1:]):
        size[parent[v]] += size[v]
    return {(parent[v], v): size[v] for v in order[1:]}


def add_hint(built: _Model, problem: PlanningProblem, assignment: dict[int, int]) -> None:
    for (i, j), var in built.x.items():
        built.model.add_hint(var, int(assignment.get(i) == j))
    open_sites = set(assignment.values())
    for j, var in built.y.items():
        built.model.add_hint(var, int(j in open_sites))
    areas: dict[int, set[int]] = {}
    for i, j in assignment.items():
        areas.setdefault(j, set()).add(i)
    for j, units in built.candidates.items():
        hint = _flow_hint(problem, j, units, areas.get(j, set())) if j in areas else {}
        for (jj, u, v), var in built.flows.items():
            if jj == j:
                built.model.add_hint(var, int(hint.get((u, v), 0)))
    for literal in built.assumptions:
        built.model.add_hint(literal, 1)


def solve_exact(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None, time_limit: float,
                seed: int, hint: dict[int, int] | None = None, workers: int | None = None,
                minimize: str = "cost", explain: bool = True, formulation: str = "flow",
                on_start=None) -> ExactOutcome:
    """Solve the parts jointly with CP-SAT; explain infeasibility by the rules in conflict.

    ``formulation="flow"`` is one model with flow contiguity; ``"cuts"`` solves without it and adds
    separator cuts for every disconnected piece, round after round, until the optimum is connected.
    ``on_start`` receives a function that stops the search from another thread (a portfolio race).
    """
    if formulation == "cuts" and problem.contiguity:
        return _solve_with_cuts(problem, parts, fixed_total=fixed_total, time_limit=time_limit, seed=seed,
                                hint=hint, workers=workers, minimize=minimize, explain=explain)
    return _solve_once(problem, parts, fixed_total=fixed_total, time_limit=time_limit, seed=seed, hint=hint,
                       workers=workers, minimize=minimize, explain=explain, on_start=on_start)


def _solve_with_cuts(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None,
                     time_limit: float, seed: int, hint: dict[int, int] | None, workers: int | None,
                     minimize: str, explain: bool) -> ExactOutcome:
    """Cut rounds: an optimum with no disconnected piece is optimal for the contiguous model too."""
    import time

    deadline = time.monotonic() + time_limit
    cuts: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = []
    rounds = 0
    while True:
        rounds += 1
        outcome = _solve_once(problem, parts, fixed_total=fixed_total,
                              time_limit=max(0.1, deadline - time.monotonic()), seed=seed, hint=hint,
                              workers=workers, minimize=minimize, explain=explain, formulation="cuts", cuts=cuts)
        outcome.branches = rounds
        if outcome.status not in ("optimal", "feasible"):
            return outcome
        pieces = disconnected_pieces(problem, outcome.assignment)
        if not pieces:
            return outcome
        if outcome.status != "optimal" or time.monotonic() >= deadline:
            # a disconnected plan is no plan: report the relaxation's bound only
            return ExactOutcome("unknown", {}, math.inf, outcome.bound, None, outcome.seconds, branches=rounds)
        cuts.extend(pieces)


def _solve_once(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None, time_limit: float,
                seed: int, hint: dict[int, int] | None, workers: int | None, minimize: str, explain: bool,
                formulation: str = "flow",
                cuts: Sequence[tuple[int, tuple[int, ...], tuple[int, ...]]] = (), on_start=None) -> ExactOutcome:
    built = build_model(problem, parts, fixed_total=fixed_total, minimize=minimize, with_assumptions=explain,
                        formulation=formulation, cuts=cuts)
    if hint:
        add_hint(built, problem, hint)
    if built.assumptions:
        built.model.add_assumptions(list(built.assumptions))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit)
    solver.parameters.num_workers = workers or max(1, os.cpu_count() or 1)
    solver.parameters.random_seed = seed
    solver.parameters.interleave_search = True
    if on_start is not None:
        on_start(solver.stop_search)
    status = solver.solve(built.model)
    name = solver.status_name(status)
    seconds = solver.wall_time
    keep_constant = 0.0
    if minimize == "cost" and problem.previous and problem.keep_weight > 0:
        in_parts = {u for part in parts for u in part.units}
        keep_constant = problem.keep_weight * sum(1 for u in problem.previous if u in in_parts)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assignment = {i: j for (i, j), var in built.x.items() if solver.boolean_value(var)}
        scale = objective_scale(problem)
        travel = sum(c * solver.value(v) for v, c in built.travel_terms) / scale
        return ExactOutcome("optimal" if status == cp_model.OPTIMAL else "feasible", assignment, travel,
                            solver.best_objective_bound / scale + keep_constant,
                            solver.objective_value / scale + keep_constant, seconds,
                            branches=int(solver.num_branches))
    if status == cp_model.INFEASIBLE:
        core = [built.assumptions[v] for v in _core_literals(solver, built)] if built.assumptions else []
        return ExactOutcome("infeasible", {}, math.inf, None, None, seconds, core)
    return ExactOutcome("unknown" if name != "MODEL_INVALID" else "invalid", {}, math.inf, None, None, seconds)


def _core_literals(solver: cp_model.CpSolver, built: _Model) -> list[cp_model.IntVar]:
    indices = set(solver.sufficient_assumptions_for_infeasibility())
    return [v for v in built.assumptions if v.index in indices]

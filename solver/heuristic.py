"""Whole-commune construction: split into parts, choose area counts, plan each part."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from solver.construct import PartPlan, plan_part
from solver.parts import Part, area_count_range, precheck, split_parts
from solver.problem import (STATUS_FEASIBLE, STATUS_INFEASIBLE, Diagnostic, PlanningProblem, SolveResult,
                            travel_objective)

ProgressCallback = Callable[[str, float], None]


@dataclass
class _PartPlans:
    """Plans of one part by number of areas, computed on demand."""

    problem: PlanningProblem
    part: Part
    seed: int
    deadline: float
    cache: dict[int, PartPlan | None]

    def get(self, k: int) -> PartPlan | None:
        if k not in self.cache:
            plan = plan_part(self.problem, self.part, k, seed=self.seed + 7919 * k, deadline=self.deadline)
            self.cache[k] = plan if plan is not None and plan.feasible else None
        return self.cache[k]

    def cost(self, k: int) -> float:
        plan = self.get(k)
        return math.inf if plan is None else plan.travel


def _choose_decided(plans: _PartPlans, problem: PlanningProblem) -> PartPlan | None:
    """Fewest areas meeting the travel bound, else least travel plus the price of each area."""
    part = plans.part
    low, high = part.min_areas(problem), part.max_areas(problem)
    best, best_score, worse_in_a_row = None, math.inf, 0
    for k in range(low, high + 1):
        plan = plans.get(k)
        if plan is None:
            continue
        if problem.max_travel_km is not None:
            if plan.max_travel(problem) <= problem.max_travel_km + 1e-9:
                return plan
            score = plan.max_travel(problem)
        else:
            score = plan.travel + problem.area_cost * k
        if score < best_score - 1e-9:
            best, best_score, worse_in_a_row = plan, score, 0
        else:
            worse_in_a_row += 1
            if worse_in_a_row >= 2:
                break
    return best


def _choose_fixed(all_plans: list[_PartPlans], problem: PlanningProblem, total: int) -> list[PartPlan | None]:
    """Spread ``total`` areas over the parts, each extra area where it saves the most travel."""
    if len(all_plans) == 1:  # nothing to spread: plan the one part with every area at once
        return [all_plans[0].get(total)]
    counts = []
    for plans in all_plans:
        low, high = plans.part.min_areas(problem), plans.part.max_areas(problem)
        k = low
        while k <= high and plans.get(k) is None:
            k += 1
        counts.append(min(k, high))
    remaining = total - sum(counts)
    while remaining > 0:
        best, best_gain = None, -math.inf
        for index, plans in enumerate(all_plans):
            k = counts[index]
            if k + 1 > plans.part.max_areas(problem):
                continue
            gain = plans.cost(k) - plans.cost(k + 1)
            if math.isnan(gain):
                continue
            if gain > best_gain:
                best, best_gain = index, gain
        if best is None:
            break
        counts[best] += 1
        remaining -= 1
    return [plans.get(k) for plans, k in zip(all_plans, counts)]


def solve_heuristic(problem: PlanningProblem, *, time_limit: float = 30.0, seed: int = 0,
                    on_progress: ProgressCallback | None = None) -> SolveResult:
    """A valid plan by construction and local search, or the reasons none exists."""
    start = time.monotonic()
    deadline = start + time_limit
    parts = split_parts(problem)
    reasons = precheck(problem, parts)
    empty = np.full(problem.n_units, -1, dtype=int)
    if reasons:
        return SolveResult(STATUS_INFEASIBLE, empty, math.inf, None, None, time.monotonic() - start,
                           "construction", tuple(reasons))
    if problem.areas is not None:
        low, high = area_count_range(problem, parts)
        if not low <= problem.areas <= high:
            reason = Diagnostic("infeasible_area_count", {"requested": problem.areas, "low": low, "high": high})
            return SolveResult(STATUS_INFEASIBLE, empty, math.inf, None, None, time.monotonic() - start,
                               "construction", (reason,))
    all_plans = [_PartPlans(problem, part, seed + 104729 * part.index, deadline, {}) for part in parts]
    if problem.areas is not None:
        chosen = _choose_fixed(all_plans, problem, problem.areas)
    else:
        chosen = []
        for index, plans in enumerate(all_plans):
            chosen.append(_choose_decided(plans, problem))
            if on_progress:
                on_progress("construction", (index + 1) / len(all_plans))
    failures = []
    assignment = empty.copy()
    for plans, plan in zip(all_plans, chosen):
        if plan is None:
            part = plans.part
            failures.append(Diagnostic("construction_failed",
                                       {"eu": problem.group_labels[part.group],
                                        "units": ", ".join(problem.unit_ids[u] for u in part.units[:8])
                                        + (" …" if len(part.units) > 8 else "")},
                                       tuple(problem.unit_ids[u] for u in part.units)))
            continue
        for u, s in plan.assignment.items():
            assignment[u] = s
    seconds = time.monotonic() - start
    if failures:
        return SolveResult(STATUS_INFEASIBLE, empty, math.inf, None, None, seconds, "construction",
                           tuple(failures))
    total_areas = len(set(assignment.tolist()))
    if problem.areas is not None and total_areas != problem.areas:
        # the construction missed the count: not a proof that it cannot be met
        reason = Diagnostic("construction_area_count", {"requested": problem.areas, "reached": total_areas})
        return SolveResult(STATUS_INFEASIBLE, empty, math.inf, None, None, seconds, "construction", (reason,))
    return SolveResult(STATUS_FEASIBLE, assignment, travel_objective(problem, assignment), None, None, seconds,
                       "construction", stats={"parts": len(parts), "areas": total_areas,
                                                     "packed": any(plan.packed for plan in chosen if plan)})

"""Large-neighbourhood search for big problems without contiguity: re-plan a few nearby areas at once.

The location-allocation alternation (:func:`solver.centres.relocate`) stops where moving each
site within its own area no longer helps; on thousands of units with hundreds of areas it
stops far from the best (Lorena-Senne p3038: 8-11% above the best known). Here a random open
site and its ``k`` nearest open sites are taken with every unit of their areas, and that small
problem (a few dozen units, every site standing in them a candidate, ``k`` areas) is solved by
HiGHS from the current plan; a better answer replaces those areas. This is the matheuristic
of Stefanello, de Araújo and Müller (2015) for the capacitated p-median problem. Most such
sub-problems are proven in a few hundredths of a second; a few would take seconds, so each
gets a short limit and HiGHS's best plan at that point (never worse than the current one).

After a pass over every open site that found nothing better, ``k`` grows, so that sites can
move across wider stretches. Each unit is offered only its nearest sites within the
neighbourhood, which keeps the sub-problems small without changing what a good plan looks like.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

from solver.highs import nearest_sites, solve_highs
from solver.lns import restrict
from solver.parts import Part, split_parts
from solver.problem import PlanningProblem

#: Open sites re-planned together (the first pass), and the most it grows to.
START_AREAS = 5
MAX_AREAS = 16
#: Seconds one sub-problem may take (HiGHS's best plan is taken when it runs out).
STEP_SECONDS = 0.1
#: Each unit of a sub-problem is offered its nearest sites within it, this many.
SITES_PER_UNIT = 10


def improve_nearby(problem: PlanningProblem, parts: Sequence[Part], start: dict[int, int], *, deadline: float,
                   seed: int, fixed_count: bool,
                   objective_of: Callable[[dict[int, int]], float]) -> tuple[dict[int, int], dict[str, float]]:
    """Improve the valid plan ``start`` of the parts until ``deadline``; the number of areas
    stays when ``fixed_count``. Returns the best plan (``start`` when nothing better is found)
    and counts for the report (steps tried, steps that improved, largest neighbourhood)."""
    rng = np.random.default_rng(seed)
    part_of_unit = {u: part.index for part in parts for u in part.units}
    sites_in_unit: dict[int, list[int]] = {}
    for part in parts:
        for s in part.sites:
            sites_in_unit.setdefault(int(problem.site_unit[s]), []).append(s)
    current = {u: s for u, s in start.items() if u in part_of_unit}
    value = objective_of(current)
    k = START_AREAS
    steps = better = 0
    queue: list[int] = []
    improved_in_pass = False
    while time.monotonic() < deadline - 0.05:
        members: dict[int, list[int]] = {}
        for u, s in current.items():
            members.setdefault(s, []).append(u)
        if not queue:
            if steps and not improved_in_pass:
                if k >= MAX_AREAS:
                    break  # a whole pass at the widest neighbourhood found nothing better
                k = min(MAX_AREAS, k + 4)
            improved_in_pass = False
            queue = [int(s) for s in rng.permutation(np.array(sorted(members)))]
        centre = queue.pop()
        if centre not in members:
            continue  # closed by an earlier step of this pass
        areas = _nearest_areas(problem, members, centre, k, part_of_unit)
        units = sorted(u for s in areas for u in members[s])
        sites = sorted(s for u in units for s in sites_in_unit.get(u, []))
        sub = restrict(problem, units, sites, areas=len(areas) if fixed_count else None)
        site_index = {s: i for i, s in enumerate(sites)}
        hint = {i: site_index[current[u]] for i, u in enumerate(units)}
        sub_parts = split_parts(sub)
        outcome = solve_highs(sub, sub_parts, fixed_total=sub.areas,
                              time_limit=min(STEP_SECONDS, max(0.05, deadline - time.monotonic())), hint=hint,
                              objective_of=lambda plan: objective_of(_merged(current, units, sites, plan)),
                              restrict=nearest_sites(sub, sub_parts, SITES_PER_UNIT, keep=hint))
        steps += 1
        if len(outcome.assignment) != len(units):
            continue
        candidate = _merged(current, units, sites, outcome.assignment)
        new_value = objective_of(candidate)
        if new_value < value - 1e-9 * max(1.0, abs(value)):
            current, value = candidate, new_value
            better += 1
            improved_in_pass = True
    return current, {"nearby_steps": steps, "nearby_improved": better, "nearby_areas": k}


def _nearest_areas(problem: PlanningProblem, members: dict[int, list[int]], centre: int, k: int,
                   part_of_unit: dict[int, int]) -> list[int]:
    """``centre`` and the open sites of the same part nearest to it, ``k`` in all."""
    part = part_of_unit[int(problem.site_unit[centre])]
    others = np.array([s for s in members if part_of_unit[int(problem.site_unit[s])] == part], dtype=int)
    distance = problem.distance[int(problem.site_unit[centre]), others]
    order = np.lexsort((others, distance))
    chosen = [int(s) for s in others[order[:k]].tolist()]
    if centre not in chosen:
        chosen = [centre] + chosen[:k - 1]
    return chosen


def _merged(current: dict[int, int], units: Sequence[int], sites: Sequence[int],
            local: dict[int, int]) -> dict[int, int]:
    """``current`` with the sub-problem's units re-assigned as ``local`` says (local indices)."""
    plan = dict(current)
    for i, s in local.items():
        plan[units[i]] = sites[s]
    return plan

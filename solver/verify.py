"""Every rule of the model checked on a finished plan: the solver's last guard before it answers.

The engines build the rules into their models, but a plan passes through several hands (the
construction, CP-SAT, HiGHS with cuts in rounds, the alternation, the race) and a slip in one
(a route once returned plans with a forced site closed) must not reach a commune as a valid
plan. :func:`broken_rules` names what a plan breaks, in short English phrases for the solve log.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from solver.graph import cut_off_pieces
from solver.pairs import within_travel
from solver.problem import PlanningProblem


#: How :func:`broken_rules` ends the phrase of an area with a unit beyond the travel bound (the one
#: rule the construction may leave broken, see :func:`solver.solve._fallback`).
BEYOND_TRAVEL = "a unit beyond the travel bound"


def broken_rules(problem: PlanningProblem, plan: Mapping[int, int], whole: bool = False) -> list[str]:
    """The rules ``plan`` (unit -> site, for some units: a part's, or every one with ``whole``)
    breaks, empty when it keeps them all. Checked per area: the site's own unit in it, one group,
    every unit reachable from the site and within the travel bound, voters within the minimum
    (unless every unit is sparse), the maximum and the site's capacity, one piece when contiguity
    is asked; then the locks (pins, sites forced open or closed) and, with ``whole``, that every
    unit has a site and the fixed number of areas."""
    broken: list[str] = []
    areas: dict[int, list[int]] = {}
    for unit, site in plan.items():
        if site >= 0:  # a negative site: the unit has none
            areas.setdefault(int(site), []).append(int(unit))
    for site, units in sorted(areas.items()):
        name = problem.site_ids[site]
        root = int(problem.site_unit[site])
        if root not in units:
            broken.append(f"site {name}: its own unit is in another area")
        if len({int(problem.group[u]) for u in units}) > 1:
            broken.append(f"site {name}: area crosses an electoral unit")
        if not all(np.isfinite(problem.distance[u, site]) for u in units if u != root):
            broken.append(f"site {name}: a unit cannot reach it")
        if not within_travel(problem, units, site):
            broken.append(f"site {name}: {BEYOND_TRAVEL}")
        load = int(problem.weights[units].sum())
        if load > min(int(problem.capacity[site]), problem.max_voters):
            broken.append(f"site {name}: {load} voters, above its room")
        if load < problem.min_voters and not all(bool(problem.sparse[u]) for u in units):
            broken.append(f"site {name}: {load} voters, below the minimum")
        if problem.contiguity and root in units and cut_off_pieces(problem, set(units), root):
            broken.append(f"site {name}: area in pieces")
    opened = set(areas)
    if any(plan.get(u, s) != s for u, s in problem.pinned.items()):
        broken.append("a pinned unit is elsewhere")
    if opened & set(problem.forced_closed):
        broken.append("a site forced closed is open")
    if any((whole or int(problem.site_unit[j]) in plan) and j not in opened for j in problem.forced_open):
        broken.append("a site forced open is closed")
    placed = sum(len(units) for units in areas.values())
    if whole and placed != problem.n_units:
        broken.append(f"{problem.n_units - placed} units without a site")
    if whole and problem.areas is not None and len(opened) != problem.areas:
        broken.append(f"{len(opened)} areas, not {problem.areas}")
    return broken

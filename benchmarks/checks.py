"""Independent validity check of an assignment, so the results never trust the solver's word.

The rules are those of :class:`solver.PlanningProblem`: one site per area standing in the area
(a median serves itself), the fixed number of areas, one group per area, load within capacity and
the maximum, load at least the minimum unless every unit of the area is sparse, and, when
``contiguity`` is on, an area that is connected through ``neighbours``.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from solver.problem import PlanningProblem


def check_assignment(problem: PlanningProblem, assignment: np.ndarray, *, limit: int = 5) -> list[str]:
    """Rule violations of ``assignment`` (unit -> site index); at most ``limit`` per rule kind."""
    found: dict[str, list[str]] = {}

    def report(kind: str, text: str) -> None:
        found.setdefault(kind, []).append(text)

    assignment = np.asarray(assignment, dtype=int)
    if assignment.shape != (problem.n_units,):
        return [f"assignment has shape {assignment.shape}, expected ({problem.n_units},)"]
    bad = np.flatnonzero((assignment < 0) | (assignment >= problem.n_sites))
    if bad.size:
        return [f"{bad.size} units unassigned or with an invalid site index (first: unit {int(bad[0])})"]
    members: dict[int, list[int]] = {}
    for unit, site in enumerate(assignment.tolist()):
        members.setdefault(site, []).append(unit)
    if problem.areas is not None and len(members) != problem.areas:
        report("count", f"{len(members)} areas, expected {problem.areas}")
    rows = np.arange(problem.n_units)
    if not np.isfinite(problem.distance[rows, assignment]).all():
        report("distance", "a unit is assigned to an unreachable site")
    for site, units in sorted(members.items()):
        root = int(problem.site_unit[site])
        if int(assignment[root]) != site:
            report("root", f"site {problem.site_ids[site]} serves others but its own unit goes to "
                           f"{problem.site_ids[int(assignment[root])]}")
        if len({int(problem.group[u]) for u in units}) > 1:
            report("group", f"area of {problem.site_ids[site]} mixes groups")
        load = int(problem.weights[units].sum())
        cap = int(min(int(problem.capacity[site]), problem.max_voters))
        if load > cap:
            report("capacity", f"area of {problem.site_ids[site]}: load {load} > {cap}")
        if load < problem.min_voters and not bool(problem.sparse[units].all()):
            report("minimum", f"area of {problem.site_ids[site]}: load {load} < {problem.min_voters}")
        if problem.contiguity and not _connected(problem, units):
            report("contiguity", f"area of {problem.site_ids[site]} ({len(units)} units) is not connected")
    out = []
    for kind, texts in found.items():
        out.extend(texts[:limit])
        if len(texts) > limit:
            out.append(f"... {len(texts) - limit} more {kind} violations")
    return out


def _connected(problem: PlanningProblem, units: list[int]) -> bool:
    inside = set(units)
    seen = {units[0]}
    queue = deque([units[0]])
    while queue:
        u = queue.popleft()
        for v in problem.neighbours[u]:
            if v in inside and v not in seen:
                seen.add(v)
                queue.append(v)
    return len(seen) == len(inside)

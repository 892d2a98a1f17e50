"""Independent parts of a problem, and the checks that prove a part has no valid plan.

An area lies inside one group (electoral units of every level) and is contiguous, so it lies
inside one connected component of the adjacency graph restricted to its group: each such
component (a *part*) is planned on its own. The cheap pre-checks here find most infeasible
scenarios before any model is built, and say why with unit and site names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from solver.problem import Diagnostic, PlanningProblem


@dataclass(frozen=True)
class Part:
    """A connected set of units of one group, with the candidate sites standing in it."""

    index: int
    group: int
    units: tuple[int, ...]
    sites: tuple[int, ...]
    voters: int
    all_sparse: bool
    any_sparse: bool

    def min_areas(self, problem: PlanningProblem) -> int:
        """Fewest areas: enough room under the maximum and under the biggest capacities."""
        if self.voters == 0:
            return 1
        need = max(1, math.ceil(self.voters / problem.max_voters))
        capacities = sorted((int(problem.capacity[s]) for s in self.sites), reverse=True)
        total = 0
        for count, cap in enumerate(capacities, start=1):
            total += min(cap, problem.max_voters)
            if total >= self.voters:
                return max(need, count)
        return max(need, len(capacities) + 1)

    def max_areas(self, problem: PlanningProblem) -> int:
        """Most areas: one per site standing in a distinct unit, each reaching the minimum."""
        distinct_units = len({int(problem.site_unit[s]) for s in self.sites})
        limit = distinct_units
        if not self.any_sparse and problem.min_voters > 0:
            limit = min(limit, self.voters // problem.min_voters)
        return max(limit, 0)


def split_parts(problem: PlanningProblem) -> list[Part]:
    """Connected components of the adjacency graph within each group, in a stable order."""
    n = problem.n_units
    seen = np.zeros(n, dtype=bool)
    sites_of_unit: dict[int, list[int]] = {}
    for site, unit in enumerate(problem.site_unit.tolist()):
        if site not in problem.forced_closed:
            sites_of_unit.setdefault(unit, []).append(site)
    parts: list[Part] = []
    for start in range(n):
        if seen[start]:
            continue
        if problem.contiguity:
            component = []
            stack = [start]
            seen[start] = True
            while stack:
                u = stack.pop()
                component.append(u)
                for v in problem.neighbours[u]:
                    if not seen[v] and problem.group[v] == problem.group[u]:
                        seen[v] = True
                        stack.append(v)
            component.sort()
        else:  # without contiguity a part is a whole group
            component = np.flatnonzero(problem.group == problem.group[start]).tolist()
            seen[component] = True
        sites = tuple(sorted(s for u in component for s in sites_of_unit.get(u, [])))
        sparse = problem.sparse[component]
        parts.append(Part(len(parts), int(problem.group[start]), tuple(component), sites,
                          int(problem.weights[component].sum()), bool(sparse.all()), bool(sparse.any())))
    return parts


def _names(problem: PlanningProblem, units: tuple[int, ...], limit: int = 8) -> str:
    shown = [problem.unit_ids[u] for u in units[:limit]]
    return ", ".join(shown) + (f" … (+{len(units) - limit})" if len(units) > limit else "")


def precheck(problem: PlanningProblem, parts: list[Part]) -> list[Diagnostic]:
    """Reasons no valid plan can exist, found without building a model."""
    reasons: list[Diagnostic] = []
    label = problem.group_labels
    per_group_parts: dict[int, int] = {}
    for part in parts:
        per_group_parts[part.group] = per_group_parts.get(part.group, 0) + 1
    part_of = {u: part.index for part in parts for u in part.units}
    for u, site in sorted(problem.pinned.items()):
        if part_of[u] != part_of[int(problem.site_unit[site])]:
            reasons.append(Diagnostic("pin_other_part", {"unit": problem.unit_ids[u], "site": problem.site_ids[site],
                                                         "eu_unit": problem.group_labels[int(problem.group[u])],
                                                         "eu_site": problem.group_labels[int(problem.group[
                                                             int(problem.site_unit[site])])]},
                                      (problem.unit_ids[u],)))
    for part in parts:
        eu = label[part.group]
        unit_ids = tuple(problem.unit_ids[u] for u in part.units)
        name = str(part.index + 1) if per_group_parts[part.group] > 1 else "1"
        common = {"eu": eu, "part": name, "units": _names(problem, part.units)}
        if not part.all_sparse and 0 < part.voters < problem.min_voters:
            reasons.append(Diagnostic("infeasible_small_part",
                                      {**common, "voters": part.voters, "min_voters": problem.min_voters},
                                      unit_ids))
            continue
        if not part.sites:
            isolated = len(part.units) == 1 and not problem.neighbours[part.units[0]]
            if isolated:
                reasons.append(Diagnostic("infeasible_island", {"name": problem.name(part.units[0]), "eu": eu},
                                          unit_ids))
            else:
                reasons.append(Diagnostic("infeasible_no_site", common, unit_ids))
            continue
        capacity = int(sum(min(int(problem.capacity[s]), problem.max_voters) for s in part.sites))
        if capacity < part.voters:
            reasons.append(Diagnostic("infeasible_capacity",
                                      {"eu": eu, "short": part.voters - capacity, "voters": part.voters,
                                       "capacity": capacity}, unit_ids))
            continue
        if part.min_areas(problem) > part.max_areas(problem):
            reasons.append(Diagnostic("infeasible_area_count",
                                      {"requested": part.min_areas(problem), "low": part.min_areas(problem),
                                       "high": part.max_areas(problem)}, unit_ids))
            continue
        for u in part.units:
            if problem.weights[u] > 0 and not any(np.isfinite(problem.distance[u, s]) for s in part.sites):
                reasons.append(Diagnostic("infeasible_unit_no_site", {"name": problem.name(u), "eu": eu},
                                          (problem.unit_ids[u],)))
    return reasons


def area_count_range(problem: PlanningProblem, parts: list[Part]) -> tuple[int, int]:
    """Fewest and most regular areas the whole commune can have."""
    return (sum(p.min_areas(problem) for p in parts), sum(p.max_areas(problem) for p in parts))

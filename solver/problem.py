"""The optimisation problem and its answer, as plain arrays.

``solver`` knows nothing of files, maps or the law's wording: the planner turns a scenario into
a :class:`PlanningProblem` and reads a :class:`SolveResult` back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

STATUS_OPTIMAL = "optimal"
STATUS_FEASIBLE = "feasible"
STATUS_INFEASIBLE = "infeasible"
STATUS_TIMEOUT = "timeout"

#: Default price of one more polling area, in voter-kilometres of one-way travel it must save.
#: An area needs an election team of 11-21 people for about two working days (set-up, cards,
#: election day): ~30 person-days. One voter-km one way is a 2 km round trip, ~25 minutes on
#: foot, ~1/20 of a person-day. So an extra area is worth it when it saves >= 600 voter-km.
DEFAULT_AREA_COST_VOTER_KM = 600.0
#: Distance standing in for an unreachable site where a site's own unit must still be served by it.
UNREACHABLE_KM = 1000.0


@dataclass(frozen=True)
class PlanningProblem:
    """Units to group into areas around candidate sites.

    ``group[i]``: units of different groups never share an area (electoral units of every
    level). ``neighbours[i]``: adjacency for contiguity (touching units and links), across
    groups too; the solver ignores edges between groups. ``distance[i, j]``: km from unit i to
    site j; ``np.inf`` where the site is not reachable. ``site_unit[j]``: the unit site j stands in.
    """

    unit_ids: tuple[str, ...]
    weights: np.ndarray
    sparse: np.ndarray
    group: np.ndarray
    group_labels: tuple[str, ...]
    neighbours: tuple[tuple[int, ...], ...]
    site_ids: tuple[str, ...]
    site_unit: np.ndarray
    capacity: np.ndarray
    distance: np.ndarray
    min_voters: int
    max_voters: int
    areas: int | None = None
    max_travel_km: float | None = None
    area_cost: float = DEFAULT_AREA_COST_VOTER_KM
    unit_names: tuple[str, ...] = ()
    pinned: Mapping[int, int] = field(default_factory=dict)
    forced_open: frozenset[int] = frozenset()
    forced_closed: frozenset[int] = frozenset()
    previous: Mapping[int, int] = field(default_factory=dict)
    keep_weight: float = 0.0
    cost_weights: np.ndarray | None = None
    contiguity: bool = True

    @property
    def cost_w(self) -> np.ndarray:
        """Weights of the travel objective: voters, unless other weights are given (benchmarks)."""
        return self.weights if self.cost_weights is None else self.cost_weights

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    @property
    def n_sites(self) -> int:
        return len(self.site_ids)

    def name(self, unit: int) -> str:
        return self.unit_names[unit] if self.unit_names else self.unit_ids[unit]


@dataclass(frozen=True)
class Diagnostic:
    """Why no plan exists: a message code of the planner's catalogue and its parameters."""

    code: str
    params: Mapping[str, Any]
    units: tuple[str, ...] = ()


@dataclass(frozen=True)
class SolveResult:
    """An assignment of units to open sites, with its quality."""

    status: str
    assignment: np.ndarray
    objective: float
    bound: float | None
    gap: float | None
    seconds: float
    method: str
    diagnostics: tuple[Diagnostic, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)

    @property
    def open_sites(self) -> tuple[int, ...]:
        return tuple(sorted({int(s) for s in self.assignment if s >= 0}))


def travel_objective(problem: PlanningProblem, assignment: np.ndarray) -> float:
    """Total voter-weighted km from each unit to its site."""
    rows = np.arange(problem.n_units)
    return float((problem.cost_w * problem.distance[rows, assignment]).sum())


def keep_penalty(problem: PlanningProblem, assignment: np.ndarray) -> float:
    """The keep-what-exists penalty: its weight for every unit moved from its previous site."""
    if not problem.previous or problem.keep_weight <= 0:
        return 0.0
    return problem.keep_weight * sum(1 for u, s in problem.previous.items() if int(assignment[u]) != s)


def model_objective(problem: PlanningProblem, assignment: np.ndarray) -> float:
    """What the solver minimises: travel, plus the price of each area when their number is decided
    by cost (no fixed count, no travel bound), plus the keep-what-exists penalty."""
    value = travel_objective(problem, assignment)
    if problem.areas is None and problem.max_travel_km is None:
        value += problem.area_cost * len(set(int(s) for s in assignment if s >= 0))
    return value + keep_penalty(problem, assignment)

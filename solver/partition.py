"""Exact plans by listing every possible area: set partitioning over a complete enumeration.

Where units are heavy next to the voter bounds (county districting with +-0.5% population, or a
commune of a few large villages), a part has few connected sets that can be one area, and
:func:`solver.connected.connected_sets` lists all of them in a fraction of a second. Each set
with the best site that may anchor it becomes a column; choosing columns that cover every unit
once (and the fixed number of areas) is then the whole problem, and its linear relaxation is
far tighter than the assignment model's: this is how Garfinkel and Nemhauser (1970) solved
districting exactly. Because the listing is complete, HiGHS's optimum over the columns is the
optimum of the problem, and "no cover exists" proves it infeasible.

Measured on the Validi county instances with contiguity: ME (16 counties, 2 districts) and NH
(10, 2, infeasible) are settled here; the assignment model needed 16.5 s and 3 s. Where the
listing passes its limit (light units: most communes) nothing is kept and the usual route runs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from solver.connected import PartGraph, connected_sets, part_graph
from solver.pairs import keep_offset, model_pairs, pair_cost, site_cost
from solver.parts import Part
from solver.problem import PlanningProblem

#: Connected sets visited at most, over all parts, before the listing gives up.
MAX_SETS = 150_000
#: Columns (valid sets with a site) at most in the set partitioning model.
MAX_COLUMNS = 60_000


@dataclass(frozen=True)
class PartitionOutcome:
    """The set partitioning answer: ``optimal`` and ``infeasible`` hold for the whole problem."""

    status: str  # optimal, feasible, infeasible, unknown
    assignment: dict[int, int]
    objective: float | None
    bound: float | None
    columns: int
    seconds: float


@dataclass(frozen=True)
class _Column:
    units: tuple[int, ...]
    site: int
    cost: float


def list_areas(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None, deadline: float,
               max_sets: int = MAX_SETS, max_columns: int = MAX_COLUMNS) -> list[_Column] | None:
    """Every area a valid plan of the parts may use, as (units, best site, cost) plus one column per
    forced-open site that may anchor the set; None when the listing passes its limits or the time."""
    cost = _pair_costs(problem, parts)
    opening = site_cost(problem, fixed_total)
    room = np.minimum(problem.capacity, problem.max_voters)
    pinned_to: dict[int, set[int]] = {}
    for u, s in problem.pinned.items():
        pinned_to.setdefault(int(s), set()).add(int(u))
    graphs = [part_graph(problem, part) for part in parts]
    if not _few_enough(graphs, deadline, max_sets, max_columns):
        return None
    columns: list[_Column] = []
    for part, graph in zip(parts, graphs):
        sites_of: dict[int, list[int]] = {}
        for j in part.sites:
            sites_of.setdefault(int(problem.site_unit[j]), []).append(j)
        for root in range(len(graph.units)):
            for count, shape in enumerate(connected_sets(graph, root, above_root=True)):
                if count % 2048 == 0 and time.monotonic() > deadline:
                    return None
                if not graph.valid(shape):
                    continue
                members = graph.members(shape[0])
                candidates = [j for u in members for j in sites_of.get(u, ()) if room[j] >= shape[1]]
                if problem.pinned:
                    candidates = _unpinned(problem, pinned_to, members, candidates)
                if not candidates:
                    continue
                values = cost.take(members, axis=0).sum(axis=0).take(candidates) + opening
                usable = [(float(v), j) for v, j in zip(values.tolist(), candidates) if math.isfinite(v)]
                if not usable:
                    continue
                best_value, best_site = min(usable)
                columns.append(_Column(tuple(members), best_site, best_value))
                for value, j in usable:
                    if j in problem.forced_open and j != best_site:
                        columns.append(_Column(tuple(members), j, value))
    return columns


def _few_enough(graphs: list[PartGraph], deadline: float, max_sets: int, max_columns: int) -> bool:
    """Whether the parts have at most ``max_sets`` light connected sets and ``max_columns`` valid ones:
    counted first, without pricing any (a tenth of the time pricing takes), so that a listing that
    would pass its limits stops early."""
    visited = valid = 0
    for graph in graphs:
        for root in range(len(graph.units)):
            for shape in connected_sets(graph, root, above_root=True):
                visited += 1
                valid += graph.valid(shape)
                if visited > max_sets or valid > max_columns or \
                        (visited % 4096 == 0 and time.monotonic() > deadline):
                    return False
    return True


def _unpinned(problem: PlanningProblem, pinned_to: dict[int, set[int]], members: list[int],
              candidates: list[int]) -> list[int]:
    """The sites that may anchor ``members`` given the pins: every pinned member pinned to it, and
    every unit pinned to it a member."""
    inside = set(members)
    return [j for j in candidates if pinned_to.get(j, set()) <= inside
            and all(problem.pinned.get(u, j) == j for u in members)]


def _pair_costs(problem: PlanningProblem, parts: Sequence[Part]) -> np.ndarray:
    """Units x sites: the model's cost of each pair it has (travel bound, reachability), inf elsewhere."""
    cost = np.full((problem.n_units, problem.n_sites), np.inf)
    for part in parts:
        for j, units in model_pairs(problem, part).items():
            for i in units:
                cost[i, j] = pair_cost(problem, i, j)
    return cost


def solve_partition(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None,
                    deadline: float, list_until: float, known: dict[int, int] | None = None,
                    known_value: float | None = None) -> PartitionOutcome | None:
    """The best plan over every listed area (the listing must end by ``list_until``, HiGHS by
    ``deadline``); None when the listing did not finish, so nothing is proven. ``known`` (a valid
    plan of value ``known_value``) lets the columns that cannot beat it be dropped before the MIP."""
    start = time.monotonic()
    columns = list_areas(problem, parts, fixed_total=fixed_total, deadline=list_until)
    if columns is None:
        return None
    offset = keep_offset(problem, parts)
    model = _Model.of(problem, parts, columns, fixed_total)

    def outcome(status: str, plan: dict[int, int] | None = None, value: float | None = None,
                bound: float | None = None) -> PartitionOutcome:
        return PartitionOutcome(status, plan or {}, value, bound, len(columns), time.monotonic() - start)

    if model is None:  # a unit or a forced site in no listed area: no plan at all
        return outcome("infeasible")
    relaxed = model.solve(range(len(columns)), integral=False, deadline=deadline)
    if relaxed.status != "optimal":
        return outcome(relaxed.status)
    bound = relaxed.value + offset
    if np.all((relaxed.x < 1e-7) | (relaxed.x > 1 - 1e-7)):  # the relaxation is a plan: the usual case
        return outcome("optimal", model.plan(relaxed.x), bound, bound)
    has_known = known is not None and known_value is not None
    keep = list(range(len(columns)))
    if has_known:  # only columns whose reduced cost leaves room to beat the known plan
        slack = known_value - bound + 1e-6 * max(1.0, abs(known_value))
        keep = np.flatnonzero(relaxed.reduced <= slack).tolist()
    solved = model.solve(keep, integral=True, deadline=deadline)
    if solved.status == "infeasible":  # no plan better than the known one (or none at all)
        return outcome("optimal", known, known_value, known_value) if has_known else outcome("infeasible")
    if solved.status == "unknown":
        return outcome("unknown", bound=bound)
    plan, value = model.plan(solved.x, keep), solved.value + offset
    if has_known and known_value < value:
        plan, value = dict(known), known_value
    proven = solved.status == "optimal"
    return outcome("optimal" if proven else "feasible", plan, value, value if proven else bound)


@dataclass(frozen=True)
class _Solved:
    status: str  # optimal, feasible (MIP stopped with a plan), infeasible, unknown (stopped, no answer)
    value: float | None = None
    x: np.ndarray | None = None
    reduced: np.ndarray | None = None  # the relaxation's reduced costs


@dataclass(frozen=True)
class _Model:
    """The set partitioning rows: each unit once, each forced site once, the fixed count."""

    columns: list[_Column]
    rows: list[list[int]]  # per column, its rows
    bounds: np.ndarray

    @staticmethod
    def of(problem: PlanningProblem, parts: Sequence[Part], columns: list[_Column],
           fixed_total: int | None) -> "_Model | None":
        """None when some unit or forced site is in no column (no plan exists)."""
        units = sorted(u for part in parts for u in part.units)
        row = {u: r for r, u in enumerate(units)}
        forced = sorted({j for part in parts for j in part.sites if j in problem.forced_open})
        forced_row = {j: len(units) + r for r, j in enumerate(forced)}
        count_row = len(units) + len(forced)
        rows = []
        for column in columns:
            mine = [row[u] for u in column.units]
            if column.site in forced_row:
                mine.append(forced_row[column.site])
            if fixed_total is not None:
                mine.append(count_row)
            rows.append(mine)
        bounds = np.ones(count_row + (1 if fixed_total is not None else 0))
        if fixed_total is not None:
            bounds[count_row] = fixed_total
        covered = np.zeros(len(bounds), dtype=bool)
        for mine in rows:
            covered[mine] = True
        if not covered[:count_row].all():
            return None
        return _Model(columns, rows, bounds)

    def solve(self, keep: list[int] | range, *, integral: bool, deadline: float) -> _Solved:
        """The relaxation over ``keep`` (with reduced costs), or the MIP over them."""
        import highspy

        from solver.highs import _new_highs

        keep = list(keep)
        highs = _new_highs()
        highs.setOptionValue("threads", 1)
        highs.setOptionValue("random_seed", 0)
        highs.setOptionValue("time_limit", float(max(0.1, deadline - time.monotonic())))
        if integral:
            highs.setOptionValue("mip_rel_gap", 0.0)
            # MIP presolve on tens of thousands of set-partitioning columns takes longer than the
            # search (mountain-60, 36,544 columns: 27 s of presolve, 5 s for the whole MIP without)
            highs.setOptionValue("presolve", "off")
        starts, index = [0], []
        for c in keep:
            index.extend(self.rows[c])
            starts.append(len(index))
        lp = highspy.HighsLp()
        lp.num_col_ = len(keep)
        lp.num_row_ = len(self.bounds)
        lp.col_cost_ = np.array([self.columns[c].cost for c in keep], dtype=float)
        lp.col_lower_ = np.zeros(len(keep))
        lp.col_upper_ = np.ones(len(keep))
        lp.row_lower_ = self.bounds
        lp.row_upper_ = self.bounds
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.ones(len(index))
        if integral:
            lp.integrality_ = [highspy.HighsVarType.kInteger] * len(keep)
        highs.passModel(lp)
        highs.run()
        state = highs.getModelStatus()
        if state in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return _Solved("infeasible")
        info = highs.getInfo()
        solution = highs.getSolution()
        optimal = state == highspy.HighsModelStatus.kOptimal
        if not integral:
            if not optimal:
                return _Solved("unknown")
            return _Solved("optimal", float(info.objective_function_value), np.array(solution.col_value),
                           np.array(solution.col_dual))
        if info.primal_solution_status != 2:  # stopped before any plan
            return _Solved("unknown")
        return _Solved("optimal" if optimal else "feasible", float(info.objective_function_value),
                       np.array(solution.col_value))

    def plan(self, x: np.ndarray, keep: list[int] | None = None) -> dict[int, int]:
        """The assignment of the columns chosen in ``x`` (indexed like ``keep``)."""
        chosen = range(len(self.columns)) if keep is None else keep
        return {u: self.columns[c].site for c, v in zip(chosen, x.tolist()) if v > 0.5
                for u in self.columns[c].units}

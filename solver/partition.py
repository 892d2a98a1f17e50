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
(10, 2, infeasible) are settled here in 0.1 s; the assignment model needed 16.5 s and 3 s. SC
(46 counties, 7 districts), which the paper left open after an hour, has 2.78 million light
connected sets of which 310,580 can be a district: listed in about 6 s, its relaxation is
fractional and HiGHS proves in about 27 s that no cover exists, so SC is infeasible. Every
generated commune of 30 to 80 villages is settled here in 0.01 to 1.3 s. Where the listing passes
its limits (light units: a ward of 1,000 blocks, most county instances) nothing is kept and the
usual route runs.

Sets are priced in blocks: a block's sets x sites costs are its sparse membership matrix times
the pair costs, so hundreds of thousands of sets take a second.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from solver.connected import PartGraph, connected_sets, estimate_sets, part_graph
from solver.pairs import keep_offset, pair_costs, site_cost
from solver.parts import Part
from solver.problem import PlanningProblem

#: Connected sets visited at most, over all parts, before the listing gives up (the time share the
#: caller gives usually ends it first: about half a million sets a second).
MAX_SETS = 5_000_000
#: Valid sets at most (columns of the set partitioning model).
MAX_COLUMNS = 500_000
#: Before listing, the number of sets is estimated (Knuth's random walks, PROBES per root; it tends
#: to fall short, never to overshoot much): beyond SKIP_FACTOR times what the time allows at
#: LIST_RATE sets a second, or times MAX_SETS, the listing is not started. Measured: Validi AL
#: 7e7, KS 7e18 (skipped, where listing until the time share ran out cost 2 s of 20); SC 2.6e5
#: (2.8e6 listed), the communes 180 to 2.5e4 (listed).
PROBES = 8
SKIP_FACTOR = 5.0
LIST_RATE = 400_000
#: Since the estimate falls short (SC: 2.6e5 estimated, 2.8e6 listed), an estimate above
#: MAX_SETS / SHORTFALL is not listed either, however long the time: it would likely pass MAX_SETS
#: and give up. Measured at a 120-s limit: Validi NM (4.2e6 estimated) gave up after 7.5 s and was
#: proven in 8.0 s; proven in 0.7 s at 20 s, where the time rule skipped it.
SHORTFALL = 5.0


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
class Columns:
    """Listed areas, column by column: the units of column ``c`` are
    ``members[starts[c]:starts[c + 1]]`` (problem indices), anchored at ``site[c]`` at ``cost[c]``."""

    members: np.ndarray
    starts: np.ndarray
    site: np.ndarray
    cost: np.ndarray
    #: the price per area included in ``cost`` to put the fewest areas first (travel-bound mode), else 0
    per_area: float = 0.0

    def __len__(self) -> int:
        return len(self.site)


def _gather(members: np.ndarray, starts: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flat members and starts of the sets ``keep`` of a flat listing."""
    sizes = np.diff(starts)[keep]
    new_starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    offsets = np.arange(int(new_starts[-1])) - np.repeat(new_starts[:-1], sizes)
    return members[np.repeat(starts[:-1][keep], sizes) + offsets], new_starts


def list_areas(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None, deadline: float,
               list_until: float | None = None, max_sets: int = MAX_SETS,
               max_columns: int = MAX_COLUMNS) -> Columns | None:
    """Every area a valid plan of the parts may use, with the best site that may anchor it and its
    cost, plus one column per forced-open site that may anchor it too. None when the listing passes
    ``max_sets`` sets or ``max_columns`` valid ones, or ``list_until`` (the enumeration) or
    ``deadline`` (the pricing) passes. With the count decided by a travel bound, every column also
    costs a price per area above any plan's travel, so that the optimum has the fewest areas and
    then the least travel."""
    found = _valid_sets(problem, parts, list_until or deadline, max_sets, max_columns)
    if found is None:
        return None
    members, starts, voters = found
    return _priced(problem, parts, members, starts, voters, fixed_total, deadline)


def _valid_sets(problem: PlanningProblem, parts: Sequence[Part], deadline: float, max_sets: int,
                max_columns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Every connected set of each part that may be an area (flat members, starts, voters); None when
    the listing is estimated to need far more than the time left (not started), or passes a limit."""
    graphs = [part_graph(problem, part) for part in parts]
    rng = np.random.default_rng(0)
    # the listing is skipped once the estimate passes either limit: the roots left would only add
    # to it (Validi NE: 20 ms of estimates for a listing never started)
    skip_above = min(SKIP_FACTOR * min(max_sets, LIST_RATE * max(0.0, deadline - time.monotonic())),
                     max_sets / SHORTFALL)
    estimate = 0.0
    for graph in graphs:
        for root in range(len(graph.units)):
            estimate += estimate_sets(graph, root, probes=PROBES, rng=rng)
            if estimate > skip_above:
                return None
    visited = 0
    masks: list[tuple[PartGraph, int]] = []
    voters: list[int] = []
    for graph in graphs:
        for root in range(len(graph.units)):
            for shape in connected_sets(graph, root, above_root=True):
                visited += 1
                if graph.valid(shape):
                    masks.append((graph, shape[0]))
                    voters.append(shape[1])
                if visited > max_sets or len(masks) > max_columns or \
                        (visited % 4096 == 0 and time.monotonic() > deadline):
                    return None
    flat: list[int] = []
    starts = [0]
    for graph, mask in masks:
        flat.extend(graph.members(mask))
        starts.append(len(flat))
    return np.array(flat, dtype=np.int64), np.array(starts, dtype=np.int64), np.array(voters, dtype=np.int64)


#: Sets priced together (a dense block of sets x sites at a time), at most CHUNK_CELLS cells.
CHUNK = 20_000
CHUNK_CELLS = 2_000_000


def _priced(problem: PlanningProblem, parts: Sequence[Part], members: np.ndarray, starts: np.ndarray,
            voters: np.ndarray, fixed_total: int | None, deadline: float) -> Columns | None:
    """Each set's best site (standing in it, holding its voters, honouring the pins) and its cost, in
    blocks: the cost of every site for a block is its membership matrix times the pair costs."""
    from scipy import sparse

    cost = pair_costs(problem)
    finite = np.isfinite(cost)
    cost = np.where(finite, cost, 0.0)
    per_area = 0.0
    if fixed_total is None and problem.max_travel_km is not None:  # fewest areas first
        units = np.unique(members)
        per_area = 1.0 + float(np.abs(cost[units]).max(axis=1, initial=0.0).sum()) + \
            problem.keep_weight * len(problem.previous)
    opening = site_cost(problem, fixed_total) + per_area
    open_sites = np.array(sorted(j for part in parts for j in part.sites), dtype=np.int64)
    stands = np.zeros((problem.n_units, problem.n_sites))
    stands[problem.site_unit[open_sites], open_sites] = 1.0  # forced-closed sites anchor nothing
    room = np.minimum(problem.capacity, problem.max_voters)
    forced = np.array(sorted(problem.forced_open), dtype=np.int64)
    chosen_sets: list[np.ndarray] = []
    chosen_sites: list[np.ndarray] = []
    chosen_costs: list[np.ndarray] = []
    chunk = max(1, min(CHUNK, CHUNK_CELLS // max(1, problem.n_sites)))
    for first in range(0, len(voters), chunk):
        if time.monotonic() > deadline:
            return None
        block = np.arange(first, min(first + chunk, len(voters)))
        flat, block_starts = _gather(members, starts, block)
        matrix = sparse.csr_matrix((np.ones(len(flat)), flat, block_starts), shape=(len(block), problem.n_units))
        values = np.asarray(matrix @ cost) + opening
        # a site may anchor the set: it stands in it, holds its voters, reaches all of it
        usable = (np.asarray(matrix @ stands) > 0) & (room[None, :] >= voters[block][:, None])
        usable &= np.asarray(matrix @ (~finite).astype(float)) == 0
        if problem.pinned:
            usable &= _pins_allow(problem, matrix)
        values = np.where(usable, values, np.inf)
        best = np.argmin(values, axis=1)
        rows = np.arange(len(block))
        ok = np.isfinite(values[rows, best])
        chosen_sets.append(block[ok])
        chosen_sites.append(best[ok])
        chosen_costs.append(values[rows, best][ok])
        for j in forced.tolist():  # the forced site too, where it may anchor the set and is not the best
            extra = usable[:, j] & (best != j)
            chosen_sets.append(block[extra])
            chosen_sites.append(np.full(int(extra.sum()), j))
            chosen_costs.append(values[extra, j])
    which = np.concatenate(chosen_sets).astype(np.int64) if chosen_sets else np.zeros(0, dtype=np.int64)
    flat, new_starts = _gather(members, starts, which)
    return Columns(flat, new_starts, np.concatenate(chosen_sites).astype(np.int64) if chosen_sites else
                   np.zeros(0, dtype=np.int64), np.concatenate(chosen_costs) if chosen_costs else np.zeros(0),
                   per_area)


def _pins_allow(problem: PlanningProblem, matrix) -> np.ndarray:
    """Sets x sites: False where a pinned member is pinned elsewhere, or a unit pinned to the site is
    not a member."""
    allow = np.ones((matrix.shape[0], problem.n_sites), dtype=bool)
    pinned_to: dict[int, list[int]] = {}
    for u, s in problem.pinned.items():
        pinned_to.setdefault(int(s), []).append(int(u))
        holds = np.asarray(matrix[:, int(u)].todense()).ravel() > 0
        others = np.ones(problem.n_sites, dtype=bool)
        others[int(s)] = False
        allow[np.ix_(holds, others)] = False
    for s, units in pinned_to.items():
        holds_all = np.asarray(matrix[:, units].sum(axis=1)).ravel() == len(units)
        allow[~holds_all, s] = False
    return allow


def solve_partition(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None,
                    deadline: float, list_until: float) -> PartitionOutcome | None:
    """The best plan over every listed area (the enumeration must end by ``list_until``, the pricing
    and HiGHS by ``deadline``); None when the listing did not finish, so nothing is proven."""
    start = time.monotonic()
    columns = list_areas(problem, parts, fixed_total=fixed_total, deadline=deadline, list_until=list_until)
    if columns is None:
        return None
    per_area = columns.per_area
    offset = keep_offset(problem, parts)
    model = _Model.of(problem, parts, columns, fixed_total)

    def outcome(status: str, plan: dict[int, int] | None = None, value: float | None = None,
                bound: float | None = None) -> PartitionOutcome:
        if per_area:  # the model's objective is travel alone (the count came first): no bound short of a proof
            value = value - per_area * len(set(plan.values())) if value is not None and plan else None
            bound = value if status == "optimal" else None
        return PartitionOutcome(status, plan or {}, value, bound, len(columns), time.monotonic() - start)

    if model is None:  # a unit or a forced site in no listed area: no plan at all
        return outcome("infeasible")
    began = time.monotonic()
    relaxed = model.solve(model.columns, integral=False, deadline=deadline)
    if relaxed.status != "optimal":
        return outcome(relaxed.status)
    bound = relaxed.value + offset
    if np.all((relaxed.x < 1e-7) | (relaxed.x > 1 - 1e-7)):  # the relaxation is a plan: the usual case
        return outcome("optimal", _plan(model.columns, relaxed.x), bound, bound)
    # the MIP solves that relaxation again first: keep its time in hand so as to end by the deadline
    solved = model.solve(model.columns, integral=True, deadline=deadline - (time.monotonic() - began))
    if solved.status == "infeasible":
        return outcome("infeasible")
    if solved.status == "unknown":
        return outcome("unknown", bound=bound)
    proven = solved.status == "optimal"
    value = solved.value + offset
    return outcome("optimal" if proven else "feasible", _plan(model.columns, solved.x), value,
                   value if proven else bound)


def _plan(columns: Columns, x: np.ndarray) -> dict[int, int]:
    """The assignment of the columns chosen in ``x``."""
    plan: dict[int, int] = {}
    for c in np.flatnonzero(x > 0.5).tolist():
        for u in columns.members[columns.starts[c]:columns.starts[c + 1]].tolist():
            plan[u] = int(columns.site[c])
    return plan


@dataclass(frozen=True)
class _Solved:
    status: str  # optimal, feasible (MIP stopped with a plan), infeasible, unknown (stopped, no answer)
    value: float | None = None
    x: np.ndarray | None = None


@dataclass(frozen=True)
class _Model:
    """The set partitioning rows: each unit once, each forced site once, the fixed count."""

    columns: Columns
    unit_row: np.ndarray  # per problem unit, its row (-1: not in the parts)
    forced_row: np.ndarray  # per site, its row when forced open (-1: not forced)
    count_row: int | None
    bounds: np.ndarray

    @staticmethod
    def of(problem: PlanningProblem, parts: Sequence[Part], columns: Columns,
           fixed_total: int | None) -> "_Model | None":
        """None when some unit or forced site is in no column (no plan exists)."""
        units = sorted(u for part in parts for u in part.units)
        unit_row = np.full(problem.n_units, -1, dtype=np.int64)
        unit_row[units] = np.arange(len(units))
        forced = sorted({j for part in parts for j in part.sites if j in problem.forced_open})
        forced_row = np.full(problem.n_sites, -1, dtype=np.int64)
        forced_row[forced] = len(units) + np.arange(len(forced))
        n_rows = len(units) + len(forced)
        count_row = n_rows if fixed_total is not None else None
        bounds = np.ones(n_rows + (1 if fixed_total is not None else 0))
        if fixed_total is not None:
            bounds[n_rows] = fixed_total
        model = _Model(columns, unit_row, forced_row, count_row, bounds)
        covered = np.zeros(len(bounds), dtype=bool)
        covered[model.matrix(columns)[1]] = True
        if not covered[:n_rows].all():
            return None
        return model

    def matrix(self, columns: Columns) -> tuple[np.ndarray, np.ndarray]:
        """Column starts and row indices of ``columns`` (all coefficients are 1)."""
        sizes = np.diff(columns.starts)
        forced = self.forced_row[columns.site] >= 0
        counted = self.count_row is not None
        lengths = sizes + forced + (1 if counted else 0)
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        index = np.empty(int(starts[-1]), dtype=np.int64)
        offsets = np.arange(len(columns.members)) - np.repeat(columns.starts[:-1], sizes)
        index[np.repeat(starts[:-1], sizes) + offsets] = self.unit_row[columns.members]
        index[(starts[:-1] + sizes)[forced]] = self.forced_row[columns.site[forced]]
        if counted:
            index[starts[1:] - 1] = self.count_row
        return starts, index

    def solve(self, columns: Columns, *, integral: bool, deadline: float) -> _Solved:
        """The relaxation over ``columns``, or the MIP over them."""
        import highspy

        from solver.highs import _new_highs

        highs = _new_highs()
        highs.setOptionValue("threads", 1)
        highs.setOptionValue("random_seed", 0)
        highs.setOptionValue("time_limit", float(max(0.1, deadline - time.monotonic())))
        if integral:
            highs.setOptionValue("mip_rel_gap", 0.0)
            # MIP presolve on tens of thousands of set-partitioning columns takes longer than the
            # search (mountain-60, 36,544 columns: 27 s of presolve, 5 s for the whole MIP without)
            highs.setOptionValue("presolve", "off")
        starts, index = self.matrix(columns)
        n = len(columns)
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = len(self.bounds)
        lp.col_cost_ = np.asarray(columns.cost, dtype=float)
        lp.col_lower_ = np.zeros(n)
        lp.col_upper_ = np.ones(n)
        lp.row_lower_ = self.bounds
        lp.row_upper_ = self.bounds
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = starts.astype(np.int32)
        lp.a_matrix_.index_ = index.astype(np.int32)
        lp.a_matrix_.value_ = np.ones(len(index))
        if integral:
            lp.integrality_ = [highspy.HighsVarType.kInteger] * n
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
            return _Solved("optimal", float(info.objective_function_value), np.array(solution.col_value))
        if info.primal_solution_status != 2:  # stopped before any plan
            return _Solved("unknown")
        return _Solved("optimal" if optimal else "feasible", float(info.objective_function_value),
                       np.array(solution.col_value))

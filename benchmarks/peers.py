"""Peer solvers run on the same instances, when installed (never a dependency of the project).

For the districting families (contiguity), the peer is spopt's ``MaxPHeuristic`` (see
:data:`MAXP_NOTE`); for the p-median families, spopt's capacitated ``PMedian``:

spopt (PySAL) ``PMedian.from_cost_matrix`` with ``facility_capacities`` solves, with PuLP and
CBC, the MIP

    min sum_ij a_i * c_ij * z_ij   s.t.  sum_j z_ij = 1,  sum_j y_j = p,  z_ij <= y_j,
                                         sum_i a_i z_ij <= Q_j y_j,  z, y binary,

i.e. its p-median objective is weighted by the demand ``a_i``, and a chosen facility need not
serve its own point. The CPMP literature minimises the *unweighted* sum of distances, so we pass
``c_ij = d_ij / a_i``: then ``a_i * c_ij = d_ij`` and spopt optimises the literature objective
with the demand still used for capacity. What remains different: spopt does not force a median
to serve itself, so it solves a relaxation of the CPMP; the runner re-evaluates spopt's plan with
our objective and reports when a median is served by another median.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from benchmarks.checks import check_assignment
from solver.problem import PlanningProblem, travel_objective

SPOPT_MISSING = "spopt not installed: pip install spopt"
#: Unit-site pairs above which the MIP peer is not run (model building and CBC hopeless in budget).
PEER_MAX_PAIRS = 100_000

SPOPT_NOTE = ("spopt PMedian.from_cost_matrix (PuLP + CBC, same time limit, 2 threads): demand-weighted "
              "p-median objective, made equal to the unweighted CPMP objective by cost d_ij / demand_i; "
              "capacity per facility; does not force a median to serve itself (a relaxation)")


@dataclass(frozen=True)
class PeerResult:
    """What a peer returned, evaluated with our objective and our rule check."""

    status: str  # optimal | feasible | failed | not run
    objective: float | None
    seconds: float | None
    violations: tuple[str, ...] = ()
    message: str = ""


def spopt_version() -> str | None:
    """spopt's version when it can be imported, else None (imported lazily, only here)."""
    try:
        import spopt  # noqa: F401
        import pulp  # noqa: F401
    except Exception:
        return None
    from importlib.metadata import version

    try:
        return f"spopt {version('spopt')}, PuLP {version('pulp')}"
    except Exception:
        return "spopt (version unknown)"


def spopt_applicable(problem: PlanningProblem) -> str | None:
    """Why the peer cannot run this problem (None when it can)."""
    if problem.contiguity:
        return "not run: spopt PMedian has no contiguity"
    if problem.n_units * problem.n_sites > PEER_MAX_PAIRS:
        return f"not run: {problem.n_units}x{problem.n_sites} pairs > {PEER_MAX_PAIRS} (MIP too large for the budget)"
    if (problem.weights <= 0).any():
        return "not run: zero demand (cost d/demand undefined)"
    return None


def run_spopt(problem: PlanningProblem, time_limit: float) -> PeerResult:
    """Solve a CPMP instance with spopt's capacitated PMedian and CBC (see the module docstring)."""
    import pulp
    from spopt.locate import PMedian

    start = time.monotonic()
    weights = problem.weights.astype(float)
    cost = problem.distance * (problem.cost_w / weights)[:, None]
    unreachable = ~np.isfinite(cost)
    if unreachable.any():  # a site no road or link reaches from a unit: priced out, as PuLP takes no inf
        cost[unreachable] = 10.0 * problem.n_units * cost[~unreachable].max()
    capacities = np.minimum(problem.capacity, problem.max_voters).astype(float)
    model = PMedian.from_cost_matrix(cost, weights, p_facilities=int(problem.areas or 1),
                                     facility_capacities=capacities)
    cbc = pulp.PULP_CBC_CMD(msg=False, timeLimit=max(1, int(round(time_limit))), threads=os.cpu_count() or 1)
    try:
        model.solve(cbc)
    except RuntimeError as exc:  # spopt raises when CBC ends without a solution
        status = pulp.LpStatus.get(model.problem.status, str(model.problem.status))
        return PeerResult("failed", None, time.monotonic() - start,
                          message=f"CBC returned no integer solution (PuLP status {status!r}): {exc}"[:160])
    seconds = time.monotonic() - start
    assignment = np.array([row[0] if row else -1 for row in model.cli2fac], dtype=int)
    if (assignment < 0).any():
        return PeerResult("failed", None, seconds, message="some clients unassigned")
    status = "optimal" if model.problem.sol_status == pulp.LpSolutionOptimal else "feasible"
    return PeerResult(status, travel_objective(problem, assignment), seconds,
                      tuple(check_assignment(problem, assignment)))


#: MaxPHeuristic's iterations: its defaults (99 constructions, 10 annealing runs) take 40 s to minutes
#: per state here; these keep the peer inside the benchmark's budget.
MAXP_CONSTRUCTION = 10
MAXP_ANNEALING = 1
#: Wall-clock allowance of the MaxP peer (it usually ends in about a second with the reduced
#: iterations, but loops on some states); keeps the whole run under 30 minutes.
MAXP_SECONDS = 10.0

MAXP_NOTE = (f"spopt MaxPHeuristic (same machine, {MAXP_CONSTRUCTION} constructions and {MAXP_ANNEALING} "
             f"annealing run instead of its defaults 99 and 10, seed 0, stopped after {MAXP_SECONDS:g} s): max-p regionalisation, i.e. as "
             "many contiguous regions as possible, each with population >= L, as homogeneous as possible in "
             "the county centroid coordinates. It knows no upper bound U, no number of districts k and no "
             "centres, so it solves a different problem; we price its plan with the Hess objective, each "
             "region at its best centre, and list where it breaks k or [L, U]. No other open peer forms "
             "contiguous districts under both population bounds (GerryChain samples plans from a valid "
             "start, it does not find one).")


def maxp_applicable(problem: PlanningProblem, xy: np.ndarray | None) -> str | None:
    """Why MaxPHeuristic cannot run this problem (None when it can)."""
    if not problem.contiguity:
        return "not run: MaxPHeuristic is for contiguous regions"
    if xy is None:
        return "not run: no unit coordinates"
    if (problem.areas or 0) <= 1:
        return "not run: one district (nothing to partition)"
    return None


def run_maxp(problem: PlanningProblem, xy: np.ndarray, seed: int = 0) -> PeerResult:
    """Regions by spopt's MaxPHeuristic, evaluated with our objective at each region's best centre."""
    import geopandas as gpd
    import libpysal
    from spopt.region import MaxPHeuristic

    start = time.monotonic()
    frame = gpd.GeoDataFrame({"pop": problem.weights.astype(float), "x": xy[:, 0], "y": xy[:, 1]},
                             geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]))
    weights = libpysal.weights.W({i: list(problem.neighbours[i]) for i in range(problem.n_units)},
                                 silence_warnings=True)
    np.random.seed(seed)
    model = MaxPHeuristic(frame, weights, ["x", "y"], "pop", float(problem.min_voters), top_n=2,
                          max_iterations_construction=MAXP_CONSTRUCTION, max_iterations_sa=MAXP_ANNEALING)
    model.solve()
    seconds = time.monotonic() - start
    labels = np.asarray(model.labels_)
    if (labels <= 0).any():
        return PeerResult("failed", None, seconds, message="some counties left in no region")
    assignment = np.empty(problem.n_units, dtype=int)
    problems = []
    regions = sorted(set(labels.tolist()))
    for region in regions:
        members = np.flatnonzero(labels == region)
        costs = (problem.cost_w[members, None] * problem.distance[np.ix_(members, problem.site_unit[members])]).sum(0)
        centre = int(members[int(np.argmin(costs))])
        site = int(np.flatnonzero(problem.site_unit == centre)[0])
        assignment[members] = site
        population = int(problem.weights[members].sum())
        if not problem.min_voters <= population <= problem.max_voters:
            problems.append(f"region of {population:,} outside [{problem.min_voters:,}, {problem.max_voters:,}]")
    if problem.areas is not None and len(regions) != problem.areas:
        problems.insert(0, f"{len(regions)} regions for k = {problem.areas}")
    return PeerResult("feasible" if not problems else "invalid", travel_objective(problem, assignment), seconds,
                      tuple(problems), message=f"{len(regions)} regions")

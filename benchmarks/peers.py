"""Peer solvers run on the same instances, when installed (never a dependency of the project).

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

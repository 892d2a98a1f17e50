"""The MIP route with Lagrangian fixing: bound, a good plan, then HiGHS on the pairs that are left.

1. The Lagrangian relaxation (:mod:`solver.lagrange`) gives a bound and ranks the sites.
2. Location-allocation alternation from the best-ranked sites (:mod:`solver.centres`) gives a
   plan, kept when it beats the plan passed in.
3. Every pair that no plan better than that one can use is removed, and HiGHS solves what is
   left with contiguity cuts in rounds (:func:`solver.highs.solve_highs`); its bound and its
   "optimal" hold for the whole problem.

Measured on the Validi county instances (Hess model, +-0.5% population, contiguity), with
``solve(problem, time_limit=20)``: IA, KS and NE are proven optimal in 9-14 s, where HiGHS on
the whole model did not prove them in the time; the fixing keeps 703 of IA's 9,801 pairs and
366 of NE's 8,639.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable, Sequence

from solver.centres import alternate, starting_sites
from solver.highs import HighsOutcome, solve_highs
from solver.lagrange import relax
from solver.parts import Part
from solver.problem import PlanningProblem

#: Shares of the time for the relaxation and for the alternation (each usually takes far less).
RELAX_SHARE = 0.1
ALTERNATE_SHARE = 0.4


def solve_pruned(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None, time_limit: float,
                 objective_of: Callable[[dict[int, int]], float], hint: dict[int, int] | None = None,
                 on_start: Callable[[Callable[[], None]], None] | None = None) -> HighsOutcome:
    """Best plan and bound within ``time_limit`` (see the module text). ``objective_of`` prices a plan
    on the model's objective; ``on_start`` receives a function that stops the work from another thread."""
    start = time.monotonic()
    deadline = start + time_limit
    stopped = threading.Event()
    inner: list[Callable[[], None]] = []

    def stop() -> None:
        stopped.set()
        for cancel in list(inner):
            cancel()

    if on_start is not None:
        on_start(stop)
    size = sum(len(p.units) for p in parts)
    best = dict(hint) if hint and len(hint) == size else None
    best_value = objective_of(best) if best else math.inf
    relaxation = relax(problem, parts, fixed_total=fixed_total, target=best_value if best else None,
                       time_limit=RELAX_SHARE * time_limit)
    bound = relaxation.bound if relaxation is not None and math.isfinite(relaxation.bound) else None
    log = [f"lagrangian bound {bound}, {time.monotonic() - start:.1f} s"]
    if bound is not None and not stopped.is_set():
        starts = [starting_sites(problem, parts, relaxation.ranking, fixed_total, spread=spread)
                  for spread in (True, False)]
        plan, value = alternate(problem, parts, starts, fixed_total=fixed_total, objective_of=objective_of,
                                deadline=min(deadline, time.monotonic() + ALTERNATE_SHARE * time_limit),
                                stopped=stopped)
        log.append(f"alternation {value}, {time.monotonic() - start:.1f} s")
        if plan is not None and value < best_value:
            best, best_value = plan, value
    if best is not None and bound is not None and bound >= best_value - 1e-6 * max(1.0, abs(best_value)):
        return HighsOutcome("optimal", best, best_value, best_value, time.monotonic() - start, log=log)
    if stopped.is_set() or deadline - time.monotonic() <= 0.05:
        return HighsOutcome("feasible" if best else "unknown", best or {}, bound, best_value if best else None,
                            time.monotonic() - start, log=log)
    restrict = relaxation.keep(best_value, best) if best is not None and bound is not None else None
    if restrict is not None:
        log.append(f"pairs kept {relaxation.kept(best_value)}")
    outcome = solve_highs(problem, parts, fixed_total=fixed_total, time_limit=deadline - time.monotonic(),
                          hint=best, objective_of=objective_of, on_start=inner.append,
                          restrict=restrict, pruned=restrict is not None)
    bounds = [b for b in (bound, outcome.bound) if b is not None and math.isfinite(b)]
    merged = max(bounds) if bounds else None
    status = outcome.status
    if outcome.assignment and merged is not None and \
            merged >= (outcome.objective or math.inf) - 1e-6 * max(1.0, abs(outcome.objective or 0.0)):
        status = "optimal"
    return HighsOutcome(status, outcome.assignment, merged, outcome.objective, time.monotonic() - start,
                        outcome.rounds, outcome.cuts, log + outcome.log)

"""The MIP route with Lagrangian fixing: bound, a good plan, then HiGHS on the pairs that are left.

1. The Lagrangian relaxation (:mod:`solver.lagrange`) gives a bound and ranks the sites. With the
   number of areas fixed, the search over the sets of sites to open (:mod:`solver.centresets`)
   comes next: where the count is small it proves the optimum (Validi WV in 0.35 s), else it
   stops at once or with a better plan for the steps below.
2. Location-allocation alternation from the best-ranked sites, then from the sites of the plan
   passed in (:mod:`solver.centres`), gives a plan, kept when it beats that one. The contiguity
   cuts its assignments found go into the MIP below (and from one assignment to the next): Validi
   NE, whose alternation ends on the optimum, is proven in one round instead of three (0.3 s of
   HiGHS instead of 0.65). Its assignments
   (and the extras' below) are offered only the pairs the relaxation keeps for a plan better than
   that one: no better plan uses the others, and the smaller models are solved sooner. Measured
   with ``solve(problem, time_limit=120)`` on the Validi states (seed 0, then 1): AR's first
   assignment took 1.4 s instead of 3.5 (the alternation is the first thing both racing routes
   do), and AR was proven in 3.9 and 6.3 s instead of 6.1 (last benchmark run), NE in 2.6 and
   2.5 instead of 5.8, LA in 18.4 instead of 33, NM in 0.15-0.16 instead of 0.21-0.26; IA (4.5-4.8),
   KS (9.5-9.8), WV (10.6-11.0), OK (17.3 and 25.0) and AL (69.9) as before. Capping each
   assignment at 0.5 s proved KS in 6.6-6.9 s, but LA took 28.8 s and Zhang AL was not proven in
   120 s (2.5% above its optimum): not kept. Without
   contiguity, where serving fixed sites took tens of milliseconds, also from the site sets the
   relaxation opened on its way (a Lagrangian heuristic), then site swaps. Measured on the
   Osman-Christofides instances at 15 s: pmedcap1-20 at its optimum 1,005 in three runs of four
   and -19 at its 1,031 in two (1,017 and 1,039 before); on the tight-bound Validi states the
   assignments take seconds and the extras are skipped. These extras get at most EXTRA_FIRST_S
   seconds first; the rest of their time only when the proof below has not come within
   PROOF_FIRST_SHARE of the time and HiGHS found no better plan meanwhile (then the search starts
   again from theirs). Where the proof is quick they were most of the time: on the 49-unit commune
   they took 12 s and found nothing, where the proof takes 2 s; pmedcap1-20 still gets to 1,005.
3. Every pair that no plan better than that one can use is removed, and HiGHS solves what is
   left with contiguity cuts in rounds (:func:`solver.highs.solve_highs`); its bound and its
   "optimal" hold for the whole problem. Without contiguity and from a plan at most
   HEURISTICS_GAP above the bound, HiGHS's own improvement heuristics are off: there its sub-MIPs
   took most of the time and the proof is what is missing (the 49-unit commune's pruned model,
   from a plan 0.5% above the optimum: proven in 1.5-1.9 s instead of 3.6-4.4; the whole model
   in 2.0 s instead of 7.2).
4. When HiGHS finds a plan good enough that the fixing would keep at most REFIX_SHARE of the
   pairs (REFIX_BETWEEN_SHARE between two rounds of cuts), it stops, the pairs are fixed again
   and it starts over on the smaller model with the cuts found so far. With contiguity, a plan
   in pieces on new sites stops the round at once, and its sites served in one piece each give
   that better plan. Measured on Zhang KS: from the construction's plan 2,113 pairs are kept,
   from the optimum HiGHS finds 1,419, on which it proved that optimum in one of two 15-s runs.

Measured on the Validi county instances (Hess model, +-0.5% population, contiguity), with
``solve(problem, time_limit=20)``: IA, KS and NE are proven optimal in 9-14 s, where HiGHS on
the whole model did not prove them in the time; the fixing keeps 703 of IA's 9,801 pairs and
366 of NE's 8,639.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from typing import Callable, Sequence

from solver.centres import alternate, starting_sites, swap_sites
from solver.centresets import search_sets
from solver.highs import HighsOutcome, SearchMemory, solve_highs
from solver.lagrange import Relaxation, relax
from solver.parts import Part
from solver.problem import PlanningProblem

#: Shares of the time for the relaxation and for the alternation (each usually takes far less).
RELAX_SHARE = 0.2
#: Share of the time for the search over site sets (see :mod:`solver.centresets`).
SETS_SHARE = 0.5
ALTERNATE_SHARE = 0.4
#: Without contiguity, when the alternation's assignments took at most QUICK_ASSIGN_S seconds
#: (median), EXTRA_SHARE of its time goes to more starts (the relaxation's site sets) and site
#: swaps, SWAP_SHARE of that to the swaps, each assignment cut at STEP_LIMIT_S seconds.
EXTRA_SHARE = 0.5
SWAP_SHARE = 0.4
QUICK_ASSIGN_S = 0.15
STEP_LIMIT_S = 0.3
#: A plan found by the MIP that lets the fixing keep at most this share of the pairs kept now
#: restarts the MIP on the smaller model (the contiguity cuts found so far are carried over).
REFIX_SHARE = 0.7
#: Between two rounds of contiguity cuts (the next round starts its search afresh anyway), a plan
#: that lets the fixing keep at most this share restarts it. Measured on Validi WV: the round's
#: plan served in one piece each is the optimum; on the 1,524 pairs it leaves, the proof takes
#: 8.6 s against 14 s on the 1,939 kept before.
REFIX_BETWEEN_SHARE = 0.95
#: See the module text, steps 2 and 3. With a plan far above the bound (the 49-unit commune whose
#: sites barely hold its voters: a packed plan 72% above), HiGHS's heuristics are what improve it:
#: 18,659 in 60 s with them, 23,342 without.
HEURISTICS_GAP = 0.1
#: With contiguity, from a plan whose value is at most this share above the bound (as a share of the
#: plan's value, as HEURISTICS_GAP), HiGHS does not restart at the root (:meth:`_Search._restarts`).
#: Its restarts (presolve again once the root has fixed columns) cost more than they gave where the
#: search is mostly the proof: HiGHS alone on the pruned models,
#: from the optimum, proved Validi AR in 1.5 s instead of 2.5, IA 1.6 instead of 3.6, KS 3.8 instead
#: of 6.2, OK 3.2 instead of 5.8. Far from the bound they find the plans: Validi AL's first round
#: (the alternation's plan 19% above the bound) ran 46 s instead of 12 before its first plan in
#: pieces, and AL took 105 s instead of 70. Without contiguity they stay: on Osman-Christofides
#: pmedcap1-20 the search ended at 1,021 instead of its optimum 1,005.
RESTART_GAP = 0.15
EXTRA_FIRST_S = 1.0
PROOF_FIRST_SHARE = 0.1
PROOF_FIRST_MIN_S = 2.0


def solve_pruned(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None, time_limit: float,
                 objective_of: Callable[[dict[int, int]], float], hint: dict[int, int] | None = None,
                 on_start: Callable[[Callable[[], None]], None] | None = None,
                 alternate_share: float = ALTERNATE_SHARE, random_seed: int = 0,
                 extras: bool = True, relaxation: Relaxation | None = None,
                 warm_sites_only: bool = False, site_sets: bool = True) -> HighsOutcome:
    """Best plan and bound within ``time_limit`` (see the module text). ``objective_of`` prices a plan
    on the model's objective; ``on_start`` receives a function that stops the work from another thread;
    ``alternate_share``: the share of the time the alternation may take, ``random_seed`` HiGHS's, and
    ``extras``: whether the extra starts and swaps may follow it (the race's second route takes less
    time, another seed and no extras, so that its MIP starts soon, see
    :data:`solver.solve.QUICK_ALTERNATE_SHARE`); ``warm_sites_only``: the alternation starts from
    ``hint``'s sites alone, not also from the relaxation's best-ranked ones (from those when
    ``hint`` is not a whole plan). ``relaxation``:
    :func:`relaxation_for` of the same arguments, already computed (two routes racing share one),
    else it is computed here. The alternation's contiguity cuts go into the MIP's first round.
    ``site_sets``: with the area count fixed, the search over the sets of sites to open
    (:mod:`solver.centresets`) comes first, for at most SETS_SHARE of the time."""
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
    best = _whole(parts, hint)
    best_value = objective_of(best) if best else math.inf
    if relaxation is None:
        relaxation = relaxation_for(problem, parts, fixed_total=fixed_total, hint=hint, objective_of=objective_of,
                                    time_limit=time_limit, stopped=stopped)
    bound = relaxation.bound if relaxation is not None and math.isfinite(relaxation.bound) else None
    log = [f"lagrangian bound {bound}, {time.monotonic() - start:.1f} s"]
    extras_left = 0.0  # seconds of extra starts and swaps kept for after a first proof attempt
    memory = SearchMemory()
    if site_sets and fixed_total is not None and bound is not None and not stopped.is_set():
        found = search_sets(problem, parts, relaxation, fixed_total=fixed_total, best=best, objective_of=objective_of,
                            deadline=min(deadline, time.monotonic() + SETS_SHARE * time_limit), stopped=stopped,
                            cuts=memory.cuts)
        if found is not None:
            log += found.log
            if found.plan is not None and found.value < best_value:
                best, best_value = found.plan, found.value
            if found.proven:
                return HighsOutcome("optimal", best, best_value, best_value, time.monotonic() - start, log=log)
    if bound is not None and not stopped.is_set():
        starts = [starting_sites(problem, parts, relaxation.ranking, fixed_total, spread=spread)
                  for spread in (True, False)] if not (warm_sites_only and best is not None) else []
        # extra starts and swaps pay where serving fixed sites is quick (no contiguity, loose bounds:
        # tens of ms); with contiguity or tight bounds each takes seconds, which the MIP needs more
        alternate_end = time.monotonic() + alternate_share * time_limit
        extra_time = 0.0 if problem.contiguity or not extras else EXTRA_SHARE * alternate_share * time_limit
        timings: list[float] = []
        proven: set[tuple[int, ...]] = set()  # site sets whose assignment was proven the best on them
        plan, value = alternate(problem, parts, starts, fixed_total=fixed_total, objective_of=objective_of,
                                deadline=min(deadline, alternate_end - extra_time), stopped=stopped,
                                from_plan=best, timings=timings,
                                restrict=relaxation.keep(best_value, best) if best is not None else None,
                                proven=proven, learned=memory.cuts)
        log.append(f"alternation {value}, {time.monotonic() - start:.1f} s")
        if plan is not None and value < best_value:
            best, best_value = plan, value
        ended_on = tuple(sorted(set(plan.values()))) if plan is not None else None
        if ended_on in proven and value <= best_value:
            memory.assigned.add(ended_on)  # not served again (solver.highs)
        if extra_time and timings and statistics.median(timings) <= QUICK_ASSIGN_S and best is not None:
            first = min(extra_time, EXTRA_FIRST_S)
            best, best_value = _extras(problem, parts, relaxation, best, best_value, fixed_total=fixed_total,
                                       objective_of=objective_of, stopped=stopped,
                                       deadline=min(deadline, time.monotonic() + first))
            extras_left = extra_time - first
            log.append(f"lagrangian starts and swaps {best_value}, {time.monotonic() - start:.1f} s")
    if best is not None and bound is not None and bound >= best_value - 1e-6 * max(1.0, abs(best_value)):
        return HighsOutcome("optimal", best, best_value, best_value, time.monotonic() - start, log=log)
    if stopped.is_set() or deadline - time.monotonic() <= 0.05:
        return HighsOutcome("feasible" if best else "unknown", best or {}, bound, best_value if best else None,
                            time.monotonic() - start, log=log)
    search = _Search(problem, parts, relaxation if bound is not None else None, fixed_total, objective_of,
                     inner, stopped, random_seed, log, memory)
    if bound is not None:
        search.bounds.append(bound)
    # a first proof attempt on the pairs the alternation's plan leaves; when it does not end in time,
    # the rest of the extra starts and swaps, then the search again from the better plan
    first_end = deadline if extras_left <= 0 else \
        min(deadline, time.monotonic() + max(PROOF_FIRST_MIN_S, PROOF_FIRST_SHARE * time_limit))
    outcome = search.run(best, first_end)
    stuck = best is not None and (outcome.objective is None or outcome.objective >= best_value - 1e-9)
    if extras_left > 0 and outcome.status != "optimal" and not stopped.is_set() and deadline - time.monotonic() > 0.05:
        plan = outcome.assignment if outcome.assignment else best
        if stuck:  # the MIP found no better plan: the extras may, and a better plan fixes more pairs
            plan, value = _extras(problem, parts, relaxation, plan, objective_of(plan), fixed_total=fixed_total,
                                  objective_of=objective_of, stopped=stopped,
                                  deadline=min(deadline, time.monotonic() + extras_left))
            log.append(f"more lagrangian starts and swaps {value}, {time.monotonic() - start:.1f} s")
        if not stopped.is_set() and deadline - time.monotonic() > 0.05:
            # another HiGHS seed: from the same plan, the same seed would first repeat the attempt
            search.random_seed += 1
            outcome = search.run(plan, deadline)
        elif plan and (value := objective_of(plan)) < (math.inf if outcome.objective is None else outcome.objective):
            outcome = HighsOutcome("feasible", plan, outcome.bound, value, outcome.seconds)
    merged = max(search.bounds) if search.bounds else None
    status = outcome.status
    if outcome.assignment and merged is not None and \
            merged >= (outcome.objective or math.inf) - 1e-6 * max(1.0, abs(outcome.objective or 0.0)):
        status = "optimal"
    return HighsOutcome(status, outcome.assignment, merged, outcome.objective, time.monotonic() - start,
                        search.rounds, search.cuts, log)


def _whole(parts: Sequence[Part], hint: dict[int, int] | None) -> dict[int, int] | None:
    """A copy of ``hint`` when it covers every unit of the parts, else None."""
    return dict(hint) if hint and len(hint) == sum(len(p.units) for p in parts) else None


def relaxation_for(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None,
                   hint: dict[int, int] | None, objective_of: Callable[[dict[int, int]], float],
                   time_limit: float, stopped: threading.Event | None = None) -> Relaxation | None:
    """The Lagrangian relaxation :func:`solve_pruned` starts from, for the same arguments: its steps
    aim at ``hint``'s value (when it is a whole plan), within RELAX_SHARE of ``time_limit``, and
    end early when ``stopped`` is set (the race is over)."""
    best = _whole(parts, hint)
    return relax(problem, parts, fixed_total=fixed_total, target=objective_of(best) if best else None,
                 time_limit=RELAX_SHARE * time_limit, stopped=stopped)


def _extras(problem: PlanningProblem, parts: Sequence[Part], relaxation: Relaxation, best: dict[int, int],
            best_value: float, *, fixed_total: int | None, objective_of: Callable[[dict[int, int]], float],
            stopped: threading.Event, deadline: float) -> tuple[dict[int, int], float]:
    """The alternation from the site sets the relaxation opened (a Lagrangian heuristic), then site
    swaps from the best plan, until ``deadline``: the best plan met and its value."""
    swap_time = SWAP_SHARE * (deadline - time.monotonic())
    plan, value = alternate(problem, parts, relaxation.site_sets, fixed_total=fixed_total,
                            objective_of=objective_of, deadline=deadline - swap_time,
                            stopped=stopped, step_limit=STEP_LIMIT_S, restrict=relaxation.keep(best_value, best))
    if plan is not None and value < best_value:
        best, best_value = plan, value
    return swap_sites(problem, parts, best, objective_of=objective_of, stopped=stopped,
                      deadline=deadline, step_limit=STEP_LIMIT_S, restrict=relaxation.keep(best_value, best))


class _Search:
    """HiGHS on the pairs a plan leaves, started again on fewer pairs whenever it finds a plan that
    fixes many more (see the module text); the contiguity cuts and bounds found carry over."""

    def __init__(self, problem: PlanningProblem, parts: Sequence[Part], relaxation: Relaxation | None,
                 fixed_total: int | None, objective_of: Callable[[dict[int, int]], float],
                 inner: list[Callable[[], None]], stopped: threading.Event, random_seed: int,
                 log: list[str], memory: SearchMemory) -> None:
        self.problem, self.parts, self.relaxation = problem, parts, relaxation
        self.fixed_total, self.objective_of, self.inner = fixed_total, objective_of, inner
        self.stopped = stopped
        self.random_seed, self.log = random_seed, log
        self.memory = memory  # contiguity cuts and served site sets, carried from one model to the next
        self.bounds: list[float] = []
        self.rounds = self.cuts = 0

    def _register(self, cancel: Callable[[], None]) -> None:
        """Keep a HiGHS run's stop for the route's; a run that begins after the route was stopped is
        stopped at once (the race may not ask again, see :func:`solver.solve._decided`)."""
        self.inner.append(cancel)
        if self.stopped.is_set():
            cancel()

    def _heuristics(self, value: float) -> bool:
        """Whether HiGHS's own improvement heuristics stay on, from a plan of ``value``: always with
        contiguity (its incumbents in pieces give the cuts and the sites to serve; off, Validi AR took
        6.7 s instead of 3.8), else when the plan is more than HEURISTICS_GAP above the best bound
        (or either is unknown), where a better plan is what is missing."""
        bound = max(self.bounds, default=-math.inf)
        return self.problem.contiguity or not math.isfinite(value) or not math.isfinite(bound) or \
            value - bound > HEURISTICS_GAP * max(1.0, abs(value))

    def _restarts(self, value: float) -> bool:
        """Whether HiGHS may restart at the root, from a plan of ``value``: not with contiguity and a
        plan at most RESTART_GAP (of its value) above the best bound, where the search is mostly the proof."""
        bound = max(self.bounds, default=-math.inf)
        near = math.isfinite(value) and math.isfinite(bound) and value - bound <= RESTART_GAP * max(1.0, abs(value))
        return not (self.problem.contiguity and near)

    def run(self, best: dict[int, int] | None, end: float) -> HighsOutcome:
        """Search until ``end`` from ``best`` (None: no plan known, nothing fixed)."""
        relaxation = self.relaxation
        best_value = self.objective_of(best) if best is not None else math.inf
        restrict = relaxation.keep(best_value, best) if best is not None and relaxation is not None else None
        while True:
            kept = relaxation.kept(best_value) if restrict is not None else 0
            if restrict is not None:
                self.log.append(f"pairs kept {kept}")

            def fixes_more(value: float, between_rounds: bool, kept: int = kept) -> bool:
                return relaxation.kept(value) <= (REFIX_BETWEEN_SHARE if between_rounds else REFIX_SHARE) * kept

            outcome = solve_highs(self.problem, self.parts, fixed_total=self.fixed_total,
                                  time_limit=end - time.monotonic(), hint=best, objective_of=self.objective_of,
                                  on_start=self._register, restrict=restrict, pruned=restrict is not None,
                                  restart_if=fixes_more if restrict is not None else None, memory=self.memory,
                                  random_seed=self.random_seed, heuristics=self._heuristics(best_value),
                                  restarts=self._restarts(best_value))
            self.log += outcome.log
            self.rounds, self.cuts = self.rounds + outcome.rounds, self.cuts + outcome.cuts
            if outcome.bound is not None and math.isfinite(outcome.bound):
                self.bounds.append(outcome.bound)
            if not outcome.restart or self.stopped.is_set() or end - time.monotonic() <= 0.05:
                return outcome
            best, best_value = outcome.assignment, float(outcome.objective)
            restrict = relaxation.keep(best_value, best)

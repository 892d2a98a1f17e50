"""The one entry point of the solver: construction, then the exact model or large-neighbourhood search.

``method="auto"``: the construction heuristic gives a valid plan fast (the warm start and the
fallback); the exact model then improves it and proves a bound, part by part (each electoral
unit's connected pieces are independent), or jointly when a fixed number of areas couples the
parts: CP-SAT alone first, then CP-SAT and HiGHS raced on the cores (HiGHS after Lagrangian
fixing and a location-allocation start, with contiguity cuts in rounds: :mod:`solver.prune`; on
large models two such HiGHS routes, one with a shorter alternation, instead of CP-SAT and one).
Parts too big for the full model are improved by large-neighbourhood search with CP-SAT over a
few touching areas at a time and bounded by a linear relaxation; without contiguity, by HiGHS
on a narrowed model.
``method="construction"``: the heuristic alone. ``method="exact"``: the full model everywhere.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import replace
from typing import Callable

import numpy as np

from solver.centres import relocate, serve_near
from solver.connected import stranded_units
from solver.exact import solve_exact
from solver.heuristic import solve_heuristic
from solver.highs import available as highs_available
from solver.highs import lp_bound, nearest_sites, relaxed_openings, solve_highs
from solver.lns import improve_lns, relaxation_bound
from solver.nearby import improve_nearby
from solver.partition import PartitionOutcome, solve_partition
from solver.parts import Part, area_count_range, precheck, split_parts
from solver.prune import relaxation_for, solve_pruned
from solver.problem import (STATUS_FEASIBLE, STATUS_INFEASIBLE, STATUS_OPTIMAL, STATUS_TIMEOUT, Diagnostic,
                            PlanningProblem, SolveResult, model_objective, travel_objective)
from solver.verify import BEYOND_TRAVEL, broken_rules

METHODS = ("auto", "exact", "construction")
#: Above this many unit-site pairs, a part is improved by LNS instead of the full model.
FULL_MODEL_MAX_PAIRS = 12_000
#: Share of the time CP-SAT gets alone before the race with HiGHS (at least a second). Only up to
#: RACE_ALONE_MAX_PAIRS unit-site pairs, or for the p-median shape: beyond, its flow model found
#: neither a plan nor a bound in that time (Validi WV, OK: 2-3 s lost), and the pruned HiGHS route
#: starts at once (Validi AR proven in 8.2 s instead of 11.7, NE 11.3 instead of 14.6, MS 2.3
#: instead of 6.5). Without contiguity too (tight voter bounds), at 10 s: Validi WV-nocontig proven
#: in 9.0 s where it was not, AR-nocontig 2.2 s instead of 3.3.
RACE_AFTER = 0.1
RACE_ALONE_MAX_PAIRS = 1_000
#: For the p-median shape the solo start is at most this long: there CP-SAT alone proved one
#: Osman-Christofides instance of 20 (pmedcap1-02, 0.4 s), and at a 60-s limit its 6 s alone made
#: pmedcap1-01, -03, -05, -06 and -07 take 5.4-10.2 s instead of 2.1-4.2 s at 15 s.
MEDIAN_ALONE_MAX_S = 1.0
#: The p-median shape whose largest sites leave room for fewer than this many average units' voters
#: (see :func:`_packed`) races CP-SAT, not HiGHS on the whole model, beside the pruned route. There
#: HiGHS rarely finds a plan better than the construction's packed one. Measured at 60 s on 49-unit
#: urban communes (41 sites, 12 areas, the benchmarks' generator, seeds with 0.25-0.53 units of
#: room): seed 2 18,613 instead of 23,876, 22: 24,323 instead of 35,339, 17: 23,465 instead of
#: 26,198, 14: 20,515 instead of 21,122; with 0.9-1.2 units (seeds 24, 28, 18, 26) and on the
#: Osman-Christofides instances (2.3 units and more) both races give the same plans and proofs
#: within noise, so the HiGHS model, documented first, stays there.
PACKED_SPARE_UNITS = 1.0
#: Above RACE_ALONE_MAX_PAIRS pairs (except the p-median shape), CP-SAT added neither plans nor
#: bounds in the race either; a second pruned HiGHS route takes its core, with this share of the
#: time for its alternation instead of :data:`solver.prune.ALTERNATE_SHARE`, so that its MIP starts
#: sooner, from another plan. Measured with ``solve(problem, time_limit=20)`` on the Validi states
#: (one run each, same machine): KS proven in 8.4 s instead of 12.9, NE 5.3 instead of 8.3, AR 6.2
#: instead of 8.0, OK proven in 20.0 s (was 1.7% from it), AL at its optimum (was 3.8% above); at
#: 10 s without contiguity AR-nocontig 3.6 s instead of 6.0, AL-nocontig 2.3% above its optimum
#: instead of 9.2%, LA-nocontig at it instead of 1.8% above. A share of 0 or 0.2 was also better
#: than CP-SAT, each best on some states. When both alternations settle on the same plan (at long
#: time limits they do), the two routes would search alike: the second uses another HiGHS seed.
#: Measured at 120 s: Validi LA proven in 33.9 s instead of 56.2 (the second route's search found the
#: optimum in its second round), AL 71.4 s against 70.4; at 20 s the states proven before took
#: 50.3 s together instead of 53.6 (KS 8.5, WV 11.3, OK 17.8, NE 4.6, AR 4.0, IA 4.1).
#: With contiguity the second route alternates from the warm plan's sites alone
#: (``warm_sites_only``): both routes began with the same assignment from the relaxation's sites,
#: which took 2.3 s on Validi NE with seed 2 and 3.1 s on KS, on each core. With this, the
#: alternation's cuts carried into the MIP (:mod:`solver.prune`) and the race no longer waiting for
#: a HiGHS route to stop (:func:`_decided`), measured with ``solve(problem, time_limit=120)`` in a
#: fresh process, seeds 0, 1 and 2 together: NE 4.4 s instead of 7.0, AR 9.9 instead of 11.1, IA
#: 10.0 instead of 11.6, KS 20.0 instead of 25.7, OK 40.1 instead of 47.8; but WV 34.4 instead of
#: 27.0 (seed 1: the first round met its plan in pieces at 7.8 s instead of 4.4) and LA 67.1
#: instead of 63.1.
QUICK_ALTERNATE_SHARE = 0.1
#: The two pruned routes share one Lagrangian relaxation, computed before they start (each computed
#: its own, at the same time, in Python threads that took turns), and the second starts this many
#: seconds after the first, unless that one has ended the race by then. Measured with
#: ``solve(problem, time_limit=20)``, two seeds, against the last benchmark run: Validi ID proven in
#: 0.32-0.39 s instead of 0.5-0.7, MS 0.40-0.49 instead of 0.8-1.4, AR 3.6 and 9.2 (6.1), IA 4.3-4.8
#: (5.0), NE 4.0-4.4 (5.9); without the delay, with the shared relaxation, about the same
#: (ID 0.36-0.39, NE 3.7-4.1).
QUICK_DELAY_S = 0.3
#: How often the race checks whether one engine has proven its answer (seconds).
RACE_POLL_S = 0.05
#: The race's engines whose stop holds until they end (see :func:`_decided`); CP-SAT's does not.
HIGHS_ROUTES = frozenset({"highs", "highs-quick", "highs-full"})
#: While the engines race (on large models usually up to the time limit), the share of the time
#: used is reported through ``on_progress`` (stage "search") at each 1/PROGRESS_STEPS of it.
PROGRESS_STEPS = 10
#: Share of the time for the construction heuristic (the warm start); without contiguity the MIP
#: finds good plans itself, so the construction gets less.
WARM_SHARE = 0.25
WARM_SHARE_FREE = 0.1
#: ... but at most this long where the rounded relaxation gives the start (:func:`_relaxed_nearby`:
#: a fixed count, no contiguity, more than NEARBY_MIN_UNITS units, a part too big for the full
#: model): there the construction is only the fallback. Lorena-Senne p3038_600: 174,094 in 3 s and
#: 166,375 in 30 s, where the rounded relaxation served gave 130,123.
WARM_MAX_S_NEARBY = 3.0
#: Narrowed MIP for large problems without contiguity: each unit is offered to its
#: max(NARROW_MIN_SITES, NARROW_FACTOR x units per area) nearest sites; it gets this share of the time.
NARROW_MIN_SITES = 20
NARROW_FACTOR = 3.0
NARROW_SHARE = 0.7
#: Of the narrowed MIP's time, the share the alternation around the warm start's sites may take
#: first (:func:`solver.centres.relocate`; it stops sooner when the sites stop moving).
RELOCATE_SHARE = 0.5
#: Above this many unit-site pairs the whole model's linear relaxation is not attempted (measured:
#: 161,604 pairs take 18 s in HiGHS, 9.2 million do not build in minutes); no bound is reported.
LP_BOUND_MAX_PAIRS = 100_000
#: Above this many units (no contiguity), the narrowed MIP does not finish its root in time; the
#: relaxation-rounded start and the nearby-areas search take over (:func:`_relaxed_nearby`). Each
#: unit is offered its RELAXED_SITES nearest sites in the relaxation.
NEARBY_MIN_UNITS = 1_000
RELAXED_SITES = 10
#: Shares of the time left for the relaxation and for serving its rounded sites.
RELAXED_SHARE = 0.25
ROUNDED_SHARE = 0.15
#: Serving the rounded sites stops after this long even when its share is longer: p3038_600 gave
#: 134,088 in 3.4 s, 130,123 in 15.6 s and 129,963 in 44 s; the nearby search uses the time better.
ROUNDED_MAX_S = 15.0

#: Time for the check that every unit fits in some valid area (it ends far sooner where units are
#: light: a valid area turns up among the first sets tried).
STRANDED_SHARE = 0.05
STRANDED_MAX_S = 2.0

#: The set partitioning route (:mod:`solver.partition`): the listing may take this share of the
#: time, the listing and HiGHS together PARTITION_SHARE. Once the listing is complete its MIP is
#: exact, so it gets most of the time: Validi SC's proof of infeasibility took 43 to 51 s of 120
#: in single runs, and more than the 60 s of a half share in one benchmark run.
LIST_SHARE = 0.1
PARTITION_SHARE = 0.7

ProgressCallback = Callable[[str, float], None]
#: What the race's second route returns when it never started (see QUICK_DELAY_S).
_NOT_STARTED = object()


def _pairs(problem: PlanningProblem, part: Part) -> int:
    return len(part.units) * len(part.sites)


def _travel_precheck(problem: PlanningProblem, parts: list[Part]) -> list[Diagnostic]:
    """Units with no candidate site of their part within the travel bound."""
    if problem.max_travel_km is None:
        return []
    reasons = []
    for part in parts:
        sites = list(part.sites)
        for u in part.units:
            if problem.weights[u] > 0 and sites and \
                    float(np.min(problem.distance[u, sites])) > problem.max_travel_km + 1e-9:
                reasons.append(Diagnostic("infeasible_travel_unit",
                                          {"name": problem.name(u), "km": problem.max_travel_km,
                                           "nearest": round(float(np.min(problem.distance[u, sites])), 2)},
                                          (problem.unit_ids[u],)))
    return reasons


def solve(problem: PlanningProblem, *, time_limit: float = 60.0, seed: int = 0, method: str = "auto",
          on_progress: ProgressCallback | None = None, formulation: str = "flow",
          threads: int | None = None) -> SolveResult:
    """Plan ``problem``: a valid assignment of every unit to an open site, or the reasons none exists.

    ``formulation`` picks the exact model's contiguity: ``"flow"`` (one model) or ``"cuts"``
    (separator cuts added in rounds); both are exact, the benchmarks compare them. ``threads``
    bounds the solver's threads (None: every core; 1 when many communes run side by side).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    start = time.monotonic()
    parts = split_parts(problem)
    reasons = precheck(problem, parts) + _travel_precheck(problem, parts)
    if not reasons and problem.areas is not None:
        low, high = area_count_range(problem, parts)
        if not low <= problem.areas <= high:
            reasons.append(Diagnostic("infeasible_area_count_detail",
                                      {"requested": problem.areas, "low": low, "high": high, "parts": len(parts),
                                       "sites": sum(len({int(problem.site_unit[s]) for s in p.sites}) for p in parts)}))
    if not reasons:
        reasons = stranded_units(problem, parts, time_limit=min(STRANDED_MAX_S, STRANDED_SHARE * time_limit))
    empty = np.full(problem.n_units, -1, dtype=int)
    if reasons:
        return SolveResult(STATUS_INFEASIBLE, empty, math.inf, None, None, time.monotonic() - start, method,
                           tuple(reasons))
    deadline = start + time_limit
    listed = _listed(problem, parts, deadline) if method == "auto" else None
    if listed is not None and listed.status in ("optimal", "infeasible"):
        outcome = _listed_outcome(problem, parts, listed, deadline)
        warm = None
    else:
        warm = solve_heuristic(problem, time_limit=_warm_time(problem, parts, time_limit, method), seed=seed,
                               on_progress=on_progress)
        if method == "construction":  # checked like any other answer (see _fallback)
            return _fallback(problem, warm, None, [], {}, warm.seconds, method, "")
        hint = {u: int(s) for u, s in enumerate(warm.assignment.tolist()) if s >= 0} \
            if warm.status != STATUS_INFEASIBLE else {}
        packed = bool(hint) and bool(warm.stats.get("packed"))
        if listed is not None and len(listed.assignment) == problem.n_units and \
                (len(hint) < problem.n_units or _ranked(problem, listed.assignment) < _ranked(problem, hint)):
            hint = dict(listed.assignment)  # the set partitioning's plan when it stopped before its proof
            packed = False
        if problem.areas is not None:
            # a packed plan (see solver.packing) is often 2-3 times the best travel; CP-SAT's first
            # second does better without it (urban-49-seed4: proven in 0.9 s without, 5.6 s with)
            outcome = _solve_fixed(problem, parts, hint, deadline, seed, method, formulation, threads, on_progress,
                                   alone_hint=not packed)
        else:
            outcome = _solve_decided(problem, parts, hint, deadline, seed, method, on_progress, formulation,
                                     threads)
        if listed is not None:
            outcome = _with_listed(problem, outcome, listed)
    assignment, statuses, bound, diagnostics, stats = outcome
    if listed is not None:
        stats = {**stats, "log": [f"set partitioning: {listed.columns} areas listed, {listed.status}, "
                                  f"{listed.seconds:.1f} s"] + list(stats.get("log", []))}
    seconds = time.monotonic() - start
    if diagnostics:
        return SolveResult(STATUS_INFEASIBLE, empty, math.inf, None, None, seconds, method, tuple(diagnostics),
                           stats)
    if (assignment < 0).any():  # no whole plan from the engines: the construction's, if it keeps the rules
        return _fallback(problem, warm, bound, statuses, stats, seconds, method, "")
    broken = broken_rules(problem, dict(enumerate(assignment.tolist())), whole=True)
    if broken:  # a slip in an engine: never handed on as a valid plan (see solver.verify)
        return _fallback(problem, warm, bound, statuses, stats, seconds, method,
                         f"rejected plan: {'; '.join(broken[:5])}")
    objective = model_objective(problem, assignment)
    gap = None
    if bound is not None and objective > 0:
        gap = max(0.0, (objective - bound) / objective)
    elif bound is not None:
        gap = 0.0
    status = STATUS_OPTIMAL if all(s == "optimal" for s in statuses) else STATUS_FEASIBLE
    if status == STATUS_OPTIMAL:  # proven on distances rounded to the metre
        bound, gap = objective, 0.0
    stats = {**stats, "travel_voter_km": round(travel_objective(problem, assignment), 3),
             "areas": len(set(assignment.tolist())), "parts": len(parts)}
    engine = str(stats.get("engine") or "cp-sat")  # the engines that ran: cp-sat, cp-sat+highs, highs+highs, lns, ...
    return SolveResult(status, assignment, objective, bound, gap, seconds, engine if method != "construction"
                       else method, (), stats)


def _fallback(problem: PlanningProblem, warm: SolveResult | None, bound: float | None, statuses: list[str],
              stats: dict, seconds: float, method: str, why: str) -> SolveResult:
    """The answer when the engines give no valid whole plan (``why`` says what was rejected): the
    construction's plan, unproven, with the engines' bound (a bound on the whole problem whatever
    their plans were; not with the count decided by a travel bound, where it holds at the fewest
    areas only). The construction keeps every rule but one: a travel bound it could not meet (with
    the count decided it then gives its plan with the shortest longest trip). Such a plan is
    returned with the status ``timeout`` and no bound (not valid: the caller warns about the trips
    beyond the bound); a plan breaking any other rule is never returned."""
    log = list(stats.get("log", [])) + ([why] if why else [])
    empty = np.full(problem.n_units, -1, dtype=int)
    if warm is None or warm.status == STATUS_INFEASIBLE:
        return SolveResult(STATUS_TIMEOUT if "unknown" in statuses or why else STATUS_INFEASIBLE, empty, math.inf,
                           None, None, seconds, method, warm.diagnostics if warm is not None and not why else (),
                           {**stats, "log": log})
    broken = broken_rules(problem, dict(enumerate(warm.assignment.tolist())), whole=True)
    if any(not rule.endswith(BEYOND_TRAVEL) for rule in broken):
        log.append(f"construction's plan rejected too: {'; '.join(broken[:5])}")
        return SolveResult(STATUS_TIMEOUT, empty, math.inf, None, None, seconds, method, (), {**stats, "log": log})
    if broken:
        log.append(f"construction's plan: {'; '.join(broken[:5])}")
    result = _with_model_objective(problem, replace(warm, stats={**warm.stats, "log": log}), seconds=seconds)
    if broken:
        return replace(result, status=STATUS_TIMEOUT)
    comparable = problem.areas is not None or problem.max_travel_km is None  # else a bound at the fewest areas
    if comparable and bound is not None and math.isfinite(bound) and bound <= result.objective + 1e-9:
        gap = (result.objective - bound) / result.objective if result.objective > 0 else 0.0
        result = replace(result, bound=bound, gap=max(0.0, gap))
    return result


def _warm_time(problem: PlanningProblem, parts: list[Part], time_limit: float, method: str) -> float:
    """The construction heuristic's time: all of it alone, else its share (see WARM_SHARE)."""
    if method == "construction":
        return time_limit
    warm = max(0.5, (WARM_SHARE if problem.contiguity else WARM_SHARE_FREE) * time_limit)
    if problem.areas is not None and _free_and_big(problem, parts, method) and problem.n_units > NEARBY_MIN_UNITS:
        warm = min(warm, WARM_MAX_S_NEARBY)  # the route of _relaxed_nearby (see _solve_fixed)
    return warm


def _free_and_big(problem: PlanningProblem, parts: list[Part], method: str) -> bool:
    """A part too big for the full model, no contiguity, HiGHS at hand: with a fixed count, the
    narrowed MIP's route, or above NEARBY_MIN_UNITS units the rounded relaxation's."""
    return not problem.contiguity and highs_available() and _big(problem, parts, method)


def _big(problem: PlanningProblem, parts: list[Part], method: str) -> bool:
    """A part too big for the full model (left to the heuristic routes), unless a method is forced."""
    return method == "auto" and any(_pairs(problem, p) > FULL_MODEL_MAX_PAIRS for p in parts)


def _listed(problem: PlanningProblem, parts: list[Part], deadline: float) -> PartitionOutcome | None:
    """The set partitioning route (:mod:`solver.partition`) where it applies: with contiguity, and
    not when each part is one area (only the parts themselves could be areas; the shortcut in
    :func:`_solve_fixed` settles that at once, where listing Validi WY's 23 counties took 2 s). None
    when the listing did not finish in its share of the time."""
    if not problem.contiguity or not highs_available() or problem.areas == len(parts):
        return None
    now = time.monotonic()
    return solve_partition(problem, parts, fixed_total=problem.areas,
                           list_until=now + LIST_SHARE * (deadline - now),
                           deadline=now + PARTITION_SHARE * (deadline - now))


def _locked(problem: PlanningProblem) -> bool:
    """Whether a lock or option beyond the law's rules takes part: pins, forced sites, a travel bound."""
    return bool(problem.pinned or problem.forced_open or problem.forced_closed or problem.max_travel_km is not None)


def _with_listed(problem: PlanningProblem, outcome: tuple, listed: PartitionOutcome) -> tuple:
    """The usual route's outcome after a set partitioning that stopped before its proof: its bound
    (valid for the whole problem; given only with the count fixed or priced) merged in, optimal when
    it meets the plan; its plan kept when the usual route ended without a whole one."""
    assignment, statuses, bound, diagnostics, stats = outcome
    if (assignment < 0).any() and len(listed.assignment) == problem.n_units:
        assignment = np.array([listed.assignment[u] for u in range(problem.n_units)])
        statuses, diagnostics, stats = ["feasible"], [], {**stats, "engine": "set-partition"}
    if listed.bound is not None:
        bound = listed.bound if bound is None else max(bound, listed.bound)
        if not (assignment < 0).any():
            value = model_objective(problem, assignment)
            if bound >= value - 1e-6 * max(1.0, abs(value)):
                statuses = ["optimal"]
    return assignment, statuses, bound, diagnostics, stats


def _listed_outcome(problem: PlanningProblem, parts: list[Part], listed: PartitionOutcome, deadline: float):
    """The solve's outcome from a proven set partitioning answer. With the count decided, the parts
    are independent: the ones with no plan of their own are named."""
    stats = {"engine": "set-partition", "columns": listed.columns}
    assignment = np.full(problem.n_units, -1, dtype=int)
    if listed.status == "infeasible":
        if _locked(problem):  # a lock may be the cause: CP-SAT's assumptions name the rules in conflict
            explained = solve_exact(problem, parts, fixed_total=problem.areas, seed=0,
                                    minimize="count" if problem.areas is None and problem.max_travel_km else "cost",
                                    time_limit=max(0.1, deadline - time.monotonic()))
            if explained.status == "infeasible" and explained.diagnostics:
                return assignment, ["infeasible"], None, list(explained.diagnostics), stats
        culprits = parts
        if problem.areas is None and len(parts) > 1:
            now = time.monotonic()
            alone = [(part, solve_partition(problem, [part], fixed_total=None, deadline=deadline,
                                            list_until=now + LIST_SHARE * (deadline - now))) for part in parts]
            culprits = [part for part, outcome in alone if outcome is not None and outcome.status == "infeasible"]
        return assignment, ["infeasible"], None, [_structure(problem, culprits or parts)], stats
    for u, s in listed.assignment.items():
        assignment[u] = s
    return assignment, ["optimal"], listed.bound, [], stats


def _ranked(problem: PlanningProblem, plan: dict[int, int]) -> tuple[int, float]:
    """How good a plan is: with a travel bound and the count decided, fewest areas first."""
    count = len(set(plan.values())) if problem.areas is None and problem.max_travel_km is not None else 0
    return count, _part_objective(problem, plan)


def _with_model_objective(problem: PlanningProblem, result: SolveResult, seconds: float | None = None) -> SolveResult:
    if result.status == STATUS_INFEASIBLE:
        return result
    objective = model_objective(problem, result.assignment)
    stats = {**result.stats, "travel_voter_km": round(travel_objective(problem, result.assignment), 3)}
    return SolveResult(result.status, result.assignment, objective, None, None,
                       result.seconds if seconds is None else seconds, result.method, result.diagnostics, stats)


def _solve_fixed(problem: PlanningProblem, parts: list[Part], hint: dict[int, int], deadline: float, seed: int,
                 method: str, formulation: str, threads: int | None = None,
                 on_progress: ProgressCallback | None = None, alone_hint: bool = True):
    """One model over all parts: the fixed area count couples them. ``alone_hint``: whether the
    race's first CP-SAT run starts from ``hint`` (see :func:`_race`)."""
    assignment = np.full(problem.n_units, -1, dtype=int)
    big = _big(problem, parts, method)
    if _free_and_big(problem, parts, method):
        if problem.n_units > NEARBY_MIN_UNITS:  # the relaxation gives a start where the construction found none
            return _relaxed_nearby(problem, parts, hint, deadline, seed, threads)
        if hint:
            return _narrowed_mip(problem, parts, hint, deadline)
    if big and hint:
        improved, statuses = improve_lns(problem, parts, hint, deadline=deadline, seed=seed, fixed_count=True)
        for u, s in improved.items():
            assignment[u] = s
        bound = relaxation_bound(problem, parts, fixed_total=problem.areas,
                                 time_limit=max(1.0, deadline - time.monotonic()))
        return assignment, statuses, bound, [], {"engine": "lns"}
    forced_per_part = [sum(1 for j in part.sites if j in problem.forced_open) for part in parts]
    if problem.areas == len(parts) and not problem.forced_closed and max(forced_per_part, default=0) <= 1:
        # every part is exactly one area: the best site of each part, by enumeration, is optimal
        chosen_all: dict[int, int] = {}
        bound = 0.0
        for part in parts:
            status, chosen, value = _trivial(replace(problem, areas=None, max_travel_km=None, area_cost=0.0), part, {})
            chosen_all.update(chosen)
            bound += value
        for u, s in chosen_all.items():
            assignment[u] = s
        within = problem.max_travel_km is None or all(
            problem.weights[u] <= 0 or problem.distance[u, s] <= problem.max_travel_km + 1e-9
            for u, s in chosen_all.items())
        if within and all(problem.pinned.get(u, s) == s for u, s in chosen_all.items()):
            return assignment, ["optimal"], bound, [], {"engine": "enumeration"}
        assignment[:] = -1
    if method == "auto" and highs_available():
        plan, statuses, bound, diagnostics, stats = _race(problem, parts, hint, deadline, seed, formulation,
                                                          threads, problem.areas, on_progress, alone_hint)
        for u, s in plan.items():
            assignment[u] = s
        return assignment, statuses, bound, diagnostics, stats
    outcome = solve_exact(problem, parts, fixed_total=problem.areas, workers=threads,
                          time_limit=max(0.1, deadline - time.monotonic()), seed=seed, hint=hint or None,
                          formulation=formulation)
    if outcome.status == "infeasible":
        return assignment, ["infeasible"], None, outcome.diagnostics or [_structure(problem, parts)], {}
    for u, s in outcome.assignment.items():
        assignment[u] = s
    return assignment, [outcome.status], outcome.bound, [], {"engine": "cp-sat", "branches": outcome.branches}


def _narrowed_mip(problem: PlanningProblem, parts: list[Part], hint: dict[int, int], deadline: float):
    """Large p-median-shaped problems: the location-allocation alternation from the warm start's
    sites, then HiGHS on a narrowed model (each unit offered to its nearest sites only, plus its
    site in the best plan so far), then the linear relaxation of the whole model for the bound
    when time is left. Measured on the Lorena-Senne instances (200-402 points):
    within 1% of the best known in 20 s, where the full model does not finish its root."""
    total = problem.areas or max(1, sum(p.min_areas(problem) for p in parts))
    per_unit = max(NARROW_MIN_SITES, math.ceil(NARROW_FACTOR * problem.n_units / total))

    def objective_of(plan: dict[int, int]) -> float:
        return _part_objective(problem, plan)

    with_bound = sum(_pairs(problem, p) for p in parts) <= LP_BOUND_MAX_PAIRS
    share = NARROW_SHARE if with_bound else 1.0  # no bound to compute: the MIP gets all the time
    mip_deadline = time.monotonic() + share * (deadline - time.monotonic())
    relocated, _ = relocate(problem, parts, hint, objective_of=objective_of,
                            deadline=time.monotonic() + RELOCATE_SHARE * (mip_deadline - time.monotonic()))
    restrict = nearest_sites(problem, parts, per_unit, keep=relocated)
    outcome = solve_highs(problem, parts, fixed_total=problem.areas,
                          time_limit=max(0.1, mip_deadline - time.monotonic()), hint=relocated,
                          objective_of=objective_of, restrict=restrict)
    bound = lp_bound(problem, parts, fixed_total=problem.areas, time_limit=deadline - time.monotonic()) \
        if with_bound and deadline - time.monotonic() > 0.5 else None
    plan, statuses, bound, diagnostics, stats = _merge(problem, problem.n_units,
                                                       [hint, relocated, outcome.assignment],
                                                       [bound], [False] * 3, "highs-narrowed")
    assignment = np.full(problem.n_units, -1, dtype=int)
    for u, s in plan.items():
        assignment[u] = s
    return assignment, statuses, bound, diagnostics, stats


def _relaxed_nearby(problem: PlanningProblem, parts: list[Part], hint: dict[int, int], deadline: float,
                    seed: int, threads: int | None):
    """Very large problems without contiguity (thousands of units): the sites most open in the
    linear relaxation of a narrowed model, served (a start usually far better than the
    construction's), then the nearby-areas search (:mod:`solver.nearby`) from the better of the
    two for the rest of the time. No bound: the whole model's relaxation does not build in time
    (Lorena-Senne p3038: 9.2 million pairs).

    The alternation (:func:`solver.centres.relocate`) is not run between them: on p3038_700 at
    300 s it took 24 s to bring the start from 35% to 8% above the best known, and the search
    ended 1.12% above; given those 24 s itself, from the start 35% above, it ended 0.93% above
    (single runs, which differ by up to 0.3-0.5% from one to the next). The alternation and the
    narrowed MIP alone reached 10.6% on p3038_600 at 30 s."""

    def objective_of(plan: dict[int, int]) -> float:
        return _part_objective(problem, plan)

    plans = [hint] if hint else []
    restrict = nearest_sites(problem, parts, RELAXED_SITES, keep=hint)
    openings = relaxed_openings(problem, parts, fixed_total=problem.areas, restrict=restrict,
                                time_limit=RELAXED_SHARE * (deadline - time.monotonic()))
    if openings is not None:
        served = serve_near(problem, parts, _rounded(problem, parts, openings),
                            deadline=time.monotonic() + min(ROUNDED_MAX_S,
                                                             ROUNDED_SHARE * (deadline - time.monotonic())))
        if served is not None and len(served) == problem.n_units and \
                (problem.areas is None or len(set(served.values())) == problem.areas):
            plans.append(served)
    if not plans:  # neither the construction nor the rounded relaxation gave a plan
        return np.full(problem.n_units, -1, dtype=int), ["unknown"], None, [], {"engine": "highs-nearby"}
    start = min(plans, key=objective_of)
    improved, counts = improve_nearby(problem, parts, start, deadline=deadline, seed=seed,
                                      fixed_count=problem.areas is not None, objective_of=objective_of,
                                      workers=threads or max(1, os.cpu_count() or 1))
    plan, statuses, bound, diagnostics, stats = _merge(problem, problem.n_units, plans + [improved],
                                                       [], [False] * (len(plans) + 1), "highs-nearby")
    assignment = np.full(problem.n_units, -1, dtype=int)
    for u, s in plan.items():
        assignment[u] = s
    return assignment, statuses, bound, diagnostics, {**stats, **counts,
                                                      "relaxation_rounded": openings is not None}


def _rounded(problem: PlanningProblem, parts: list[Part], openings: dict[int, float]) -> list[int]:
    """The sites to open from the relaxation's values. Each part gets as many areas as the
    relaxation opens in it, rounded to the fixed total by largest remainder (a decided count: the
    total it opens, rounded), never fewer than the part needs or has forced open nor more than it
    can hold; within a part,
    the forced sites, then the most open ones, one per unit."""
    total = problem.areas if problem.areas is not None else round(sum(openings.values()))
    quota = {p.index: sum(openings.get(j, 0.0) for j in p.sites) for p in parts}
    floor = {p.index: max(p.min_areas(problem), sum(1 for j in p.sites if j in problem.forced_open)) for p in parts}
    count = {i: max(floor[i], math.floor(quota[i] + 1e-6)) for i in quota}
    ceiling = {p.index: p.max_areas(problem) for p in parts}
    while sum(count.values()) < total and any(count[i] < ceiling[i] for i in count):
        grow = max((i for i in count if count[i] < ceiling[i]), key=lambda i: (quota[i] - count[i], -i))
        count[grow] += 1
    while sum(count.values()) > total and any(count[i] > floor[i] for i in count):
        shrink = min((i for i in count if count[i] > floor[i]), key=lambda i: (quota[i] - count[i], i))
        count[shrink] -= 1
    chosen: list[int] = []
    for part in parts:
        order = sorted(part.sites, key=lambda j: (j not in problem.forced_open, -openings.get(j, 0.0), j))
        units: set[int] = set()
        for j in order:
            if len(units) >= count[part.index]:
                break
            if int(problem.site_unit[j]) not in units:
                chosen.append(j)
                units.add(int(problem.site_unit[j]))
    return chosen


def _part_objective(problem: PlanningProblem, plan: dict[int, int]) -> float:
    """The model objective of a plan of some parts: their travel, area prices and moves."""
    units = list(plan)
    sites = [plan[u] for u in units]
    value = float((problem.cost_w[units] * problem.distance[units, sites]).sum())
    if problem.areas is None and problem.max_travel_km is None:
        value += problem.area_cost * len(set(sites))
    return value + _keep_penalty(problem, plan)


def _race(problem: PlanningProblem, parts: list[Part], hint: dict[int, int], deadline: float, seed: int,
          formulation: str, threads: int | None, fixed_total: int | None,
          on_progress: ProgressCallback | None = None, alone_hint: bool = True):
    """CP-SAT alone for a short while (small communes end here, deterministically); then CP-SAT
    (HiGHS on the whole model for the p-median shape unless packed, see :func:`_median_shaped`; a second pruned
    route above RACE_ALONE_MAX_PAIRS pairs, see QUICK_ALTERNATE_SHARE) and the pruned HiGHS route
    side by side on the cores until one proves its answer or time runs out. ``alone_hint``: the
    first CP-SAT run starts from ``hint`` (the others do in any case).

    Measured on the literature instances: CP-SAT's flow model proves the small contiguity-heavy
    cases (a few units, contiguity changing the optimum a lot); HiGHS, with its LP bound and
    contiguity cuts in rounds, proves the capacitated p-median and tight-bound districting cases
    CP-SAT only approaches. Neither wins everywhere, so both run; the better plan and the higher
    bound are kept.
    """
    cores = threads or max(1, os.cpu_count() or 1)
    size = sum(len(p.units) for p in parts)
    first = None
    large = sum(_pairs(problem, p) for p in parts) > RACE_ALONE_MAX_PAIRS  # CP-SAT gave nothing there
    median = _median_shaped(problem)
    if median or not large:
        solo = max(1.0, RACE_AFTER * (deadline - time.monotonic()))
        if median:
            solo = min(solo, MEDIAN_ALONE_MAX_S)
        first = solve_exact(problem, parts, fixed_total=fixed_total, workers=threads,
                            time_limit=max(0.1, min(deadline - time.monotonic(), solo)),
                            seed=seed, hint=(hint or None) if alone_hint else None, formulation=formulation)
        alone = {"engine": "cp-sat", "log": _race_log({"cp-sat alone": first})}
        if first.status == "infeasible":
            return {}, ["infeasible"], None, first.diagnostics or [_structure(problem, parts)], alone
        if first.status == "optimal" or time.monotonic() >= deadline - 0.1:
            plan, statuses, bound, _, _ = _merge(problem, size, [first.assignment], [first.bound],
                                                 [first.status == "optimal"], "cp-sat")
            return plan, statuses, bound, [], alone
    start_plan = (first.assignment if first is not None else {}) or hint
    stops: dict[str, Callable[[], None]] = {}
    results: dict[str, object] = {}
    unstarted: list[str] = []
    finished = threading.Event()

    def objective_of(plan: dict[int, int]) -> float:
        return _part_objective(problem, plan)

    def run(name: str, call: Callable[[], object]) -> None:
        try:
            outcome = call()
        except Exception as error:  # noqa: BLE001 - one engine failing leaves the other's answer
            outcome = error
        if outcome is _NOT_STARTED:  # the other engine had ended the race, or time was up
            unstarted.append(name)
            return
        results[name] = outcome
        if getattr(outcome, "status", None) in ("optimal", "infeasible"):
            finished.set()

    decided = threading.Event()  # the race returned while an engine was still ending (see _decided)

    def register(name: str) -> Callable[[Callable[[], None]], None]:
        def keep(stop: Callable[[], None]) -> None:
            stops[name] = stop
            if decided.is_set():  # started after the race was over: stop at once
                stop()
        return keep

    limit = max(0.1, deadline - time.monotonic())
    shared = None  # two pruned routes: one Lagrangian relaxation for both (see QUICK_DELAY_S)
    shared_log: list[str] = []
    if large and not median:
        began_relax = time.monotonic()
        try:
            shared = relaxation_for(problem, parts, fixed_total=fixed_total, hint=start_plan or None,
                                    objective_of=objective_of, time_limit=limit)
            bound = None if shared is None else shared.bound
            shared_log.append(f"shared lagrangian relaxation: bound {bound}, {time.monotonic() - began_relax:.1f} s")
        except Exception as error:  # noqa: BLE001 - each route then computes its own (and reports its failure)
            shared_log.append(f"shared lagrangian relaxation: failed: {type(error).__name__}: {error}")
        limit = max(0.1, deadline - time.monotonic())

    def quick() -> object:
        # the second route waits a moment: small models are proven by the first alone meanwhile
        if finished.wait(max(0.0, min(QUICK_DELAY_S, deadline - time.monotonic()))) or \
                time.monotonic() >= deadline - 0.05:
            return _NOT_STARTED
        return solve_pruned(problem, parts, fixed_total=fixed_total, time_limit=max(0.1, deadline - time.monotonic()),
                            hint=start_plan or None, objective_of=objective_of, on_start=register("highs-quick"),
                            alternate_share=QUICK_ALTERNATE_SHARE, random_seed=seed + 1, extras=False,
                            relaxation=shared, warm_sites_only=problem.contiguity, site_sets=False)

    if median and not _packed(problem, parts):
        # the capacitated p-median shape: HiGHS on the whole model, from its own search (no hint),
        # instead of CP-SAT, beside the pruned route
        first_engine, label = threading.Thread(name="highs-full", target=run, args=("highs-full", lambda: solve_highs(
            problem, parts, fixed_total=fixed_total, time_limit=limit, objective_of=objective_of,
            on_start=register("highs-full")))), "highs"
    elif large and not median:  # a second pruned route, its alternation cut short, instead of CP-SAT
        first_engine, label = threading.Thread(name="highs-quick", target=run, args=("highs-quick", quick)), "highs+highs"
    else:
        first_engine, label = threading.Thread(name="cp-sat", target=run, args=("cp-sat", lambda: solve_exact(
            problem, parts, fixed_total=fixed_total, workers=max(1, cores - 1), time_limit=limit, seed=seed,
            hint=start_plan or None, formulation=formulation, on_start=register("cp-sat")))), "cp-sat+highs"
    engines = [
        first_engine,
        threading.Thread(name="highs", target=run, args=("highs", lambda: solve_pruned(
            problem, parts, fixed_total=fixed_total, time_limit=limit, hint=start_plan or None,
            objective_of=objective_of, on_start=register("highs"), random_seed=seed, relaxation=shared))),
    ]
    for engine in engines:
        engine.start()
    began, reported = time.monotonic(), 0
    # Once one engine has proven its answer, stop the other, again and again until it has ended:
    # a stop asked before a solver's search has begun is forgotten when the search begins.
    while any(engine.is_alive() for engine in engines):
        # past the deadline too: CP-SAT on a large flow model can overrun its own limit by seconds
        if finished.wait(RACE_POLL_S) or time.monotonic() > deadline:
            for stop in list(stops.values()):
                stop()
            # HiGHS routes only: a stop asked of CP-SAT before its search began would be forgotten.
            # Decided before waiting for the others: Validi NE's second route, in its alternation,
            # held the answer back by the whole wait (50 ms of its 0.92 s)
            if finished.is_set() and all(e.name in HIGHS_ROUTES for e in engines if e.is_alive()) and \
                    _decided(problem, size, dict(results)):
                decided.set()
                for stop in list(stops.values()):  # those registered meanwhile too
                    stop()
                break  # the others end in the background (see _decided)
            for engine in engines:  # back as soon as they have ended, else stop them again
                engine.join(RACE_POLL_S)
        # the share of the search's time used, at each tenth (here, in the caller's thread)
        tenth = min(PROGRESS_STEPS, int(PROGRESS_STEPS * (time.monotonic() - began) / max(1e-9, deadline - began)))
        if on_progress is not None and tenth > reported:
            reported = tenth
            on_progress("search", tenth / PROGRESS_STEPS)
    settled = dict(results)  # an engine still ending may write to ``results`` later: read this copy
    outcomes = [o for o in settled.values() if not isinstance(o, Exception)]
    log = (_race_log({"cp-sat alone": first}) if first is not None else []) + shared_log + _race_log(settled) + \
        [f"{name}: not started, the race was over or time was up within {QUICK_DELAY_S} s" for name in unstarted] + \
        [f"{engine.name}: " + ("still ending when the race was decided" if engine.name in stops else
                               "not started when the race was decided (it waits a moment first)")
         for engine in engines if engine.is_alive()]
    if any(o.status == "infeasible" for o in outcomes):
        diagnostics = [d for o in outcomes if o.status == "infeasible" for d in getattr(o, "diagnostics", [])]
        return {}, ["infeasible"], None, diagnostics[:1] or [_structure(problem, parts)], {"engine": label, "log": log}
    plans = ([first.assignment] if first is not None else []) + [o.assignment for o in outcomes]
    bounds = ([first.bound] if first is not None else []) + [o.bound for o in outcomes]
    proofs = ([first.status == "optimal"] if first is not None else []) + [o.status == "optimal" for o in outcomes]
    plan, statuses, bound, diagnostics, stats = _merge(problem, size, plans, bounds, proofs, label)
    return plan, statuses, bound, diagnostics, {**stats, "log": log}


def _decided(problem: PlanningProblem, size: int, results: dict[str, object]) -> bool:
    """Whether the race's answer is settled without the engines still running: one proved the
    parts infeasible, or proved a whole plan optimal that keeps every rule (the race's choice
    would take it whatever the others bring). Then the race does not wait for the HiGHS routes to
    stop (their stop holds until they do; CP-SAT's is awaited, see :func:`_race`): a stop is heeded
    only between HiGHS's steps, and its presolve on Validi ID took 0.2-0.3 s, which doubled the solve
    whenever the second route had started (0.58-0.68 s instead of 0.34-0.38)."""
    for outcome in results.values():
        status = getattr(outcome, "status", None)
        if status == "infeasible":
            return True
        plan = getattr(outcome, "assignment", None)
        if status == "optimal" and plan and len(plan) == size and \
                not broken_rules(problem, plan, whole=size == problem.n_units):
            return True
    return False


def _race_log(results: dict[str, object]) -> list[str]:
    """What each engine of a race did, for ``report.json``: its status, bound and seconds, then the
    HiGHS route's own steps (relaxation bound, pairs kept, cut rounds) and any failure."""
    lines = []
    for name, outcome in sorted(results.items()):
        if isinstance(outcome, Exception):
            lines.append(f"{name}: failed: {type(outcome).__name__}: {outcome}")
            continue
        bound = getattr(outcome, "bound", None)
        lines.append(f"{name}: {outcome.status}, bound {'-' if bound is None else f'{bound:.4f}'}, "
                     f"{getattr(outcome, 'seconds', 0.0):.1f} s")
        lines += [f"{name}: {line}" for line in getattr(outcome, "log", [])]
    return lines


def _packed(problem: PlanningProblem, parts: list[Part]) -> bool:
    """Whether the parts' largest sites, one per unit, as many as the fixed count of areas, have
    room for fewer than PACKED_SPARE_UNITS average units' voters beyond the parts' voters: a plan is
    then almost a perfect packing of the units into the sites, which CP-SAT finds where HiGHS does
    not (see :data:`PACKED_SPARE_UNITS`). The parts hold no forced-closed site."""
    if problem.areas is None:
        return False
    room: dict[int, int] = {}
    for part in parts:
        for j in part.sites:
            unit = int(problem.site_unit[j])
            room[unit] = max(room.get(unit, 0), min(int(problem.capacity[j]), problem.max_voters))
    voters = sum(part.voters for part in parts)
    units = sum(len(part.units) for part in parts)
    spare = sum(sorted(room.values(), reverse=True)[:problem.areas]) - voters
    return spare < PACKED_SPARE_UNITS * voters / max(1, units)


def _median_shaped(problem: PlanningProblem) -> bool:
    """No contiguity and no voter minimum: the capacitated p-median problem, whose LP relaxation is
    strong. There HiGHS on the whole model beats CP-SAT: with it beside the pruned route, all 20
    Osman-Christofides instances reach their optimum within 60 s (pmedcap1-08, the slowest, in 28 s;
    with CP-SAT, -15 and -19 stayed one short at 15 s). With a minimum (Validi's tight population
    bounds) CP-SAT stays: HiGHS alone proved fewer of those. A fixed count whose minimum holds at
    most half the voters is this shape too: the issue's 49-unit, 41-site commune with 12 areas
    (minimum 300, about 2,700 voters per area) was proven in 7.4 s instead of 9.5, and a second one
    in 0.9 s instead of 4.4 (CP-SAT alone proves it within its first second). Where the sites barely
    hold the voters (:func:`_packed`), CP-SAT still races beside the pruned route."""
    if problem.contiguity:
        return False
    slack = problem.areas is not None and problem.min_voters * problem.areas <= 0.5 * float(problem.weights.sum())
    return problem.min_voters == 0 or slack


def _merge(problem: PlanningProblem, size: int, plans: list[dict[int, int]], bounds: list[float | None],
           proofs: list[bool], engine: str):
    """The best plan covering all ``size`` units of the parts and the highest bound of several runs;
    optimal when a run proved its own plan (``proofs``, one per plan) or the bound meets the plan.
    Plans are priced on the parts alone. A plan that breaks a rule (:func:`solver.verify.broken_rules`:
    a lock, the travel bound, the voter bounds, contiguity, ...) is never chosen, and its run's proof
    does not count (it may have been of another model), only the bound; a valid plan's proof does."""
    everything = size == problem.n_units  # then the count of areas and every forced site are checked too
    candidates, proven = [], False
    for plan, proof in zip(plans, proofs):
        if plan and len(plan) == size and not broken_rules(problem, plan, whole=everything):
            candidates.append((_part_objective(problem, plan), plan))
            proven = proven or proof
    known = [b for b in bounds if b is not None and math.isfinite(b)]
    if not candidates:
        return {}, ["unknown"], max(known) if known else None, [], {"engine": engine}
    value, best = min(candidates, key=lambda c: c[0])
    bound = max(known) if known else None
    closed = bound is not None and bound >= value - 1e-6 * max(1.0, abs(value))
    return best, ["optimal" if proven or closed else "feasible"], bound, [], {"engine": engine}


def _solve_decided(problem: PlanningProblem, parts: list[Part], hint: dict[int, int], deadline: float, seed: int,
                   method: str, on_progress: ProgressCallback | None, formulation: str, threads: int | None = None):
    """Each part on its own: fewest areas within the travel bound, or travel plus area cost."""
    assignment = np.full(problem.n_units, -1, dtype=int)
    statuses: list[str] = []
    bound_total = 0.0
    diagnostics: list[Diagnostic] = []
    engines = set()
    log: list[str] = []
    remaining_size = sum(max(1, _pairs(problem, p)) for p in parts)
    for index, part in enumerate(parts):
        size = max(1, _pairs(problem, part))
        budget = max(0.1, (deadline - time.monotonic()) * size / remaining_size)
        remaining_size -= size
        part_hint = {u: hint[u] for u in part.units if u in hint}
        part_deadline = time.monotonic() + budget
        if len(part.units) == 1 or len(part.sites) == 1:
            status, chosen, bound = _trivial(problem, part, part_hint)
            engines.add("enumeration")
        elif method == "auto" and _pairs(problem, part) > FULL_MODEL_MAX_PAIRS and part_hint:
            chosen, lns_status = improve_lns(problem, [part], part_hint, deadline=part_deadline, seed=seed,
                                             fixed_count=problem.max_travel_km is not None)
            status = lns_status[0]
            bound = relaxation_bound(problem, [part], fixed_total=None, time_limit=max(0.5, 0.2 * budget))
            engines.add("lns")
        else:
            status, chosen, bound, problems = _exact_decided(problem, part, part_hint, part_deadline, seed,
                                                             formulation, threads, engines, log)
            diagnostics.extend(problems)
        statuses.append(status)
        if bound is None:
            bound_total = math.nan
        else:
            bound_total += bound
        for u, s in chosen.items():
            assignment[u] = s
        if on_progress:
            on_progress("optimisation", (index + 1) / len(parts))
    bound_value = None if math.isnan(bound_total) else bound_total
    stats = {"engine": "+".join(sorted(engines))}
    return assignment, statuses, bound_value, diagnostics, {**stats, "log": log} if log else stats


def _trivial(problem: PlanningProblem, part: Part, hint: dict[int, int]):
    """A part with one unit or one site can only be one area: pick its best site, optimal by enumeration."""
    fitting = [j for j in part.sites if min(problem.capacity[j], problem.max_voters) >= part.voters]
    forced = [j for j in part.sites if j in problem.forced_open]
    options = forced or fitting or list(part.sites)
    best = min(options, key=lambda j: float(sum(problem.cost_w[u] * problem.distance[u, j] for u in part.units)))
    chosen = {u: best for u in part.units}
    objective = sum(float(problem.cost_w[u] * problem.distance[u, best]) for u in part.units)
    if problem.areas is None and problem.max_travel_km is None:
        objective += problem.area_cost
    objective += _keep_penalty(problem, chosen)
    return "optimal", chosen, objective


def _keep_penalty(problem: PlanningProblem, chosen: dict[int, int]) -> float:
    if not problem.previous or problem.keep_weight <= 0:
        return 0.0
    return problem.keep_weight * sum(1 for u, s in chosen.items() if u in problem.previous
                                     and problem.previous[u] != s)


def _exact_decided(problem: PlanningProblem, part: Part, hint: dict[int, int], deadline: float, seed: int,
                   formulation: str, threads: int | None = None, engines: set[str] | None = None,
                   log: list[str] | None = None):
    """One part with the count decided by the travel bound or by price; the engines used go to
    ``engines``, the race's steps to ``log``."""
    engines = engines if engines is not None else set()
    if problem.max_travel_km is not None:
        engines.add("cp-sat")
        count = solve_exact(problem, [part], fixed_total=None, minimize="count", workers=threads,
                            time_limit=max(0.1, 0.4 * (deadline - time.monotonic())), seed=seed, hint=hint or None,
                            formulation=formulation)
        if count.status == "infeasible":
            return "infeasible", {}, None, count.diagnostics or [_structure(problem, [part])]
        if count.status not in ("optimal", "feasible"):
            return "unknown", {}, None, []
        k = len(set(count.assignment.values()))
        travel = solve_exact(problem, [part], fixed_total=k, workers=threads, time_limit=max(0.1, deadline - time.monotonic()),
                             seed=seed, hint=count.assignment, formulation=formulation)
        if travel.status not in ("optimal", "feasible"):
            return "feasible", count.assignment, None, []
        status = "optimal" if count.status == "optimal" and travel.status == "optimal" else "feasible"
        return status, travel.assignment, travel.bound, []
    if highs_available():
        chosen, statuses, bound, problems, stats = _race(problem, [part], hint, deadline, seed, formulation,
                                                         threads, None)
        engines.add(str(stats.get("engine", "cp-sat")))
        if log is not None:
            log += [f"part {part.index + 1}: {line}" for line in stats.get("log", [])]
        if statuses == ["infeasible"]:
            return "infeasible", {}, None, problems
        if statuses == ["unknown"]:
            return "unknown", {}, None, []
        return statuses[0], chosen, bound, []
    engines.add("cp-sat")
    outcome = solve_exact(problem, [part], fixed_total=None, workers=threads, time_limit=max(0.1, deadline - time.monotonic()),
                          seed=seed, hint=hint or None, formulation=formulation)
    if outcome.status == "infeasible":
        return "infeasible", {}, None, outcome.diagnostics or [_structure(problem, [part])]
    if outcome.status not in ("optimal", "feasible"):
        return "unknown", {}, None, []
    return outcome.status, outcome.assignment, outcome.bound, []


def _structure(problem: PlanningProblem, parts: list[Part]) -> Diagnostic:
    """No lock or option is to blame: the units, bounds, capacities and contiguity cannot fit."""
    units = [problem.unit_ids[u] for p in parts for u in p.units]
    eus = sorted({problem.group_labels[p.group] for p in parts})
    return Diagnostic("infeasible_structure", {"eu": ", ".join(eus),
                                               "units": ", ".join(units[:8]) + (" …" if len(units) > 8 else "")},
                      tuple(units))

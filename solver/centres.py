"""Location-allocation alternation: a fast good plan for the MIP to start from.

Open a set of sites; give every unit its area by the MIP with only those sites (capacities,
voter bounds, and contiguity cuts in rounds, so the plan is valid); then move each area's site
to the one of its units that serves the area at least cost; repeat until the sites stop
moving. The sites to start from are the Lagrangian relaxation's best (:mod:`solver.lagrange`).
Measured on the Validi districting instances with contiguity: the optimum of KS and NE, IA
within 0.02% and OK within 0.8%, in one to three seconds, where the full MIP's own heuristics
take ten or more; WV is 5% above and AL gets no plan this way. A good plan is what lets the
Lagrangian fixing remove most pairs.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from typing import Callable, Sequence

import numpy as np

from solver.highs import (Separators, add_cuts, build, carried_cuts, offer_start, read_plan, run_model, separator_cuts,
                          stop_when)
from solver.pairs import pair_cost, site_cost, within_travel
from solver.parts import Part
from solver.problem import PlanningProblem

#: Alternation steps at most (each is one small MIP).
STEPS = 20
#: Large problems without contiguity (:func:`relocate`): each unit is offered its this many
#: nearest open sites, and one assignment gets at most this share of the time left.
NEAR_OPEN = 8
ASSIGN_SHARE = 0.1
#: Without contiguity, an assignment in :func:`alternate` may take at most OUTLIER_FACTOR times the
#: median of those before it (at least OUTLIER_MIN_S seconds): on the 49-unit commune, in a race, the sites
#: of CP-SAT's first plan took 2.3-2.9 s to serve where the others took 0.05-0.2 s, and the better plan
#: came from those others.
OUTLIER_FACTOR = 5.0
OUTLIER_MIN_S = 0.5
#: Site swaps (:func:`swap_sites`): each open site may be swapped for this many nearest closed ones.
SWAP_NEAR = 6


def starting_sites(problem: PlanningProblem, parts: Sequence[Part], ranking: Sequence[int],
                   fixed_total: int | None, spread: bool = False) -> list[int]:
    """Sites to start from, one per unit: each part's fewest areas first, then up to the fixed count
    (or, with the count priced, each part's fewest). Plain: in ``ranking`` order. ``spread``: from
    the best-ranked three times as many, each next site the farthest from those already chosen in
    its part (the ranking can put two good sites side by side, which no plan opens together).
    Sites forced open or pinned to come first: every valid plan opens them."""
    part_of = {j: part.index for part in parts for j in part.sites}
    need = {part.index: part.min_areas(problem) for part in parts}
    wanted = fixed_total if fixed_total is not None else sum(need.values())
    ranked = [j for j in ranking if j in part_of]
    pool = ranked[:max(3 * wanted, wanted + 1)] if spread else ranked
    chosen: list[int] = []
    used_units: set[int] = set()
    for j in sorted(required_sites(problem, parts)):  # in every valid plan: forced open, or pinned to
        if j in part_of and int(problem.site_unit[j]) not in used_units:
            chosen.append(j)
            used_units.add(int(problem.site_unit[j]))
            need[part_of[j]] -= 1

    def distance_to_chosen(j: int) -> float:
        same = [c for c in chosen if part_of[c] == part_of[j]]
        unit = int(problem.site_unit[j])
        return min((float(problem.distance[unit, c]) for c in same), default=math.inf)

    def pick(candidates: list[int]) -> int | None:
        free = [j for j in candidates if j not in chosen and int(problem.site_unit[j]) not in used_units]
        if not free:
            return None
        return max(free, key=distance_to_chosen) if spread else free[0]

    for part_needs_more in (True, False):
        while len(chosen) < wanted:
            candidates = [j for j in pool if need[part_of[j]] > 0] if part_needs_more else pool
            j = pick(candidates) or (pick([c for c in ranked if need[part_of[c]] > 0]) if part_needs_more else None)
            if j is None:
                break
            chosen.append(j)
            used_units.add(int(problem.site_unit[j]))
            need[part_of[j]] -= 1
    return chosen


def assign_sites(problem: PlanningProblem, parts: Sequence[Part], sites: Sequence[int], deadline: float,
            stopped: threading.Event, restrict: dict[int, set[int]] | None = None,
            start: dict[int, int] | None = None,
            cuts: Sequence[tuple[int, int, list[int]]] = (),
            proven: set[tuple[int, ...]] | None = None,
            learned: list[tuple[int, int, list[int]]] | None = None,
            cutoff: float | None = None, separators: Separators | None = None) -> dict[int, int] | None:
    """The best valid plan found with exactly ``sites`` open by ``deadline``: proven the best when
    time allows, else the best connected plan met (``start``, a valid plan on these sites, at
    least); None when none is found (or none exists: at once when ``sites`` leaves out a site
    forced open or pinned to). ``restrict``: site -> units it may serve;
    ``cuts``: contiguity cuts already known (those that hold here are used, see
    :func:`solver.highs.carried_cuts`); ``learned`` receives the cuts found here; ``proven``
    receives ``sites`` (sorted) when the plan returned is proven the best on them. ``cutoff``: only
    plans of a lower value are looked for (HiGHS's objective bound); ``sites`` then also goes into
    ``proven`` when HiGHS proves there is none (the plan returned is then ``start``).
    ``separators``: see :func:`solver.highs.build`."""
    import highspy

    if not required_sites(problem, parts) <= set(sites):
        return None  # a site forced open or pinned to is left out: no valid plan (its start is none either)
    everyone = restrict or {j: set(part.units) for part in parts for j in part.sites if j in set(sites)}
    # with contiguity, restarts at the root slowed these small fixed-site models (see solver.prune)
    model = build(problem, parts, len(sites), restrict=everyone, restarts=not problem.contiguity,
                  separators=separators)
    highs = model.highs
    stop_when(highs, stopped.is_set)  # a race stopped: end this run too
    columns = np.array(list(model.open_column.values()), dtype=np.int32)
    bounds = np.array([1.0 if j in everyone else 0.0 for j in model.open_column])  # these sites, no others
    highs.changeColsBounds(len(columns), columns, bounds, bounds)
    add_cuts(model, carried_cuts(problem, model, cuts))
    if cutoff is not None and math.isfinite(cutoff):
        highs.setOptionValue("objective_bound", float(cutoff))
    size = sum(len(p.units) for p in parts)
    best = start
    while not stopped.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0.05:
            break
        highs.setOptionValue("time_limit", float(remaining))
        if best is not None:
            offer_start(model, best)
        run_model(model)
        if cutoff is not None and _none_below(highs, cutoff):
            if proven is not None:
                proven.add(tuple(sorted(sites)))
            break
        if highs.getInfo().primal_solution_status != 2:
            break
        plan = read_plan(model)
        if len(plan) != size:
            break
        found = separator_cuts(problem, model, plan) if problem.contiguity else []
        if not found:
            if proven is not None and highs.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                proven.add(tuple(sorted(sites)))
            return plan  # connected: the optimum, or HiGHS's best (never worse than the start) when time ran out
        add_cuts(model, found)
        if learned is not None:
            learned.extend(found)
    return best


def _none_below(highs, cutoff: float) -> bool:
    """Whether HiGHS, run with ``cutoff`` as its objective bound, proved no plan lies below it: the
    model infeasible, or its search ended with nothing better (HiGHS 1.16 then reports "optimal"
    with a plan at or above the cut-off, met on the way)."""
    import highspy

    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return True
    info = highs.getInfo()
    return status == highspy.HighsModelStatus.kOptimal and info.primal_solution_status == 2 and \
        float(info.objective_function_value) >= cutoff


def _recentred(problem: PlanningProblem, parts: Sequence[Part], plan: dict[int, int], fixed_total: int | None) -> list[int]:
    """Each area's cheapest site among those standing in its units (the same site when none is
    cheaper). A site forced open or pinned to stays; a new one must hold the area's voters and
    serve each of its units (finite distance, travel bound), so the moved plan is valid too."""
    part_sites = {j: part.sites for part in parts for j in part.sites}
    areas: dict[int, list[int]] = {}
    for u, j in plan.items():
        areas.setdefault(j, []).append(u)
    opening = site_cost(problem, fixed_total)
    out = []
    for j, members in sorted(areas.items()):
        inside = set(members)
        load = int(problem.weights[members].sum())
        best, best_cost = j, math.inf
        if j in problem.forced_open or any(problem.pinned.get(u) == j for u in members):
            out.append(j)  # a site forced open, or one a unit is pinned to, stays where it is
            continue
        for s in part_sites[j]:
            if int(problem.site_unit[s]) not in inside or min(problem.capacity[s], problem.max_voters) < load \
                    or not _serves_all(problem, s, members):
                continue
            cost = opening + sum(pair_cost(problem, u, s) for u in members)
            if cost < best_cost - 1e-9:
                best, best_cost = s, cost
        out.append(best)
    return out


def _serves_all(problem: PlanningProblem, site: int, members: Sequence[int]) -> bool:
    """Whether ``site`` may serve every unit of ``members``: each at a finite distance, and within
    the travel bound (as the model's pairs, :func:`solver.pairs.model_pairs`)."""
    return bool(np.isfinite(problem.distance[list(members), site]).all()) and within_travel(problem, members, site)


def required_sites(problem: PlanningProblem, parts: Sequence[Part]) -> set[int]:
    """Sites every valid plan of the parts opens: those forced open, and those a unit is pinned to."""
    sites = {j for part in parts for j in part.sites if j in problem.forced_open}
    return sites | {int(problem.pinned[u]) for part in parts for u in part.units if u in problem.pinned}


def _moved(problem: PlanningProblem, parts: Sequence[Part], plan: dict[int, int],
           fixed_total: int | None) -> tuple[list[int], dict[int, int]]:
    """Each area's site moved to where it serves the area best: the new sites, and the same
    areas around them (a valid plan, the start of the next assignment)."""
    areas = sorted(set(plan.values()))
    moved = dict(zip(areas, _recentred(problem, parts, plan, fixed_total)))
    return sorted(set(moved.values())), {u: moved[j] for u, j in plan.items()}


def alternate(problem: PlanningProblem, parts: Sequence[Part], starts: Sequence[Sequence[int]], *,
              fixed_total: int | None, deadline: float, objective_of: Callable[[dict[int, int]], float],
              stopped: threading.Event | None = None,
              from_plan: dict[int, int] | None = None,
              step_limit: float | None = None,
              timings: list[float] | None = None,
              restrict: dict[int, set[int]] | None = None,
              proven: set[tuple[int, ...]] | None = None,
              learned: list[tuple[int, int, list[int]]] | None = None) -> tuple[dict[int, int] | None, float]:
    """The best plan met while alternating from each set of ``starts`` in turn (see the module
    text), then from the sites of the valid plan ``from_plan``, and its value. One assignment
    gets at most a third of the time left (or ``step_limit`` seconds; without contiguity, see
    :data:`OUTLIER_FACTOR`), so a set of sites HiGHS cannot quickly serve (or prove it cannot)
    leaves time for the next start; ``timings``
    receives each assignment's seconds. A start on ``from_plan``'s own sites begins from that plan.
    ``restrict``: site -> the units it may serve (each site also keeps its own unit and the units
    of the plan an assignment starts from); with the pairs a plan better than ``from_plan`` may use
    (:meth:`solver.lagrange.Relaxation.keep`), the assignments lose no better plan and are far
    smaller (see :mod:`solver.prune`). ``proven``: see :func:`assign_sites`. The contiguity cuts
    of each assignment go into the next ones (a site kept open keeps its cuts), and into
    ``learned``."""
    stopped = stopped or threading.Event()
    learned = learned if learned is not None else []
    best: dict[int, int] | None = None
    best_value = math.inf
    seen: set[tuple[int, ...]] = set()
    spent: list[float] = []  # seconds of each assignment so far
    own = sorted(set(from_plan.values())) if from_plan else None
    # a start on the plan's own sites begins from that plan (a valid start, HiGHS's first incumbent)
    runs: list[tuple[Sequence[int], dict[int, int] | None]] = [
        (sites, dict(from_plan) if sorted(sites) == own else None) for sites in starts]
    if from_plan:
        runs.append((own, dict(from_plan)))
    for sites, plan in runs:
        current = list(sites)
        for _ in range(STEPS):
            key = tuple(sorted(current))
            now = time.monotonic()
            if key in seen or stopped.is_set() or now >= deadline:
                break
            seen.add(key)
            step = step_limit if step_limit is not None else max(0.5, (deadline - now) / 3)
            if spent and not problem.contiguity:
                step = min(step, max(OUTLIER_MIN_S, OUTLIER_FACTOR * statistics.median(spent)))
            plan = assign_sites(problem, parts, current, min(deadline, now + step), stopped, start=plan,
                                restrict=narrowed(problem, current, restrict, plan) if restrict else None,
                                proven=proven, cuts=learned, learned=learned)
            spent.append(time.monotonic() - now)
            if timings is not None:
                timings.append(spent[-1])
            if plan is None:
                break
            value = objective_of(plan)
            if value < best_value - 1e-9:
                best, best_value = plan, value
            current, plan = _moved(problem, parts, plan, fixed_total)
    return best, best_value


def narrowed(problem: PlanningProblem, sites: Sequence[int], restrict: dict[int, set[int]],
             plan: dict[int, int] | None) -> dict[int, set[int]]:
    """``restrict`` narrowed to ``sites``, each with its own unit and the units ``plan`` gives it."""
    out = {j: set(restrict.get(j, ())) | {int(problem.site_unit[j])} for j in sites}
    for u, j in (plan or {}).items():
        if j in out:
            out[j].add(u)
    return out


def relocate(problem: PlanningProblem, parts: Sequence[Part], plan: dict[int, int], *, deadline: float,
             objective_of: Callable[[dict[int, int]], float],
             stopped: threading.Event | None = None) -> tuple[dict[int, int], float]:
    """The alternation for problems too large for the whole model, without contiguity: from a
    valid ``plan``, each unit offered only its :data:`NEAR_OPEN` nearest open sites (and its
    own), each assignment started from the previous areas around their new sites and cut short
    when time is up. Returns the best plan met (``plan`` itself when nothing better is) and its value.

    Measured on Lorena-Senne p3038_600 (3,038 points, 600 medians), the alternation alone with
    2 s assignments: from the construction's 174,159 to 132,405 (7.9% above the best known) in
    25 s, where HiGHS on the narrowed model reached 149,000-165,000 in 30 s.
    """
    stopped = stopped or threading.Event()
    best, best_value = dict(plan), objective_of(plan)
    current, start = sorted(set(plan.values())), dict(plan)
    seen: set[tuple[int, ...]] = set()
    part_of = {j: part for part in parts for j in part.sites}
    while not stopped.is_set() and time.monotonic() < deadline:
        key = tuple(current)
        if key in seen:
            break
        seen.add(key)
        restrict = _near_open(problem, parts, current, start, part_of)
        now = time.monotonic()
        found = assign_sites(problem, parts, current, min(deadline, now + max(1.0, ASSIGN_SHARE * (deadline - now))),
                        stopped, restrict=restrict, start=start)
        if found is None:
            break
        value = objective_of(found)
        if value < best_value - 1e-9:
            best, best_value = found, value
        current, start = _moved(problem, parts, found, len(set(found.values())))
    return best, best_value


def serve_near(problem: PlanningProblem, parts: Sequence[Part], sites: Sequence[int], *, deadline: float,
               stopped: threading.Event | None = None) -> dict[int, int] | None:
    """A valid plan with exactly ``sites`` open, each unit offered only its :data:`NEAR_OPEN`
    nearest of them (large problems, where offering every open site would not solve in time);
    HiGHS's best by ``deadline``, None when it found none."""
    part_of = {j: part for part in parts for j in part.sites}
    restrict = _near_open(problem, parts, sites, {}, part_of)
    return assign_sites(problem, parts, sites, deadline, stopped or threading.Event(), restrict=restrict)


def _near_open(problem: PlanningProblem, parts: Sequence[Part], sites: Sequence[int], start: dict[int, int],
               part_of: dict[int, Part]) -> dict[int, set[int]]:
    """Site -> units it may serve: each unit's nearest open sites of its part, and its site in ``start``."""
    out: dict[int, set[int]] = {int(j): {int(problem.site_unit[j])} for j in sites}
    for part in parts:
        open_here = np.array([j for j in sites if part_of[j] is part], dtype=int)
        if not len(open_here):
            continue
        units = np.array(part.units, dtype=int)
        near = np.argsort(problem.distance[np.ix_(units, open_here)], axis=1, kind="stable")[:, :NEAR_OPEN]
        for row, u in enumerate(units.tolist()):
            for c in near[row].tolist():
                out[int(open_here[c])].add(u)
    for u, j in start.items():
        out.setdefault(int(j), set()).add(int(u))
    return out


def swap_sites(problem: PlanningProblem, parts: Sequence[Part], plan: dict[int, int], *, deadline: float,
               objective_of: Callable[[dict[int, int]], float], near: int = SWAP_NEAR,
               step_limit: float = math.inf, stopped: threading.Event | None = None,
               restrict: dict[int, set[int]] | None = None) -> tuple[dict[int, int], float]:
    """Site swaps from a valid ``plan``: close one open site, open one of the ``near`` closed
    sites nearest to it (same part), serve the units anew with those sites; keep the first swap
    that lowers the objective and start over, until none does or time is up (one assignment
    gets at most ``step_limit`` seconds; ``restrict`` narrows each as in :func:`alternate`).
    Returns the best plan and its value.

    The alternation stops where moving each site within its own area no longer helps; a swap
    moves a site to where another area's units are. Measured on Osman-Christofides pmedcap1-19
    (100 points, 10 medians): from the alternation's 1,037 to the optimum 1,031 in 6 s, about
    30 ms per swap tried.
    """
    stopped = stopped or threading.Event()
    best, best_value = dict(plan), objective_of(plan)
    part_of = {j: part for part in parts for j in part.sites}
    improved = True
    while improved and not stopped.is_set() and time.monotonic() < deadline:
        improved = False
        sites = sorted(set(best.values()))
        open_units = {int(problem.site_unit[j]) for j in sites}
        for j in sites:
            if j in problem.forced_open:
                continue
            unit = int(problem.site_unit[j])
            closed = [s for s in part_of[j].sites
                      if s not in problem.forced_closed and int(problem.site_unit[s]) not in open_units]
            closed.sort(key=lambda s: (float(problem.distance[unit, s]), s))
            for s in closed[:near]:
                if stopped.is_set() or time.monotonic() >= deadline:
                    return best, best_value
                trial = [x for x in sites if x != j] + [s]
                found = assign_sites(problem, parts, trial, min(deadline, time.monotonic() + step_limit), stopped,
                                     restrict=narrowed(problem, trial, restrict, None) if restrict else None)
                if found is not None and objective_of(found) < best_value - 1e-9 * max(1.0, abs(best_value)):
                    best, best_value, improved = found, objective_of(found), True
                    break
            if improved:
                break
    return best, best_value

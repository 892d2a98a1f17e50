"""Large-neighbourhood search for big problems without contiguity: re-plan a few nearby areas at once.

The location-allocation alternation (:func:`solver.centres.relocate`) stops where moving each
site within its own area no longer helps; on thousands of units with hundreds of areas it
stops far from the best (Lorena-Senne p3038: 8-11% above the best known). Here a random open
site and its ``k`` nearest open sites are taken with every unit of their areas, and that small
problem (a few dozen units, every site standing in them a candidate, ``k`` areas) is solved by
HiGHS from the current plan; a better answer replaces those areas. This is the matheuristic
of Stefanello, de Araújo and Müller (2015) for the capacitated p-median problem. Most such
sub-problems are proven in a few hundredths of a second; a few would take seconds, so each
gets a limit and HiGHS's best plan at that point (never worse than the current one).

A neighbourhood solved without a gain is not solved again while its units stay as they are
(the same sub-problem gives the same answer): p3038_700 at 300 s skipped 2,293 such repeats
beside 2,943 steps solved, and ended 1.29% above the best known instead of 1.56%.

After a pass over every open site that found little better, ``k`` grows, so that sites can
move across wider stretches; after the widest, the search starts over from ``START_AREAS``,
where the areas changed since (p3038_900 at 300 s: the search had ended at 231 s, 0.58% above
the best known; starting over, it used the whole time and ended 0.48% above). When a whole cycle
had nothing left to solve, the widest pass grows by 4 areas and the search goes on (p3038_1000 at
600 s: it had ended at 433 s, 0.96% above; growing to 20 areas, 0.55% at 600 s). Each unit is
offered only its nearest sites within the neighbourhood, which keeps the sub-problems small
without changing what a good plan looks like.

HiGHS spends nearly all of a step's time outside Python's lock, so ``workers`` threads search at
once, each on areas no other thread holds: their changes touch different units and sites, so
each is accepted on its own (the objective adds up unit by unit and area by area).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from solver.highs import nearest_sites, solve_highs
from solver.lns import restrict
from solver.parts import Part, split_parts
from solver.problem import PlanningProblem, model_objective

#: Open sites re-planned together (the first pass), and the most it grows to.
START_AREAS = 5
MAX_AREAS = 16
#: When a whole cycle up to the widest had nothing left to solve and time remains, the widest grows
#: by 4 up to this (p3038_900 and _1000 at 600 s had ended at 385 s and 433 s, 0.60% and 0.96% above
#: the best known).
WIDEST_LIMIT = 32
#: A pass over every open site that improved the plan in at most this share of its steps: the
#: next pass re-plans 4 more sites together (p3038_600: the 5-area passes kept finding a few
#: gains each, 129 in 3,575 steps over 120 s, and never widened).
GROW_BELOW = 0.05
#: Seconds one sub-problem may take, per area in it (HiGHS's best plan is taken when it runs out).
#: The slow sub-problems hold the large gains: areas filled to 95% make knapsacks whose relaxation is
#: weak (one of 5 areas and 30 units: 1,424 to 1,331, proven in 2.6 s). p3038_600 from a plan 4.4%
#: above the best known, searching 200 s: 0.1 s per step stopped at 2.21% after 128 s (a whole pass
#: at 16 areas gained nothing in time); 0.1 s per area reached 1.02%, 0.2 s per area 1.03%.
STEP_SECONDS_PER_AREA = 0.1
#: Each unit of a sub-problem is offered its nearest sites within it: this many, or
#: SITES_PER_AREA_UNIT times the units per area when more (an area of 30 units has units whose
#: site is not among their 10 nearest: offered only those, no sub-problem found a better plan).
SITES_PER_UNIT = 10
SITES_PER_AREA_UNIT = 2.0
#: A thread finding every centre it tries held by another thread waits this long and tries again.
BUSY_WAIT_S = 0.005
BUSY_TRIES = 8


@dataclass(frozen=True)
class _Step:
    """One neighbourhood handed to a thread: its open sites, units and candidate sites."""
    areas: tuple[int, ...]
    units: tuple[int, ...]
    sites: tuple[int, ...]
    hint: dict[int, int]

    @property
    def key(self) -> tuple[int, tuple[int, ...]]:
        return _key(self.areas, self.units)


@dataclass
class _Search:
    """What the threads share, under ``lock``: the current plan and the pass over its sites."""
    current: dict[int, int]
    value: float
    rng: np.random.Generator
    lock: threading.Lock = field(default_factory=threading.Lock)
    members: dict[int, list[int]] = field(default_factory=dict)
    queue: list[int] = field(default_factory=list)
    busy: set[int] = field(default_factory=set)
    k: int = START_AREAS
    steps: int = 0
    better: int = 0
    pass_steps: int = 0
    pass_better: int = 0
    passes: int = 0
    finished: bool = False
    #: neighbourhoods (:attr:`_Step.key`) already solved without a gain: solving one again would
    #: give the same answer, until a step elsewhere changes one of its areas
    fruitless: set[tuple[int, tuple[int, ...]]] = field(default_factory=set)
    skipped: int = 0
    #: steps solved since the search last started over from START_AREAS
    cycle_steps: int = 0
    #: the widest pass of a cycle: MAX_AREAS, grown once a whole cycle had nothing left to solve
    widest: int = MAX_AREAS


def improve_nearby(problem: PlanningProblem, parts: Sequence[Part], start: dict[int, int], *, deadline: float,
                   seed: int, fixed_count: bool, objective_of: Callable[[dict[int, int]], float],
                   workers: int = 1) -> tuple[dict[int, int], dict[str, float]]:
    """Improve the valid plan ``start`` of the parts until ``deadline`` with ``workers`` threads;
    the number of areas stays when ``fixed_count``; ``objective_of`` prices ``start`` (each step
    is priced on its own sub-problem). Returns the best plan (``start`` when nothing better is
    found) and counts for the report (steps tried, steps that improved, largest neighbourhood)."""
    in_parts = {u for part in parts for u in part.units}
    sites_in_unit: dict[int, list[int]] = {}
    for part in parts:
        for s in part.sites:
            sites_in_unit.setdefault(int(problem.site_unit[s]), []).append(s)
    current = {u: s for u, s in start.items() if u in in_parts}  # a copy: updated in place
    search = _Search(current, objective_of(current), np.random.default_rng(seed))
    search.members = _members(current)

    def work() -> None:
        tries = 0
        while time.monotonic() < deadline - 0.05:
            with search.lock:
                step = _next_step(problem, search, sites_in_unit)
            if search.finished:
                return
            if step is None:
                tries += 1
                time.sleep(BUSY_WAIT_S * min(tries, BUSY_TRIES))
                continue
            tries = 0
            local = None
            try:
                local = _solve_step(problem, step, fixed_count, deadline)
            finally:  # the areas are free again even when the step failed
                with search.lock:
                    search.busy.difference_update(step.areas)
                    search.steps += 1
                    search.pass_steps += 1
                    search.cycle_steps += 1
                    if local is None or not _accept(search, step, *local):
                        search.fruitless.add(step.key)

    threads = [threading.Thread(target=work, name=f"nearby-{i}", daemon=True) for i in range(max(1, workers) - 1)]
    for thread in threads:
        thread.start()
    try:
        work()
    finally:
        for thread in threads:
            thread.join()
    return search.current, {"nearby_steps": search.steps, "nearby_improved": search.better,
                            "nearby_skipped": search.skipped,
                            "nearby_areas": search.k, "nearby_workers": max(1, workers)}


def _members(plan: dict[int, int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = {}
    for u, s in plan.items():
        members.setdefault(s, []).append(u)
    return members


def _next_step(problem: PlanningProblem, search: _Search, sites_in_unit: dict[int, list[int]]) -> _Step | None:
    """The next neighbourhood no other thread holds (marked busy), None when the few centres
    tried are all held. After the widest pass the search starts over from START_AREAS (the areas
    have changed since); when a whole such cycle had nothing left to solve, the widest grows by 4
    and the search goes on there, and it sets ``finished`` past WIDEST_LIMIT."""
    if not search.queue:
        if search.passes and search.pass_better <= GROW_BELOW * search.pass_steps:
            if search.k >= search.widest:
                if search.cycle_steps:
                    search.k, search.cycle_steps = START_AREAS, 0
                elif search.widest + 4 <= WIDEST_LIMIT:
                    search.widest += 4
                    search.k = search.widest
                else:
                    search.finished = True
                    return None
            else:
                search.k = min(search.widest, search.k + 4)
        search.pass_steps = search.pass_better = 0
        search.passes += 1
        search.queue = [int(s) for s in search.rng.permutation(np.array(sorted(search.members)))]
    attempt = 0
    while attempt < min(BUSY_TRIES, len(search.queue)):
        centre = search.queue[-1 - attempt]
        if centre not in search.members:  # closed by an earlier step of this pass
            search.queue.pop(-1 - attempt)
            continue
        areas = _nearest_areas(problem, search.members, centre, search.k)
        if search.busy.intersection(areas):
            attempt += 1
            continue
        search.queue.pop(-1 - attempt)
        units = tuple(sorted(u for s in areas for u in search.members[s]))
        if _key(areas, units) in search.fruitless:
            search.skipped += 1
            continue
        sites = tuple(sorted(s for u in units for s in sites_in_unit.get(u, [])))
        site_index = {s: i for i, s in enumerate(sites)}
        hint = {i: site_index[search.current[u]] for i, u in enumerate(units)}
        search.busy.update(areas)
        return _Step(tuple(areas), units, sites, hint)
    return None


def _solve_step(problem: PlanningProblem, step: _Step, fixed_count: bool,
                deadline: float) -> tuple[dict[int, int], float] | None:
    """HiGHS's best plan of the neighbourhood (local indices) and how much it lowers the objective,
    None when it found none. Plans are priced on the sub-problem's own objective: it differs from
    the whole plan's by a constant, so the gain is the whole plan's."""
    sub = restrict(problem, step.units, step.sites, areas=len(step.areas) if fixed_count else None)
    sub_parts = split_parts(sub)
    per_unit = max(SITES_PER_UNIT, math.ceil(SITES_PER_AREA_UNIT * len(step.units) / len(step.areas)))

    def value_of(plan: dict[int, int]) -> float:
        return model_objective(sub, np.array([plan[i] for i in range(sub.n_units)]))

    limit = min(STEP_SECONDS_PER_AREA * len(step.areas), max(0.05, deadline - time.monotonic()))
    outcome = solve_highs(sub, sub_parts, fixed_total=sub.areas, time_limit=limit, hint=step.hint,
                          objective_of=value_of, restrict=nearest_sites(sub, sub_parts, per_unit, keep=step.hint))
    if len(outcome.assignment) != len(step.units):
        return None
    return outcome.assignment, value_of(step.hint) - value_of(outcome.assignment)


def _key(areas: Sequence[int], units: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """What a neighbourhood's sub-problem depends on: its units (sorted) and how many areas they form."""
    return len(areas), units


def _accept(search: _Search, step: _Step, local: dict[int, int], gain: float) -> bool:
    """Take the neighbourhood's new plan when it lowers the objective (and say whether it did):
    only its units and areas change (no other thread holds them), so the plan is updated in place."""
    if gain <= 1e-9 * max(1.0, abs(search.value)):
        return False
    for s in step.areas:
        del search.members[s]
    for i, s in local.items():
        u, site = step.units[i], step.sites[s]
        search.current[u] = site
        search.members.setdefault(site, []).append(u)
    search.value -= gain
    search.better += 1
    search.pass_better += 1
    return True


def _nearest_areas(problem: PlanningProblem, members: dict[int, list[int]], centre: int, k: int) -> list[int]:
    """``centre`` and the open sites nearest to it, ``k`` in all. They may belong to different
    parts (electoral units side by side): with a fixed total count, that is how an area moves
    from one part to its neighbour."""
    others = np.array(sorted(members), dtype=int)
    distance = problem.distance[int(problem.site_unit[centre]), others]
    order = np.lexsort((others, distance))
    chosen = [int(s) for s in others[order[:k]].tolist()]
    if centre not in chosen:
        chosen = [centre] + chosen[:k - 1]
    return chosen

"""Exact search over which sites open, where the number of areas is fixed and small.

With k areas, the optimum is the best, over the sets of k sites, of the best assignment to that set.
Two bounds settle almost every set without a MIP:

1. The Lagrangian relaxation's (:mod:`solver.lagrange`) with the set forced open: the units'
   multipliers plus each site's best area under them. Sets are listed, cheapest sites first, only
   while this stays below the best plan known, in passes: a gap above the relaxation's bound that
   doubles from FIRST_GAP, up to the best plan's value. A poor starting plan would list too many
   sets at once; the first passes usually find the optimum, and the later ones then list few.
2. The set's own relaxation: every unit goes to the site of the set that costs it least, each
   area's voter bounds priced by one multiplier per site and raised by a few subgradient steps. A
   site's own unit always goes to it. Most sets are settled by the first evaluation (all
   multipliers zero: the nearest site of the set); only the few left take the steps.

The sets left, lowest bound first, are served exactly (:func:`solver.centres.assign_sites`: every
rule, contiguity cuts in rounds) with HiGHS cut off just below the best value known: each either
gives a better plan (the cut-off drops and the sets left are checked again) or proves it holds none.
A set far below the cut-off is first served with a nearer one (GUESS above its bound): HiGHS then
stops soon, with a plan or with that cut-off as the set's new bound. Once every set whose first
bound lies below the best value is settled, the best plan is the optimum.

Where the count is small and the voter bounds tight this is far quicker than the MIP on the whole
model, whose linear bound is weak there (Validi WV: 10,819 against the optimum 12,000; the bound of
each set is close to its own optimum). Measured on the Validi states with contiguity, in
``solve(problem, time_limit=120)`` (seeds 0 and 1): WV proven in 0.35 s instead of 9.9, OK in
1.6-1.7 instead of 11.3, KS 1.4-1.6 instead of 5.8, IA 0.65 instead of 3.0, AR 0.6 instead of
2.6, NE 0.6 instead of 0.87, ID 0.14 instead of 0.36. With six and seven areas (LA, AL) the sets
under the best value run into millions: the search is left to counts up to MAX_AREAS.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from solver.centres import assign_sites, narrowed, required_sites
from solver.lagrange import PairData, Relaxation
from solver.parts import Part
from solver.problem import PlanningProblem

#: Areas at most: with more, the sets that could hold a better plan run into millions (Validi LA,
#: six areas: 2.2 million at the optimum's value) and the search ends on MAX_SETS after its first
#: passes, whose MIPs were time lost: 1.0 s on LA, 8.9 on AL (seven), 3.0 on the 49-unit commune
#: with twelve (proven in 6.9 s instead of 4.9).
MAX_AREAS = 5
#: Sets listed at most in one pass; beyond, the search ends (listing them alone would take too long).
MAX_SETS = 50_000
#: Sets bounded at once in the first evaluation (memory: this x units x k numbers).
CHUNK = 2_000
#: Subgradient steps on the sets the first evaluation leaves, BATCH sets at a time; the step halves
#: after STALL steps without progress.
STEPS = 60
STALL = 5
BATCH = 256
#: A set is first served with a cut-off at most this share above its bound (see :func:`_serve`).
GUESS = 0.03
#: A subgradient step aims at most this share above the set's bound.
AIM_ABOVE = 0.05
#: The first pass's gap above the relaxation's bound (a share of it), doubled at each pass.
FIRST_GAP = 0.005
#: Relative slack at the edges of a pass (see :func:`search_sets`).
EDGE = 1e-9


@dataclass
class SetSearch:
    """The search's state, and what it ended with: the best plan and its value, whether it is
    proven optimal, how many sets were listed and served, and its report line."""

    plan: dict[int, int] | None
    value: float
    proven: bool
    listed: int = 0
    served: int = 0
    log: list[str] = field(default_factory=list)


def list_sets(values: np.ndarray, k: int, limit: float, cap: int = MAX_SETS) -> np.ndarray | None:
    """Every set of ``k`` columns whose ``values`` add up to at most ``limit``, one row each
    (columns in increasing value), or None when there are more than ``cap``."""
    order = np.argsort(values, kind="stable")
    ranked = values[order].tolist()
    if len(ranked) < k or not all(math.isfinite(v) for v in ranked[:k]):
        return np.zeros((0, k), dtype=int)
    # least the last ``rest`` picks can add after position a: the values right after it (prefix sums)
    prefix = [0.0]
    for v in ranked:
        prefix.append(prefix[-1] + v)
    out: list[tuple[int, ...]] = []
    chosen: list[int] = []

    def extend(begin: int, total: float) -> bool:
        depth = len(chosen)
        if depth == k:
            out.append(tuple(chosen))
            return len(out) <= cap
        rest = k - depth - 1
        for a in range(begin, len(ranked) - rest):
            least = total + prefix[a + 1 + rest] - prefix[a]
            if not least <= limit:
                break
            chosen.append(a)
            going = extend(a + 1, total + ranked[a])
            chosen.pop()
            if not going:
                return False
        return True

    if not extend(0, 0.0):
        return None
    return order[np.array(out, dtype=int).reshape(-1, k)]


def first_bounds(data: PairData, sets: np.ndarray) -> np.ndarray:
    """Each set's bound with every multiplier zero (each unit at the set's site that costs it
    least, see the module text, 2); inf for a set that can hold no plan (two sites in one unit, a
    site whose own unit may not be in its area or is too heavy for it, a unit none may serve)."""
    bounds = np.empty(len(sets))
    for begin in range(0, len(sets), CHUNK):
        chunk = sets[begin:begin + CHUNK]
        bounds[begin:begin + CHUNK] = _evaluate(data, chunk, np.zeros(chunk.shape))[0]
    return bounds


def _evaluate(data: PairData, sets: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The relaxation's value for each set under multipliers ``mu`` (sets x k, per voter), and the
    subgradient (sets x k)."""
    count, k = sets.shape
    rows = np.arange(count)
    cost = np.transpose(data.cost[:, sets], (1, 0, 2))  # sets x units x k
    reduced = cost - mu[:, None, :] * data.weight[None, :, None]
    choice = reduced.argmin(axis=2)
    roots = data.root[sets]  # sets x k
    for c in range(k):
        choice[rows, roots[:, c]] = c
    value = np.take_along_axis(reduced, choice[:, :, None], 2)[:, :, 0]
    load = np.zeros((count, k))
    for c in range(k):
        load[:, c] = ((choice == c) * data.weight[None, :]).sum(axis=1)
    lower, upper = data.lower[sets], data.upper[sets]
    target = np.where(mu > 0, lower, np.where(mu < 0, upper, np.clip(load, lower, upper)))
    priced = np.where(mu != 0, mu * np.where(mu != 0, target, 0.0), 0.0)  # no 0 x inf where a site has no capacity
    with np.errstate(invalid="ignore"):  # inf - inf: a unit no site of the set may serve
        total = value.sum(axis=1) + priced.sum(axis=1) + data.offset + k * data.opening
    total = np.where(np.isnan(total), -math.inf, total)  # never a reason to discard a set
    duplicate = np.zeros(count, dtype=bool)
    ordered = np.sort(roots, axis=1)
    if k > 1:
        duplicate = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
    own = cost[rows[:, None], roots, np.arange(k)[None, :]]  # each site's own unit must be a pair
    blocked = duplicate | ~np.isfinite(own).all(axis=1) | ~np.isfinite(total) | \
        (data.weight[roots] > upper + 1e-9).any(axis=1)
    total = np.where(blocked, math.inf, total)
    return total, target - load


def _ascend(data: PairData, sets: np.ndarray, bounds: np.ndarray, cutoff: float, steps: int) -> np.ndarray:
    """Subgradient steps on the multipliers of each set, aimed just above ``cutoff``."""
    count, k = sets.shape
    mu = np.zeros((count, k))
    best = bounds.copy()
    scale = np.ones(count)
    waited = np.zeros(count, dtype=int)
    goal = cutoff + 1e-3 * max(1.0, abs(cutoff)) if math.isfinite(cutoff) else math.inf
    live = np.isfinite(best) & (best < cutoff)
    unbounded = ~np.isfinite(data.upper[sets])
    for _ in range(steps):
        if not live.any():
            break
        index = np.nonzero(live)[0]
        value, gradient = _evaluate(data, sets[index], mu[index])
        better = value > best[index]
        best[index] = np.fmax(best[index], value)
        waited[index] = np.where(better, 0, waited[index] + 1)
        halve = waited[index] >= STALL
        scale[index] = np.where(halve, scale[index] / 2, scale[index])
        waited[index] = np.where(halve, 0, waited[index])
        norm = (gradient ** 2).sum(axis=1)
        moving = (norm > 0) & np.isfinite(value)
        safe = np.where(moving, value, 0.0)
        # aimed just above the cut-off, or (no plan known yet) a little above the bound
        aim = np.minimum(goal, safe + AIM_ABOVE * np.maximum(1.0, np.abs(safe)))
        step = np.where(moving, scale[index] * (aim - safe) / np.where(moving, norm, 1.0), 0.0)
        # a site without a voter maximum has no price below zero (the bound would be -inf)
        mu[index] = np.where(unbounded[index], np.maximum(mu[index] + step[:, None] * gradient, 0.0),
                             mu[index] + step[:, None] * gradient)
        live[index] = moving & (best[index] < cutoff)
    return best


def search_sets(problem: PlanningProblem, parts: Sequence[Part], relaxation: Relaxation, *, fixed_total: int,
                best: dict[int, int] | None, objective_of: Callable[[dict[int, int]], float], deadline: float,
                stopped: threading.Event, cuts: list[tuple[int, int, list[int]]]) -> SetSearch | None:
    """The search of the module text from the best plan known (``best``, or None); None where it
    does not apply (more than MAX_AREAS areas, no site values in the relaxation, or the first pass
    would list more than MAX_SETS sets). The sets are taken in passes, each listing those whose first bound lies within
    a gap above the relaxation's bound that doubles from FIRST_GAP, up to the best plan's value: a
    poor starting plan would list too many at once, and the first passes usually find the optimum.
    ``cuts``: contiguity cuts known; those found here are added to it."""
    began = time.monotonic()
    data, values = relaxation.data, relaxation.site_value
    if data is None or values is None or data.total != fixed_total or not math.isfinite(relaxation.bound) or \
            fixed_total > MAX_AREAS:
        return None
    best_value = objective_of(best) if best else math.inf
    base = relaxation.bound - float(np.sort(values)[:fixed_total].sum())
    required = _required_columns(problem, parts, data)
    search = SetSearch(best, best_value, False)
    scale = max(1.0, abs(relaxation.bound))
    most = base + float(np.sort(values)[-fixed_total:].sum())  # the highest first bound of any set
    gap, covered = FIRST_GAP, -math.inf  # sets whose first bound is at most ``covered`` are settled
    while True:
        limit = min(search.value, relaxation.bound + gap * scale)
        # a hair above the limits: a set on the edge is listed twice rather than never (sums rounded)
        sets = list_sets(values, fixed_total, limit - base + EDGE * scale)
        if sets is None:
            if search.listed == 0:
                return None
            break
        first = base + values[sets].sum(axis=1)
        sets = sets[first > covered - EDGE * scale]
        if required:
            sets = sets[np.isin(sets, list(required)).sum(axis=1) == len(required)]
        search.listed += len(sets)
        if not _serve(problem, parts, relaxation, sets, search, objective_of, deadline, stopped, cuts, scale):
            break
        covered = limit
        if limit >= search.value or limit >= most:
            search.proven = search.plan is not None  # every set that could hold a better plan is settled
            break
        gap *= 2
    search.log.append(f"site sets: {search.listed} listed, {search.served} served, "
                      f"{'optimum proven' if search.proven else 'not all settled'}, {time.monotonic() - began:.2f} s")
    return search


def _serve(problem: PlanningProblem, parts: Sequence[Part], relaxation: Relaxation, sets: np.ndarray,
           search: SetSearch, objective_of: Callable[[dict[int, int]], float], deadline: float,
           stopped: threading.Event, cuts: list[tuple[int, int, list[int]]], scale: float) -> bool:
    """Bound ``sets`` and serve those their bounds leave, lowest bound first, improving ``search``;
    whether every one was settled (False: time ran out or the search was stopped). The subgradient
    steps run on the BATCH lowest sets at a time, when the next set to serve has not had them: the
    first sets served usually lower the cut-off enough to settle the others by their first bound."""
    data = relaxation.data
    bounds = first_bounds(data, sets)
    stepped = np.zeros(len(sets), dtype=bool)
    open_rows = np.ones(len(sets), dtype=bool)  # not settled yet
    kept: tuple[float, dict[int, set[int]] | None] = (math.nan, None)
    while True:
        cutoff = search.value - 1e-7 * max(1.0, abs(search.value)) if math.isfinite(search.value) else math.inf
        candidates = np.nonzero(open_rows & (bounds < cutoff))[0]
        if len(candidates) == 0:
            return True
        if stopped.is_set() or time.monotonic() >= deadline - 0.05:
            return False
        row = int(candidates[np.argmin(bounds[candidates])])
        if not stepped[row]:
            waiting = candidates[~stepped[candidates]]
            batch = waiting[np.argsort(bounds[waiting], kind="stable")[:BATCH]]
            bounds[batch] = _ascend(data, sets[batch], bounds[batch], cutoff, STEPS)
            stepped[batch] = True
            continue
        # a cut-off far above the set's bound makes HiGHS search long for the set's own optimum: a
        # nearer one first, and when nothing lies below it, that is the set's new bound (with no
        # plan known yet, none: the set may hold no plan at all)
        first = float(bounds[row])
        trial = min(cutoff, first + GUESS * max(scale, abs(first))) \
            if math.isfinite(first) and math.isfinite(cutoff) else cutoff
        sites = [int(data.sites[c]) for c in sets[row].tolist()]
        if search.plan is not None and kept[0] != search.value:  # the pairs a better plan may use
            kept = (search.value, relaxation.keep(search.value, search.plan))
        restrict = None if kept[1] is None else narrowed(problem, sites, kept[1], None)
        proven: set[tuple[int, ...]] = set()
        plan = assign_sites(problem, parts, sites, deadline, stopped, restrict=restrict, cuts=cuts, learned=cuts,
                            proven=proven, cutoff=trial)
        search.served += 1
        if not proven:
            return False
        if plan is not None and len(plan) == len(data.units) and (value := objective_of(plan)) < search.value:
            search.plan, search.value = plan, value
        if plan is None and trial < cutoff:
            bounds[row] = trial  # none below the trial cut-off: the set stays, with that bound
        else:
            open_rows[row] = False  # its best plan found, or none below the cut-off


def _required_columns(problem: PlanningProblem, parts: Sequence[Part], data: PairData) -> set[int]:
    """Columns of the sites every valid plan opens (forced open, or a unit pinned to them)."""
    column = {int(j): c for c, j in enumerate(data.sites.tolist())}
    return {column[j] for j in required_sites(problem, parts) if j in column}

"""Lagrangian bound of the assignment model, and the pairs it proves useless (variable fixing).

Relaxing "every unit in exactly one area" with a multiplier ``u[i]`` per unit splits the model
into one small problem per site (open it, with its own unit and any units whose voters stay
within the minimum and the site's capacity, as a continuous knapsack) plus the choice of which
sites open. Every ``u`` gives a lower bound; subgradient steps raise it close to the linear
relaxation's in a fraction of a second, without an LP solver.

With a known plan of value ``upper``, a site whose opening alone lifts the bound above
``upper`` can be in no better plan, and neither can a unit-site pair whose reduced cost does.
Removing them keeps the MIP's optimum (the known plan's pairs are always kept) and its bound
valid. This is the variable fixing of Validi, Buchanan and Lykhovyd (2022), which removes most
pairs of the districting instances and lets the MIP prove in seconds what it could not in a
minute. Other side constraints (pins, forced sites, contiguity, the sparse exception) are
dropped or loosened here, which keeps every bound a valid relaxation.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from solver import knapsack
from solver.pairs import keep_offset, model_pairs, pair_costs, site_cost
from solver.parts import Part
from solver.problem import PlanningProblem

#: Subgradient iterations at most; the step halves after this many without progress.
ITERATIONS = 600
STALL = 20
#: How far above the bound a step aims at most (share of the bound), see :func:`_goal`.
GOAL_ABOVE = 0.05
#: With contiguity and a known plan at most SETTLE_GAP (of its value) above the bound, the ascent
#: ends once SETTLE_WINDOW steps raised the bound by less than SETTLE_PROGRESS of what is left up to
#: that plan: the fixing then keeps the same pairs. Validi NE (its construction's plan is the
#: optimum, 1.1% above the bound): 373 pairs kept after 300 steps as after 600, 0.16 s instead of
#: 0.29. Applied everywhere, the same test cut Validi NE's relaxation as much but took Zhang AL
#: from 63 s to 113 (its starts come from the ranking of a plan far from the bound).
SETTLE_GAP = 0.02
SETTLE_WINDOW = 100
SETTLE_PROGRESS = 0.01
#: Site sets the relaxation opened that it keeps (the best-bound ones).
SITE_SETS = 15
#: Whole-unit stage (:mod:`solver.knapsack`): at most this many subgradient iterations, and only
#: where the tables of the pair fixing (units x sites x loads) hold at most KNAPSACK_CELLS cells with at
#: least KNAPSACK_MIN_LOADS loads (at most KNAPSACK_LOADS).
KNAPSACK_ITERATIONS = 200
KNAPSACK_STALL = 10
KNAPSACK_CELLS = 4_000_000
KNAPSACK_LOADS = 250
KNAPSACK_MIN_LOADS = 100
#: ... and where one table (units x sites x loads) has at most this many cells: one subgradient step
#: then takes a few milliseconds.
KNAPSACK_WORK = 1_500_000
#: A voter minimum binds when it holds more than this share of the voters (minimum x areas).
MINIMUM_SHARE = 0.5


@dataclass(frozen=True)
class Relaxation:
    """The best Lagrangian bound found, with what it says about each site and pair."""

    bound: float
    #: sites by their value in the relaxation, most promising first (good centres to start from)
    ranking: tuple[int, ...]
    #: bound when the site is forced open (inf: the site cannot hold a valid area), per entry of ``sites``
    site_bound: np.ndarray
    #: bound when the unit is forced into the site's area (inf for pairs not in the model);
    #: rows are ``units``, columns ``sites`` (the parts' own, not the whole problem's)
    pair_bound: np.ndarray
    units: np.ndarray
    sites: np.ndarray
    #: each site's own unit (its row in ``units``)
    root: np.ndarray
    #: distinct sets of sites the relaxation opened on its way, best bound first (starts for the
    #: alternation: a Lagrangian heuristic)
    site_sets: tuple[tuple[int, ...], ...] = ()
    #: the pairs and costs it was computed on, and each site's best area under the multipliers of
    #: ``bound`` (with a fixed count, ``bound`` is the ``total`` least of these plus a constant): the
    #: bound of any set of sites forced open follows (see :mod:`solver.centresets`)
    data: PairData | None = None
    site_value: np.ndarray | None = None
    #: the multipliers of the continuous stage's best bound (per row of ``units``): a warm start
    #: for the same relaxation with some sites forced open or closed
    multipliers: np.ndarray | None = None

    def keep(self, upper: float, plan: dict[int, int] | None = None) -> dict[int, set[int]]:
        """Per site, the units it may still serve in a plan better than ``upper``: pairs whose bound
        exceeds it are dropped; the pairs of ``plan`` (of value ``upper``) and every site's own unit
        are kept, so the restricted model still holds that plan."""
        slack = 1e-7 * max(1.0, abs(upper))
        units, sites = np.nonzero(self.pair_bound <= upper + slack)
        out: dict[int, set[int]] = {}
        for i, j in zip(self.units[units].tolist(), self.sites[sites].tolist()):
            out.setdefault(j, set()).add(i)
        for i, j in (plan or {}).items():
            out.setdefault(int(j), set()).add(int(i))
        for c, j in enumerate(self.sites.tolist()):  # without it, HiGHS could open the site empty
            out.setdefault(j, set()).add(int(self.units[self.root[c]]))
        return out

    def kept(self, upper: float) -> int:
        """How many pairs :meth:`keep` leaves for ``upper`` (for reports)."""
        return int(np.count_nonzero(self.pair_bound <= upper + 1e-7 * max(1.0, abs(upper))))


@dataclass(frozen=True)
class PairData:
    """The assignment model's pairs as arrays: what the relaxation is computed on."""

    units: np.ndarray  # the parts' units (rows)
    sites: np.ndarray  # the parts' sites (columns)
    cost: np.ndarray  # units x sites, inf where the model has no pair
    opening: float  # price of opening a site
    offset: float  # constant part of the objective
    weight: np.ndarray  # voters per unit
    root: np.ndarray  # each site's own unit (its row)
    lower: np.ndarray  # least voters of an area at each site (0 where the sparse exception may apply)
    upper: np.ndarray  # most voters of an area at each site
    total: int | None  # number of areas when fixed


def _data(problem: PlanningProblem, parts: Sequence[Part], fixed_total: int | None) -> PairData:
    units = np.array(sorted(u for part in parts for u in part.units), dtype=int)
    sites = np.array(sorted(j for part in parts for j in part.sites), dtype=int)
    row = {int(u): r for r, u in enumerate(units.tolist())}
    column = {int(j): c for c, j in enumerate(sites.tolist())}
    cost = np.full((len(units), len(sites)), np.inf)
    lower = np.zeros(len(sites))
    upper = np.zeros(len(sites))
    every = pair_costs(problem)
    for part in parts:
        pairs = model_pairs(problem, part)
        for j in part.sites:
            c = column[j]
            rows = [row[i] for i in pairs[j]]
            cost[rows, c] = every[list(pairs[j]), j]
            lower[c] = 0.0 if part.any_sparse else float(problem.min_voters)
            upper[c] = float(min(problem.capacity[j], problem.max_voters))
    root = np.array([row[int(problem.site_unit[j])] for j in sites.tolist()], dtype=int)
    return PairData(units, sites, cost, site_cost(problem, fixed_total), keep_offset(problem, parts),
                    problem.weights[units].astype(float), root, lower, upper, fixed_total)


@dataclass(frozen=True)
class Shape:
    """What :func:`sites_subproblem` needs of the data that no multiplier changes (worked out once:
    the subgradient calls it hundreds of times on small arrays, where each array operation counts)."""

    columns: np.ndarray  # 0 .. sites - 1
    allowed: np.ndarray  # units x sites: pairs in the model, other than each site's own unit
    positive: np.ndarray  # ... of units with voters
    divisor: np.ndarray  # units x sites: voters where there are some, else 1
    voters: np.ndarray  # units x sites: voters where ``positive``, else 0
    weightless: np.ndarray  # ... of units without voters
    own: np.ndarray  # voters of each site's own unit
    fits: np.ndarray  # sites whose own unit is a pair and fits in an area there


def subproblem_shape(data: PairData) -> Shape:
    n, m = data.cost.shape
    columns = np.arange(m)
    allowed = np.isfinite(data.cost)
    root_pair = allowed[data.root, columns].copy()
    allowed[data.root, columns] = False
    weight = np.broadcast_to(data.weight[:, None], (n, m))
    positive = allowed & (weight > 0)
    own = data.weight[data.root]
    return Shape(columns, allowed, positive, np.where(weight > 0, weight, 1.0),
                  np.where(positive, weight, 0.0), allowed & (weight <= 0), own,
                  root_pair & (own <= data.upper + 1e-9))


def sites_subproblem(data: PairData, u: np.ndarray, shape: Shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every site at once: the value of its best area under multipliers ``u`` (a continuous
    knapsack: the site's unit, then units by reduced cost per voter while that is negative and
    the area has room, then more while it is under its minimum), the knapsack's dual price per
    voter, and the fractional area itself. ``u`` is finite (it decides which pairs exist: those of
    finite cost). ``shape``: :func:`subproblem_shape` of ``data``."""
    n, m = data.cost.shape
    columns = shape.columns
    reduced = data.cost - u[:, None]
    ratio = np.where(shape.positive, reduced / shape.divisor, np.inf)
    order = np.argsort(ratio, axis=0, kind="stable")
    ratio_s = np.take_along_axis(ratio, order, 0)
    weight_s = np.take_along_axis(shape.voters, order, 0)
    own = shape.own
    before = own[None, :] + np.cumsum(weight_s, 0) - weight_s
    cap = np.where(ratio_s < 0, data.upper[None, :], data.lower[None, :])
    usable = np.isfinite(ratio_s)
    take = np.where(usable, np.clip((cap - before) / np.where(weight_s > 0, weight_s, 1.0), 0.0, 1.0), 0.0)
    area = np.zeros((n, m))
    np.put_along_axis(area, order, take, 0)
    area[shape.weightless & (reduced < 0)] = 1.0  # units without voters: free when they help
    value = reduced[data.root, columns] + (np.where(shape.allowed, reduced, 0.0) * area).sum(0)
    load = own + (take * weight_s).sum(0)
    feasible = (load >= data.lower - 1e-6) & shape.fits
    value = np.where(feasible, value + data.opening, np.inf)
    # dual price of the voter constraint: the ratio of the first unit not wholly taken, when the
    # area stops at its capacity (negative ratio) or was filled up to its minimum (positive)
    partial = usable & (take < 1.0 - 1e-12)
    first = np.argmax(partial, 0)
    has = partial[first, columns]
    critical = np.where(has, ratio_s[first, columns], 0.0)
    filled = (usable & (ratio_s >= 0) & (take > 0)).any(0)
    price = np.where(has & ((critical < 0) | filled), critical, 0.0)
    area[data.root, columns] = 1.0
    return value, price, area


def _chosen(values: np.ndarray, total: int | None) -> np.ndarray:
    """Sites the relaxation opens: the ``total`` best (fixed count) or every one that pays (priced)."""
    order = np.argsort(values, kind="stable")
    if total is not None:
        return order[:total]
    return order[values[order] < 0]


class Ascent:
    """Subgradient bookkeeping: the best bound and its multipliers, and the step, halved after
    ``stall`` steps without a better bound."""

    def __init__(self, u: np.ndarray, step: float, stall: int) -> None:
        self.best_bound, self.best_u = -math.inf, u.copy()
        self.step, self.stall, self.waited = step, stall, 0

    def record(self, bound: float, u: np.ndarray) -> None:
        if bound > self.best_bound + 1e-9 * max(1.0, abs(bound)):
            self.best_bound, self.best_u, self.waited = bound, u.copy(), 0
            return
        self.waited += 1
        if self.waited >= self.stall:
            self.step, self.waited = self.step / 2, 0

    def advance(self, u: np.ndarray, bound: float, goal: float, gradient: np.ndarray, min_step: float,
                deadline: float) -> np.ndarray | None:
        """The next multipliers (a step towards ``goal``), or None when the ascent is over."""
        norm = float(gradient @ gradient)
        if norm < 1e-12 or self.step < min_step or time.monotonic() > deadline:
            return None
        return u + self.step * (goal - bound) / norm * gradient


def _goal(bound: float, target: float | None, near: bool) -> float:
    """The value the next step aims at: the known plan's (or GOAL_ABOVE above the bound when there
    is none or the bound passed it). ``near`` (without contiguity): at most GOAL_ABOVE above the
    bound. A plan far above the bound makes the steps overshoot: on the 49-unit commune a start 26%
    above the optimum gave site rankings whose alternation ended at 14,591 in 3.8 s, against 13,677
    in 0.3 s with the nearer goal. With contiguity the nearer goal did worse: Zhang AL's alternation
    ended 11% above the optimum instead of at it, and the proof did not come in 120 s (76 s before)."""
    ahead = bound + GOAL_ABOVE * max(1.0, abs(bound))
    if target is None or target <= bound:
        return ahead
    return min(target, ahead) if near else target


def _settled(history: list[float], target: float | None, contiguity: bool) -> bool:
    """Whether the ascent may end before its last step (see SETTLE_GAP); ``history``: the best
    bound after each step so far."""
    if not contiguity or target is None or len(history) <= SETTLE_WINDOW:
        return False
    best = history[-1]
    left = target - best
    if not math.isfinite(best) or left > SETTLE_GAP * max(1.0, abs(target)):
        return False
    return best - history[-1 - SETTLE_WINDOW] < SETTLE_PROGRESS * max(left, 0.0)


def _bound(data: PairData, u: np.ndarray, values: np.ndarray) -> float:
    picked = _chosen(values, data.total)
    if data.total is not None and len(picked) < data.total or not np.all(np.isfinite(values[picked])):
        return math.inf  # fewer sites can hold an area than the count asks: no plan at all
    return float(u.sum() + values[picked].sum() + data.offset)


def relax(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None,
          target: float | None = None, time_limit: float = 5.0, iterations: int = ITERATIONS,
          stopped: threading.Event | None = None) -> Relaxation | None:
    """Subgradient optimisation of the Lagrangian bound; ``target`` (a known plan's value) sets the
    step. None when the model has no unit-site pair at all (nothing to bound or fix). ``stopped``
    set from another thread ends the ascent at the next step (its bound still holds: every
    multiplier gives one)."""
    stopped = stopped or threading.Event()
    deadline = time.monotonic() + time_limit
    near = not problem.contiguity  # see _goal
    data = _data(problem, parts, fixed_total)
    n, m = data.cost.shape
    finite = np.isfinite(data.cost)
    if not finite.any():
        return None
    u = np.where(finite, data.cost, np.inf).min(axis=1)
    u = np.where(np.isfinite(u), u, 0.0)
    ascent = Ascent(u, 2.0, STALL)
    site_sets: dict[tuple[int, ...], float] = {}  # site set -> best bound it was opened at
    shape = subproblem_shape(data)
    history: list[float] = []  # the best bound after each step
    for _ in range(iterations):
        if stopped.is_set() or _settled(history, target, problem.contiguity):
            break
        values, _price, area = sites_subproblem(data, u, shape)
        bound = _bound(data, u, values)
        if not math.isfinite(bound):
            ascent.best_bound, ascent.best_u = bound, u.copy()
            break
        ascent.record(bound, u)
        history.append(ascent.best_bound)
        picked = _chosen(values, data.total)
        key = tuple(sorted(int(data.sites[c]) for c in picked.tolist()))
        site_sets[key] = max(site_sets.get(key, -math.inf), bound)
        u = ascent.advance(u, bound, _goal(bound, target, near), 1.0 - area[:, picked].sum(axis=1), 1e-4, deadline)
        if u is None:
            break
    best_u = ascent.best_u
    values, price, _area = sites_subproblem(data, best_u, shape)
    bound = _bound(data, best_u, values)
    reduced = data.cost - best_u[:, None]
    site_bound, pair_bound = _fixing(data, bound, values,
                                     np.maximum(0.0, reduced - price[None, :] * data.weight[:, None]))
    order = np.argsort(values, kind="stable")
    ranking = tuple(int(data.sites[c]) for c in order if math.isfinite(values[c]))
    whole = _whole_units(data, best_u, target, deadline, near) if math.isfinite(bound) and not stopped.is_set() \
        else None
    if whole is not None and whole[0] > bound:
        bound, values, site_whole, pair_whole = whole
        site_bound, pair_bound = np.maximum(site_bound, site_whole), np.maximum(pair_bound, pair_whole)
    best_sets = tuple(key for key, _ in sorted(site_sets.items(), key=lambda item: -item[1])[:SITE_SETS])
    return Relaxation(bound, ranking, site_bound, pair_bound, data.units, data.sites, data.root, best_sets,
                      data, values, best_u)


def _fixing(data: PairData, bound: float, values: np.ndarray, extra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bound with each site forced open, and with each pair forced: the site's, plus ``extra``
    (units x sites: how much more the site's area costs with the unit in it)."""
    m = len(values)
    order = np.argsort(values, kind="stable")
    finite = np.isfinite(data.cost)
    if math.isinf(bound):
        site_bound = np.full(m, math.inf)
    elif data.total is not None:
        opened = np.zeros(m, dtype=bool)
        opened[order[:data.total]] = True
        last = values[order[data.total - 1]]
        site_bound = np.where(opened, bound, bound + values - last)
    else:  # priced: forcing a site open adds its value when it does not pay for itself
        site_bound = bound + np.maximum(values, 0.0)
    pair_bound = np.where(finite, site_bound[None, :] + extra, math.inf)
    pair_bound[data.root, np.arange(m)] = np.where(finite[data.root, np.arange(m)], site_bound, math.inf)
    return site_bound, pair_bound


def _whole_units(data: PairData, u: np.ndarray, target: float | None, deadline: float, near: bool):
    """The subgradient again from ``u``, each site's area now made of whole units (see
    :mod:`solver.knapsack`): its bound, site values, and the bounds of forcing each site and pair,
    or None where the tables would be too large. The site ranking and site sets stay those of the
    continuous stage: starts from these were worse (the 49-unit commune's alternation ended at
    14,536 instead of 13,677; Osman-Christofides pmedcap1-20's swaps at 1,013 instead of 1,005)."""
    n, m = data.cost.shape
    loads = min(KNAPSACK_LOADS, KNAPSACK_CELLS // max(1, (n + 1) * m), KNAPSACK_WORK // max(1, n * m))
    if loads < KNAPSACK_MIN_LOADS or time.monotonic() >= deadline:
        return None
    sites = knapsack.steps(data.weight, data.root, data.lower, data.upper, loads)
    if sites.scale > 1 and np.any(data.lower > 0):
        # coarse steps drop the voter minimum: where it binds (tight population bounds), the bound
        # falls below the continuous one and the time is lost (Validi ID: 1.6 s instead of 0.5)
        binds = data.total is None or float(data.lower.max()) * data.total > MINIMUM_SHARE * float(data.weight.sum())
        if binds:
            return None
    allowed = np.isfinite(data.cost)
    cost = np.where(allowed, data.cost, 0.0)

    def evaluate(u: np.ndarray, trace: bool):
        opened = (lambda values: _chosen(values + data.opening, data.total)) if trace else None
        values, members = knapsack.best_areas(sites, cost - u[:, None], allowed, opened)
        values = values + data.opening
        return values, members, _bound(data, u, values)

    ascent = Ascent(u, 1.0, KNAPSACK_STALL)
    for _ in range(KNAPSACK_ITERATIONS):
        values, members, bound = evaluate(u, True)
        if not math.isfinite(bound):
            return None
        ascent.record(bound, u)
        picked = _chosen(values, data.total)
        gradient = np.ones(n)
        for c in picked.tolist():
            gradient[members[c]] -= 1.0
        u = ascent.advance(u, bound, _goal(bound, target, near), gradient, 1e-3, deadline)
        if u is None:
            break
    best_u = ascent.best_u
    values, _members, bound = evaluate(best_u, False)
    forced = knapsack.with_unit(sites, cost - best_u[:, None], allowed) + data.opening
    with np.errstate(invalid="ignore"):  # inf - inf where a site holds no area: discarded below
        extra = np.where(np.isfinite(values)[None, :], np.maximum(0.0, forced - values[None, :]), math.inf)
    site_bound, pair_bound = _fixing(data, bound, values, extra)
    return bound, values, site_bound, pair_bound

"""Exact search over which sites open, where the number of areas is fixed and small.

With k areas, the optimum is the best, over the sets of k sites, of the best assignment to that set.
The search is a best-first branch-and-bound over the sites, with three bounds:

1. A node holds the sets that open some sites and none of some others. Its bound is the Lagrangian
   relaxation's (:mod:`solver.lagrange`) with those sites forced open and closed: the units'
   multipliers, the open sites' best areas under them, and the least of the free sites' best
   areas; NODE_STEPS subgradient steps from its parent's multipliers raise it. Where the sets of a
   node whose sum stays within a gap above this bound are at most NODE_SETS, they are listed and
   the node goes back in the queue above that gap (doubled next time); else the node branches on
   its most promising free site, open in one child and closed in the other. Re-optimizing the
   multipliers at each node is what makes six and seven areas tractable: from the root's
   multipliers alone, 2.2 million sets of Validi LA lie below its optimum, against a few hundred
   thousand listed over about 200 nodes here.
2. A set's own relaxation: every unit goes to the site of the set that costs it least, each
   area's voter bounds priced by one multiplier per site, raised by subgradient steps. A site's
   own unit always goes to it. Most sets are settled by the first evaluation (all multipliers
   zero: the nearest site of the set); the steps run on the lowest BATCH at a time.
3. The fixed-site MIP (:func:`solver.centres.assign_sites`: every rule, contiguity cuts in rounds)
   for the sets left, lowest bound first, with HiGHS cut off just below the best value: each
   either gives a better plan or proves it holds none. It is offered only the pairs that a plan
   below its cut-off may use: by the whole relaxation's pair bounds and by the set's own bound
   plus what each pair costs above the unit's cheapest site of the set (:func:`set_pairs`). These
   models are small and quick: the search on Validi AL (765 sets served) took 25 s with the
   whole relaxation's pairs alone, 15 s with the set's own too; LA 3.4 and 2.7 s.

A set far below the cut-off is first served with a nearer one (GUESS above its bound): HiGHS then
stops soon, with a plan or with that cut-off as the set's new bound (the set goes back in the queue,
its next guess doubled). While the best value lies far above the lowest bound (PROBE_GAP), the
lowest set is served first and tried again at once until it gives a plan: a good plan early prunes
most of the tree (Validi AL's construction is 29% above its optimum; the first probe finds the
optimum). Once nothing in the queue lies below the best value, the best plan is the optimum.

Where the count is small and the voter bounds tight this is far quicker than the MIP on the whole
model, whose linear bound is weak there (Validi WV: 10,819 against the optimum 12,000; the bound of
each set is close to its own optimum). Measured on the Validi states with contiguity, in
``solve(problem, time_limit=120)`` (seeds 0 and 1): LA proven in 3.0-3.2 s instead of 17, AL in
15-17 instead of 60, WV in 0.24 instead of 9.9, OK in 1.0 instead of 11.3, KS 1.0-1.2 instead
of 5.8, IA 1.0 instead of 3.0, AR 0.9-1.0 instead of 2.6, NE 0.45 instead of 0.87, ID 0.12 instead
of 0.36; Zhang AL (seven areas) in 7.6 s instead of 55. Beyond MAX_AREAS areas it is not tried.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from solver.centres import assign_sites, required_sites
from solver.highs import Separators
from solver.lagrange import Ascent, PairData, Relaxation, Shape, sites_subproblem, subproblem_shape
from solver.parts import Part
from solver.problem import PlanningProblem

#: Areas at most. Beyond, the search cost more than it saved where it was tried (ten to twelve
#: areas, no contiguity): Osman-Christofides pmedcap1-11, -12, -16 and -17 (ten) were proven in
#: 12-14 s instead of 5-9, the 49-unit commune (twelve) in 7.1 s instead of 4.7.
MAX_AREAS = 7
#: Sets a node lists at most; where more lie under its limit, it branches instead.
NODE_SETS = 3_000
#: Subgradient steps of the node bounds: at the root (from the relaxation's multipliers) and at
#: every other node (from its parent's); each aims NODE_ABOVE (share of the bound) above the best
#: value, to pass it rather than stop just short.
ROOT_STEPS = 100
NODE_STEPS = 20
NODE_ABOVE = 0.02
#: Sets bounded at once in the first evaluation (memory: this x units x k numbers).
CHUNK = 2_000
#: Subgradient steps on the sets the first evaluation leaves, BATCH sets at a time; the step halves
#: after STALL steps without progress.
STEPS = 60
STALL = 5
BATCH = 256
#: A set is first served with a cut-off at most this share above its bound (see :meth:`_Tree._serve`).
GUESS = 0.05
#: While the best value lies more than PROBE_GAP (share of the bound) above the lowest bound, the
#: lowest set is served first, its trials following one another at once until it gives a plan (see
#: :meth:`_Tree.run`): at most PROBES sets are served so.
PROBE_GAP = 0.05
PROBES = 3
#: A subgradient step aims at most this share above the bound (no plan known yet).
AIM_ABOVE = 0.05
#: A node's first listing reaches this share of the relaxation's bound above its own bound; each
#: next one twice as far.
FIRST_GAP = 0.05
#: Relative slack at the edge of a listing: a set on the edge is listed twice rather than never.
EDGE = 1e-9

_COUNTER = itertools.count()  # ties in the queue: first come, first taken


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


def list_sets(values: np.ndarray, k: int, limit: float, cap: int = NODE_SETS) -> np.ndarray | None:
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
        if depth == k - 1:  # the last pick: every value from ``begin`` up to what the limit leaves
            end = bisect.bisect_right(ranked, limit - total, begin)
            if len(out) + end - begin > cap:
                return False
            out.extend((*chosen, a) for a in range(begin, end))
            return True
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
    voters = float(data.weight.sum())
    blocked = duplicate | ~np.isfinite(own).all(axis=1) | ~np.isfinite(total) | \
        (data.weight[roots] > upper + 1e-9).any(axis=1) | \
        (upper.sum(axis=1) < voters - 1e-9) | (lower.sum(axis=1) > voters + 1e-9)  # room for every voter
    total = np.where(blocked, math.inf, total)
    return total, target - load


def _ascend(data: PairData, sets: np.ndarray, bounds: np.ndarray, cutoff: float,
            steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Subgradient steps on the multipliers of each set, aimed just above ``cutoff``: the best
    bounds, and the multipliers that gave them (zero where the first bound stays the best)."""
    count, k = sets.shape
    mu = np.zeros((count, k))
    best_mu = np.zeros((count, k))
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
        best_mu[index[better]] = mu[index[better]]
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
    return best, best_mu


def set_pairs(data: PairData, row: Sequence[int], mu: np.ndarray, level: float,
              pair_bound: np.ndarray | None = None) -> dict[int, set[int]]:
    """Per site of the set (``row``: columns), the units it may serve in a plan on that set below
    ``level``: the set's bound under multipliers ``mu`` (:func:`_evaluate`) plus what putting the
    unit there costs above its cheapest site of the set stays at most ``level``, and so does the
    pair's bound in the whole relaxation (``pair_bound``, units x sites, when given). Each site's
    own unit stays with it (every plan on the set has it there)."""
    sets = np.array([row], dtype=int)
    bound = float(_evaluate(data, sets, mu[None, :])[0][0])
    cost = data.cost[:, sets[0]]
    reduced = cost - mu[None, :] * data.weight[:, None]
    roots = data.root[sets[0]]
    reduced[roots, :] = np.inf
    reduced[roots, np.arange(len(row))] = cost[roots, np.arange(len(row))] - mu * data.weight[roots]
    with np.errstate(invalid="ignore"):  # a row of inf: a unit none of the set may serve
        extra = reduced - reduced.min(axis=1, keepdims=True)
    slack = 1e-7 * max(1.0, abs(level))
    allowed = bound + extra <= level + slack
    if pair_bound is not None:
        allowed &= pair_bound[:, sets[0]] <= level + slack
    allowed[roots, np.arange(len(row))] = True
    return {int(data.sites[c]): {int(data.units[i]) for i in np.nonzero(allowed[:, position])[0].tolist()}
            for position, c in enumerate(row)}


@dataclass
class _Node:
    """Sets of sites that open ``opened`` (columns) and none of ``closed``, bounded by the
    relaxation under multipliers ``u``: ``bound``, the multipliers' sum and the opened sites'
    values plus the least values of the sites still free; ``free``: each site's value under ``u``
    (inf for those already decided), ``gap``: how far above ``bound`` its next listing reaches."""

    opened: tuple[int, ...]
    closed: frozenset[int]
    u: np.ndarray
    free: np.ndarray
    bound: float
    gap: float


def search_sets(problem: PlanningProblem, parts: Sequence[Part], relaxation: Relaxation, *, fixed_total: int,
                best: dict[int, int] | None, objective_of: Callable[[dict[int, int]], float], deadline: float,
                stopped: threading.Event, cuts: list[tuple[int, int, list[int]]]) -> SetSearch | None:
    """The search of the module text from the best plan known (``best``, or None); None where it
    does not apply (more than MAX_AREAS areas, or no multipliers in the relaxation). Best first over
    nodes (sites open and closed so far, see :meth:`_Tree._expand`) and whole sets (see
    :meth:`_Tree._serve`), until nothing left lies below the best value (:meth:`_Tree.run`). The root
    opens the sites every valid plan opens. ``cuts``: contiguity cuts known; those found here are
    added to it."""
    began = time.monotonic()
    data, u = relaxation.data, relaxation.multipliers
    if data is None or u is None or data.total != fixed_total or not math.isfinite(relaxation.bound) or \
            fixed_total > MAX_AREAS:
        return None
    search = SetSearch(best, objective_of(best) if best else math.inf, False)
    tree = _Tree(problem, parts, relaxation, search, objective_of, deadline, stopped, cuts,
                 max(1.0, abs(relaxation.bound)), fixed_total)
    opened = tuple(sorted(_required_columns(problem, parts, data)))
    if len(opened) <= fixed_total:
        tree.add_node(opened, frozenset(), u, ROOT_STEPS, relaxation.bound)
    settled = tree.run()
    search.proven = settled and search.plan is not None
    # every set settled without a plan: no plan at all (not claimed here: the other engines prove it)
    ending = "optimum proven" if search.proven else "no set holds a plan" if settled else "not all settled"
    search.log.append(f"site sets: {tree.nodes} nodes, {search.listed} sets listed, {search.served} served, "
                      f"{ending}, {time.monotonic() - began:.2f} s")
    return search


class _Tree:
    """The queue of the search and what it works on (see :func:`search_sets`)."""

    def __init__(self, problem: PlanningProblem, parts: Sequence[Part], relaxation: Relaxation, search: SetSearch,
                 objective_of: Callable[[dict[int, int]], float], deadline: float, stopped: threading.Event,
                 cuts: list[tuple[int, int, list[int]]], scale: float, total: int) -> None:
        self.problem, self.parts, self.relaxation, self.search = problem, parts, relaxation, search
        self.objective_of, self.deadline, self.stopped, self.cuts = objective_of, deadline, stopped, cuts
        self.scale, self.total = scale, total
        self.data = relaxation.data
        self.shape = subproblem_shape(self.data)
        self.queue: list[tuple[float, int, _Node]] = []  # nodes
        # sets with their bound after the steps, their multipliers and their next trial's guess
        self.sets: list[tuple[float, int, tuple[tuple[int, ...], np.ndarray, float]]] = []
        self.unstepped: list[tuple[float, int, tuple[int, ...]]] = []  # sets with their first bound only
        self.seen: set[tuple[int, ...]] = set()  # sets queued once (settled, or still in a queue)
        self.nodes = 0
        self.separators: Separators = {}
        self.probes = 0

    def cutoff(self) -> float:
        value = self.search.value
        return value - 1e-7 * max(1.0, abs(value)) if math.isfinite(value) else math.inf

    def run(self) -> bool:
        """Take the queues lowest bound first; whether every set that could hold a better plan was
        settled (False: time ran out or the search was stopped). A set with its first bound only
        gets the subgradient steps when it comes first, together with the BATCH lowest such: the
        sets served first usually lower the cut-off enough to settle most others by that bound.
        While the best value lies more than PROBE_GAP above the lowest bound, the lowest set is
        served before any node (a probe, see :meth:`_serve`): a good plan early settles most of
        the rest by their bounds."""
        while True:
            cutoff = self.cutoff()
            node, stepped, unstepped = (queue[0][0] if queue else math.inf
                                        for queue in (self.queue, self.sets, self.unstepped))
            low = min(node, stepped, unstepped)
            if low >= cutoff:
                return True
            if self.stopped.is_set() or time.monotonic() >= self.deadline - 0.05:
                return False
            probe = self.probes < PROBES and math.isfinite(cutoff) and cutoff > low + PROBE_GAP * self.scale
            if probe and stepped < cutoff:
                self.probes += 1
                bound, _, item = heapq.heappop(self.sets)
                if not self._serve(item, bound, probe=True):
                    return False
            elif unstepped == low or probe and unstepped < cutoff:
                self._step()
            elif node == low:
                bound, _, item = heapq.heappop(self.queue)
                self._expand(item, bound)
            else:
                bound, _, item = heapq.heappop(self.sets)
                if not self._serve(item, bound, probe=False):
                    return False

    def _push(self, bound: float, item: _Node) -> None:
        heapq.heappush(self.queue, (bound, next(_COUNTER), item))

    def _push_set(self, bound: float, item: tuple[tuple[int, ...], np.ndarray, float]) -> None:
        heapq.heappush(self.sets, (bound, next(_COUNTER), item))

    def _step(self) -> None:
        """Subgradient steps on the BATCH lowest sets that have only their first bound."""
        cutoff = self.cutoff()
        rows, bounds = [], []
        while self.unstepped and len(rows) < BATCH and self.unstepped[0][0] < cutoff:
            bound, _, row = heapq.heappop(self.unstepped)
            rows.append(row)
            bounds.append(bound)
        if rows:
            stepped, mu = _ascend(self.data, np.array(rows, dtype=int), np.array(bounds), cutoff, STEPS)
            for position, (row, bound) in enumerate(zip(rows, stepped.tolist())):
                if bound < cutoff:
                    self._push_set(bound, (row, mu[position], GUESS))

    def add_node(self, opened: tuple[int, ...], closed: frozenset[int], u: np.ndarray, steps: int,
                 start: float) -> None:
        """Bound the node (``steps`` subgradient steps from ``u``; ``start``: its parent's bound) and
        queue it when it may hold a better plan; a node with every site open is a set."""
        if len(opened) == self.total:
            self.add_sets(np.array([opened]))
            return
        if not self._room(opened, closed):
            return
        self.nodes += 1
        cutoff = self.cutoff()
        goal = (cutoff if math.isfinite(cutoff) else start + AIM_ABOVE * self.scale) + NODE_ABOVE * self.scale
        bound, u, free = node_bound(self.data, self.shape, u, opened, closed, self.total, goal, steps)
        if bound < cutoff:
            self._push(bound, _Node(opened, closed, u, free, bound, FIRST_GAP))

    def _room(self, opened: tuple[int, ...], closed: frozenset[int]) -> bool:
        """Whether some set of the node has room for every voter: the most its areas can hold is at
        least the voters, and the least they must hold at most (a set's own check is in
        :func:`_evaluate`). Where site capacities are tight this settles most of the tree: the
        49-unit commune urban-49-seed2 (twelve areas of 41 sites, 278 places to spare) has 223
        sets with room."""
        data, rest = self.data, self.total - len(opened)
        free = np.ones(len(data.sites), dtype=bool)
        free[list(opened)] = False
        free[list(closed)] = False
        if np.count_nonzero(free) < rest:
            return False
        upper, lower = np.sort(data.upper[free]), np.sort(data.lower[free])
        voters = float(data.weight.sum())
        most = float(data.upper[list(opened)].sum()) + float(upper[len(upper) - rest:].sum())
        least = float(data.lower[list(opened)].sum()) + float(lower[:rest].sum())
        return most >= voters - 1e-9 and least <= voters + 1e-9

    def add_sets(self, sets: np.ndarray) -> None:
        """Queue the sets (rows of columns) not queued before whose first bounds are below the best
        value."""
        sets = np.sort(sets, axis=1)
        fresh = [row for row in map(tuple, sets.tolist()) if row not in self.seen]
        if not fresh:
            return
        self.seen.update(fresh)
        self.search.listed += len(fresh)
        cutoff = self.cutoff()
        for row, bound in zip(fresh, first_bounds(self.data, np.array(fresh, dtype=int)).tolist()):
            if bound < cutoff:
                heapq.heappush(self.unstepped, (bound, next(_COUNTER), row))

    def _expand(self, node: _Node, bound: float) -> None:
        """List the node's sets up to its gap above its bound (at most the best value), and queue
        the node again above that; where they are more than NODE_SETS, branch instead on its most
        promising free site: open in one child, closed in the other."""
        rest = self.total - len(node.opened)
        cutoff = self.cutoff()
        limit = min(cutoff, node.bound + node.gap * self.scale)
        values = np.sort(node.free[np.isfinite(node.free)])  # at least ``rest``: the node's bound is finite
        base = node.bound - float(values[:rest].sum())  # what every set of the node adds
        listed = list_sets(node.free, rest, limit - base + EDGE * self.scale, NODE_SETS)
        if listed is not None:
            opened = np.array(node.opened, dtype=int)
            self.add_sets(np.hstack([np.broadcast_to(opened, (len(listed), len(opened))), listed]))
            # the sets not listed lie above the limit (none where it passed the highest sum)
            if limit < cutoff and limit < base + float(values[-rest:].sum()):
                self._push(limit, _Node(node.opened, node.closed, node.u, node.free, node.bound, 2 * node.gap))
            return
        site = int(np.argmin(node.free))
        self.add_node(tuple(sorted(node.opened + (site,))), node.closed, node.u, NODE_STEPS, bound)
        self.add_node(node.opened, node.closed | {site}, node.u, NODE_STEPS, bound)

    def _serve(self, item: tuple[tuple[int, ...], np.ndarray, float], bound: float, probe: bool) -> bool:
        """Serve one set exactly with HiGHS cut off below the best value: it gives a better plan or
        proves it holds none. A cut-off far above the set's bound makes HiGHS search long for the
        set's own optimum: a nearer one first (``guess`` above the bound, see GUESS), and when
        nothing lies below it, the set goes back in the queue with that bound and twice the guess
        (with no plan known yet there is no such trial: the set may hold no plan at all). A
        ``probe`` is tried again at once instead, with the guess doubled, until it gives a plan.
        HiGHS is offered only the pairs that a plan below the trial cut-off may use, by the whole
        relaxation's bounds and by the set's own (:func:`set_pairs`). Whether the set was settled
        in time."""
        row, mu, guess = item
        while True:
            cutoff = self.cutoff()
            trial = min(cutoff, bound + guess * max(self.scale, abs(bound))) \
                if math.isfinite(bound) and math.isfinite(cutoff) else cutoff
            plan, proven = self._assign(row, mu, trial)
            if not proven:
                return False
            if plan is not None or trial >= cutoff:
                return True  # its best plan found, or none below the cut-off
            bound, guess = trial, 2 * guess  # none below the trial cut-off: it stays, with that bound
            if not probe:
                self._push_set(bound, (row, mu, guess))
                return True

    def _assign(self, row: tuple[int, ...], mu: np.ndarray, trial: float) -> tuple[dict[int, int] | None, bool]:
        """The set's best plan below ``trial`` (None: there is none, or time ran out), taken as the
        best when it beats it, and whether that was proven."""
        search, data = self.search, self.data
        sites = [int(data.sites[c]) for c in row]
        restrict = set_pairs(data, row, mu, trial, self.relaxation.pair_bound) if math.isfinite(trial) else None
        proven: set[tuple[int, ...]] = set()
        plan = assign_sites(self.problem, self.parts, sites, self.deadline, self.stopped, restrict=restrict,
                            cuts=self.cuts, learned=self.cuts, proven=proven, cutoff=trial,
                            separators=self.separators)
        search.served += 1
        if plan is not None and len(plan) == len(data.units) and (value := self.objective_of(plan)) < search.value:
            search.plan, search.value = plan, value
        return plan, bool(proven)


def node_bound(data: PairData, shape: Shape, u: np.ndarray, opened: Sequence[int], closed: frozenset[int],
               total: int, goal: float, steps: int) -> tuple[float, np.ndarray, np.ndarray]:
    """The relaxation's bound over the sets of ``total`` sites that hold ``opened`` (columns) and
    none of ``closed``: the multipliers' sum, the opened sites' values and the least values of the
    sites still free, raised by ``steps`` subgradient steps from ``u`` aimed at ``goal``. With the
    best multipliers, and each site's value under them (inf for the sites decided); the bound is
    inf where too few sites can still open."""
    rest = total - len(opened)
    free = np.ones(len(data.sites), dtype=bool)
    free[list(opened)] = False
    free[list(closed)] = False
    opened = np.array(opened, dtype=int)
    ascent, best_free = Ascent(u, 2.0, STALL), np.full(len(data.sites), math.inf)
    for _ in range(max(1, steps)):
        values, _price, area = sites_subproblem(data, u, shape)
        free_values = np.where(free, values, math.inf)
        picked = np.argsort(free_values, kind="stable")[:rest]
        if not np.isfinite(free_values[picked]).all() or not np.isfinite(values[opened]).all():
            return math.inf, u, best_free
        bound = float(u.sum() + values[opened].sum() + free_values[picked].sum() + data.offset)
        before = ascent.best_bound
        ascent.record(bound, u)
        if ascent.best_bound > before:
            best_free = free_values
        if ascent.best_bound >= goal:
            break
        u = ascent.advance(u, bound, goal, 1.0 - area[:, np.concatenate([opened, picked])].sum(axis=1), 0.0,
                           math.inf)
        if u is None:
            break
    return ascent.best_bound, ascent.best_u, best_free


def _required_columns(problem: PlanningProblem, parts: Sequence[Part], data: PairData) -> set[int]:
    """Columns of the sites every valid plan opens (forced open, or a unit pinned to them)."""
    column = {int(j): c for c, j in enumerate(data.sites.tolist())}
    return {column[j] for j in required_sites(problem, parts) if j in column}

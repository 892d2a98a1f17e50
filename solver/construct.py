"""Construction heuristic: contiguous areas grown from chosen sites, then repaired and improved.

For one part (a connected set of units of one electoral group) and a number of areas k:

1. choose k sites in distinct units by a greedy p-median with swap improvement (Teitz-Bart),
   keeping capacity for the part's voters;
2. grow all areas at once from the sites' units, nearest-first, without exceeding the maximum
   or a site's capacity; attach what is left to the nearest touching area;
3. local search: move boundary units between touching areas (donor stays connected), first to
   remove rule violations (too few / too many voters, capacity), then to cut travel; re-pick each
   area's best site; repeat from other site sets while time allows;
4. when no site set gives a valid plan (voter bounds too tight for boundary moves), cut the part
   into areas along random spanning trees (:mod:`solver.trees`) and improve that by step 3;
   without contiguity, pack the voters into the first site sets tried by tabu search on moves
   and swaps (:mod:`solver.packing`: places too tight for single moves) and improve that by step 3.

It is the fallback when the exact model is not run and its warm start when it is, so it keeps
every hard rule the checker checks: contiguity, bounds with the sparse exception, capacity,
locks, one site per area.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from solver.packing import pack
from solver.parts import Part
from solver.problem import PlanningProblem
from solver.trees import recombine, split_into_areas

_BIG = 1.0e6
#: Share of the construction's time left that the spanning-tree fallback may take.
TREE_SHARE = 0.5
#: Share of the construction's time left that the packing fallback may take (all site sets together),
#: the site sets it tries at most, and the units above which it is not tried (its swap tables grow
#: with the square of the units: above 1,000 units one step takes a tenth of a second).
PACK_SHARE = 0.25
PACK_SETS = 2
#: The packing is for places that are tight. Where the voter minimum of the areas holds more than
#: this share of the voters, it is the minimum that binds (Validi's population bounds, 0.5% wide):
#: there the packing rarely succeeds and the exact models are quick (NM without contiguity proven
#: in 0.3 s without the packing's try, 1.8 s with it).
PACK_MINIMUM_SHARE = 0.5
PACK_MAX_UNITS = 1_000


@dataclass
class PartPlan:
    """A plan for one part: unit -> site (global indices), its travel and its violation."""

    assignment: dict[int, int]
    travel: float
    violation: int
    packed: bool = False  # by the packing fallback (places too tight to grow areas): often far from the best

    @property
    def feasible(self) -> bool:
        return self.violation == 0

    @property
    def sites(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.assignment.values())))

    def max_travel(self, problem: PlanningProblem) -> float:
        return max((problem.distance[u, s] for u, s in self.assignment.items() if problem.weights[u] > 0),
                   default=0.0)


class _Context:
    """Arrays of one part, re-indexed locally for speed."""

    def __init__(self, problem: PlanningProblem, part: Part):
        self.problem = problem
        self.units = np.array(part.units, dtype=int)
        self.local = {u: i for i, u in enumerate(part.units)}
        self.sites = np.array(part.sites, dtype=int)
        self.w = problem.weights[self.units].astype(np.int64)
        self.cw = problem.cost_w[self.units].astype(float)
        self.contiguity = problem.contiguity
        self.sparse = problem.sparse[self.units]
        self.d = problem.distance[np.ix_(self.units, self.sites)] if len(self.sites) else np.zeros((len(self.units), 0))
        self.d = np.where(np.isfinite(self.d), self.d, _BIG)
        self.site_local_unit = np.array([self.local[int(problem.site_unit[s])] for s in self.sites], dtype=int)
        self.cap = np.minimum(problem.capacity[self.sites].astype(np.int64), problem.max_voters)
        self.nbrs = [tuple(self.local[v] for v in problem.neighbours[u] if v in self.local) for u in part.units] \
            if problem.contiguity else [() for _ in part.units]
        self.pinned = {self.local[u]: int(np.searchsorted(self.sites, s))
                       for u, s in problem.pinned.items() if u in self.local}
        self.forced = sorted({int(np.searchsorted(self.sites, s)) for s in problem.forced_open if s in set(part.sites)}
                             | set(self.pinned.values()))
        self.min_voters = problem.min_voters


def _weighted_cost(ctx: _Context, chosen: list[int]) -> float:
    if not chosen:
        return math.inf
    return float((ctx.cw * ctx.d[:, chosen].min(axis=1)).sum())


def choose_sites(ctx: _Context, k: int, rng: np.random.Generator, randomize: bool,
                 deadline: float = math.inf) -> list[int] | None:
    """k local site indices in distinct units, covering the part's voters in capacity.

    Greedy p-median with every candidate priced at once (vectorised), then swaps while time allows.
    """
    chosen = list(ctx.forced)
    if len({ctx.site_local_unit[s] for s in chosen}) < len(chosen) or len(chosen) > k:
        return None
    used_units = {int(ctx.site_local_unit[s]) for s in chosen}
    nearest = ctx.d[:, chosen].min(axis=1) if chosen else np.full(len(ctx.units), _BIG)
    # travel if each site were added; kept up to date row by row as the nearest open site changes
    travel = ctx.cw @ np.minimum(nearest[:, None], ctx.d)
    blocked = np.zeros(len(ctx.sites), dtype=bool)
    for s in range(len(ctx.sites)):
        unit = int(ctx.site_local_unit[s])
        # a site whose own unit is pinned to another site cannot open
        blocked[s] = s in chosen or unit in used_units or ctx.pinned.get(unit, s) != s
    while len(chosen) < k:
        costs = np.where(blocked, np.inf, travel - 1e-9 * ctx.cap)
        order = np.argsort(costs, kind="stable")
        open_count = int(np.isfinite(costs).sum())
        if open_count == 0:
            return None
        pick = int(order[int(rng.integers(min(3, open_count)))]) if randomize else int(order[0])
        chosen.append(pick)
        used_units.add(int(ctx.site_local_unit[pick]))
        blocked |= ctx.site_local_unit == ctx.site_local_unit[pick]
        updated = np.minimum(nearest, ctx.d[:, pick])
        changed = np.nonzero(updated < nearest)[0]
        if len(changed):
            rows = ctx.d[changed]
            travel -= ctx.cw[changed] @ (np.minimum(nearest[changed, None], rows)
                                         - np.minimum(updated[changed, None], rows))
        nearest = updated
    chosen = _swap_improve(ctx, chosen, deadline=deadline)
    total = int(ctx.w.sum())
    if int(ctx.cap[chosen].sum()) < total:
        chosen = _raise_capacity(ctx, chosen, total)
    return chosen


def _swap_improve(ctx: _Context, chosen: list[int], rounds: int = 3, deadline: float = math.inf) -> list[int]:
    """Teitz-Bart swaps: replace one chosen site by the best other, while it helps and time allows."""
    fixed = set(ctx.forced)
    cost = _weighted_cost(ctx, chosen)
    for _ in range(rounds):
        improved = False
        for position in range(len(chosen)):
            if time.monotonic() > deadline:
                return chosen
            if chosen[position] in fixed:
                continue
            others = [s for i, s in enumerate(chosen) if i != position]
            units_in_use = {int(ctx.site_local_unit[s]) for s in others}
            rest = ctx.d[:, others].min(axis=1) if others else np.full(len(ctx.units), _BIG)
            costs = ctx.cw @ np.minimum(rest[:, None], ctx.d)
            for s in range(len(ctx.sites)):
                if s in chosen or int(ctx.site_local_unit[s]) in units_in_use:
                    costs[s] = np.inf
            best = int(np.argmin(costs))
            if costs[best] < cost - 1e-9:
                chosen = chosen.copy()
                chosen[position] = best
                cost, improved = float(costs[best]), True
        if not improved:
            break
    return chosen


def _raise_capacity(ctx: _Context, chosen: list[int], total: int) -> list[int]:
    """Swap small sites for bigger ones (same or other unit) until capacity covers the voters."""
    chosen = chosen.copy()
    fixed = set(ctx.forced)
    for _ in range(len(chosen)):
        if int(ctx.cap[chosen].sum()) >= total:
            break
        smallest = min((s for s in chosen if s not in fixed), key=lambda s: ctx.cap[s], default=None)
        if smallest is None:
            break
        in_use = {int(ctx.site_local_unit[s]) for s in chosen if s != smallest}
        options = [s for s in range(len(ctx.sites))
                   if s not in chosen and int(ctx.site_local_unit[s]) not in in_use and ctx.cap[s] > ctx.cap[smallest]]
        if not options:
            break
        best = max(options, key=lambda s: (ctx.cap[s], -_weighted_cost(ctx, [x for x in chosen if x != smallest] + [s])))
        chosen[chosen.index(smallest)] = best
    return chosen


def grow(ctx: _Context, chosen: list[int]) -> np.ndarray:
    """Area index (position in ``chosen``) of each local unit, grown nearest-first from the sites."""
    if not ctx.contiguity:
        return _assign_nearest(ctx, chosen)
    n = len(ctx.units)
    area = np.full(n, -1, dtype=int)
    load = np.zeros(len(chosen), dtype=np.int64)
    heap: list[tuple[float, int, int]] = []
    for a, s in enumerate(chosen):
        u = int(ctx.site_local_unit[s])
        area[u] = a
        load[a] += ctx.w[u]
    pinned_area = {u: chosen.index(s) for u, s in ctx.pinned.items() if s in chosen}
    for u in range(n):
        if area[u] >= 0:
            for v in ctx.nbrs[u]:
                if area[v] < 0:
                    heapq.heappush(heap, (ctx.d[v, chosen[area[u]]], v, area[u]))
    while heap:
        _, v, a = heapq.heappop(heap)
        if area[v] >= 0 or load[a] + ctx.w[v] > ctx.cap[chosen[a]] or pinned_area.get(v, a) != a:
            continue
        area[v] = a
        load[a] += ctx.w[v]
        for x in ctx.nbrs[v]:
            if area[x] < 0:
                heapq.heappush(heap, (ctx.d[x, chosen[a]], x, a))
    # What capacity left out joins the nearest touching area; repair balances it afterwards.
    pending = True
    while pending:
        pending = False
        for v in np.flatnonzero(area < 0):
            touching = {area[x] for x in ctx.nbrs[v] if area[x] >= 0}
            if v in pinned_area:
                touching &= {pinned_area[v]}
            if touching:
                a = min(touching, key=lambda t: ctx.d[v, chosen[t]])
                area[v] = a
                pending = True
    for v in np.flatnonzero(area < 0):  # unreachable without breaking a lock: counted as a violation
        area[v] = pinned_area.get(int(v), int(np.argmin([ctx.d[v, s] for s in chosen])))
    return area


def _assign_nearest(ctx: _Context, chosen: list[int]) -> np.ndarray:
    """Without contiguity: each unit to the nearest chosen site with room, biggest demands first."""
    n = len(ctx.units)
    area = np.full(n, -1, dtype=int)
    load = np.zeros(len(chosen), dtype=np.int64)
    for a, s in enumerate(chosen):
        u = int(ctx.site_local_unit[s])
        area[u] = a
        load[a] += ctx.w[u]
    caps = ctx.cap[chosen]
    for u, s in ctx.pinned.items():  # pinned units first, where they are pinned (when that site is chosen)
        if area[u] < 0 and s in chosen:
            area[u] = chosen.index(s)
            load[area[u]] += ctx.w[u]
    for u in np.argsort(-ctx.w, kind="stable"):
        if area[u] >= 0:
            continue
        order = np.argsort(ctx.d[u, chosen], kind="stable")
        fitting = [a for a in order if load[a] + ctx.w[u] <= caps[a]]
        a = int(fitting[0]) if fitting else int(np.argmax(caps - load))
        area[u] = a
        load[a] += ctx.w[u]
    return area


class _State:
    """Areas of a part during local search, with loads and violation kept up to date."""

    def __init__(self, ctx: _Context, chosen: list[int], area: np.ndarray):
        self.ctx = ctx
        self.site = list(chosen)
        self.area = area
        k = len(chosen)
        self.load = np.bincount(area, weights=ctx.w, minlength=k).astype(np.int64)
        self.dense = np.bincount(area, weights=~ctx.sparse, minlength=k).astype(np.int64)
        self.members: list[set[int]] = [set(np.flatnonzero(area == a).tolist()) for a in range(k)]

    def area_violation(self, a: int, load: int | None = None, dense: int | None = None) -> int:
        load = int(self.load[a]) if load is None else load
        dense = int(self.dense[a]) if dense is None else dense
        over = max(0, load - int(self.ctx.cap[self.site[a]]))
        under = max(0, self.ctx.min_voters - load) if dense > 0 else 0
        return over + under

    def violation(self) -> int:
        """Voters outside the bounds, plus a large count for every unit cut off from its site or
        away from the site it is pinned to."""
        bounds = sum(self.area_violation(a) for a in range(len(self.site)))
        bounds += 10 * self.ctx.problem.max_voters * sum(
            1 for u, s in self.ctx.pinned.items() if self.site[self.area[u]] != s)
        if not self.ctx.contiguity:
            return bounds
        return bounds + 10 * self.ctx.problem.max_voters * self.disconnected()

    def disconnected(self) -> int:
        count = 0
        for a, members in enumerate(self.members):
            root = int(self.ctx.site_local_unit[self.site[a]])
            seen = {root} if root in members else set()
            stack = list(seen)
            while stack:
                u = stack.pop()
                for v in self.ctx.nbrs[u]:
                    if v in members and v not in seen:
                        seen.add(v)
                        stack.append(v)
            count += len(members) - len(seen)
        return count

    def travel(self) -> float:
        sites = np.array(self.site)[self.area]
        return float((self.ctx.cw * self.ctx.d[np.arange(len(self.area)), sites]).sum())

    def stays_connected(self, a: int, removed: int) -> bool:
        members = self.members[a]
        root = int(self.ctx.site_local_unit[self.site[a]])
        if removed == root:
            return False
        if not self.ctx.contiguity:
            return True
        remaining = len(members) - 1
        seen = {root}
        stack = [root]
        nbrs = self.ctx.nbrs
        while stack:
            u = stack.pop()
            for v in nbrs[u]:
                if v != removed and v not in seen and v in members:
                    seen.add(v)
                    stack.append(v)
        return len(seen) == remaining

    def move(self, u: int, b: int) -> None:
        a = int(self.area[u])
        w, dense = int(self.ctx.w[u]), int(not self.ctx.sparse[u])
        self.load[a] -= w
        self.load[b] += w
        self.dense[a] -= dense
        self.dense[b] += dense
        self.members[a].discard(u)
        self.members[b].add(u)
        self.area[u] = b


def local_search(ctx: _Context, state: _State, deadline: float) -> None:
    """Improving boundary moves and site re-picks until neither helps or time is up."""
    improved = True
    while improved and time.monotonic() < deadline:
        improved = _move_pass(ctx, state, deadline)
        improved = _repick_sites(ctx, state) or improved


def _move_pass(ctx: _Context, state: _State, deadline: float) -> bool:
    improved = False
    roots = {int(ctx.site_local_unit[s]) for s in state.site}
    for u in range(len(ctx.units)):
        if u in roots or u in ctx.pinned:
            continue
        a = int(state.area[u])
        if ctx.contiguity:
            targets = {int(state.area[v]) for v in ctx.nbrs[u]} - {a}
        else:
            near = np.argsort(ctx.d[u, state.site], kind="stable")[:8]
            targets = {int(b) for b in near} - {a}
        if not targets:
            continue
        w, dense = int(ctx.w[u]), int(not ctx.sparse[u])
        before_a = state.area_violation(a)
        after_a = state.area_violation(a, int(state.load[a]) - w, int(state.dense[a]) - dense)
        best, best_key = None, (0, -1e-9)
        for b in targets:
            before_b = state.area_violation(b)
            after_b = state.area_violation(b, int(state.load[b]) + w, int(state.dense[b]) + dense)
            d_violation = after_a + after_b - before_a - before_b
            d_travel = ctx.cw[u] * (ctx.d[u, state.site[b]] - ctx.d[u, state.site[a]])
            key = (d_violation, d_travel)
            if key < best_key:
                best, best_key = b, key
        if best is not None and state.stays_connected(a, u):
            state.move(u, best)
            improved = True
            roots = {int(ctx.site_local_unit[s]) for s in state.site}
        if time.monotonic() > deadline:
            break
    return improved


def _chain_repair(ctx: _Context, state: _State, deadline: float) -> bool:
    """Voters over an area's capacity passed along a chain of touching areas to one with room: a
    boundary unit of the full area moves into a neighbour, which passes on a unit at least as heavy
    as its room falls short by, and so on, each donor staying connected (single moves cannot do
    this when the areas near the full one have less room than any unit weighs: sites that barely
    hold the voters). Whether anything was repaired."""
    repaired = False
    tried: set[tuple[int, int]] = set()
    while time.monotonic() < deadline:
        over = [a for a in range(len(state.site))
                if state.load[a] > ctx.cap[state.site[a]] and (a, int(state.load[a])) not in tried]
        if not over:
            return repaired
        a = max(over, key=lambda x: int(state.load[x] - ctx.cap[state.site[x]]))
        tried.add((a, int(state.load[a])))
        before = state.violation()
        done = []
        for u, b in _chain(ctx, state, a):
            giver = int(state.area[u])
            if not any(int(state.area[v]) == b for v in ctx.nbrs[u]) or not state.stays_connected(giver, u):
                break
            done.append((u, giver))
            state.move(u, b)
        else:
            if done and state.violation() < before:
                repaired = True
                tried.clear()
                continue
        for u, back in reversed(done):  # the chain broke or did not help: undone
            state.move(u, back)
    return repaired


def _chain(ctx: _Context, state: _State, start: int) -> list[tuple[int, int]]:
    """Moves (unit, area) from ``start`` to an area with room, receiving end first; empty when none.

    A label-correcting search over areas: each area is reached with the lightest unit it can be
    given (lighter is better: the area then has more units it may pass on), and passes on a
    boundary unit whose leaving keeps it connected and, with the unit it receives, within its
    capacity and minimum."""
    roots = {int(ctx.site_local_unit[s]) for s in state.site}
    held = roots | set(ctx.pinned)
    reach: dict[int, tuple[int, int | None, int | None]] = {start: (0, None, None)}  # area -> (weight in, from, unit)
    queue = deque([start])
    best_end: tuple[int, int, int] | None = None  # (weight, area, unit) entering an area with room
    while queue:
        area = queue.popleft()
        w_in = reach[area][0]
        load = int(state.load[area]) + w_in
        cap = int(ctx.cap[state.site[area]])
        for u in state.members[area]:
            w = int(ctx.w[u])
            if u in held or (area != start and (load - w > cap or load - w < ctx.min_voters)):
                continue
            targets = {int(state.area[v]) for v in ctx.nbrs[u]} - {area, start}
            if not targets or not state.stays_connected(area, u):
                continue
            for b in targets:
                if _on_path(reach, area, b):
                    continue
                if int(state.load[b]) + w <= ctx.cap[state.site[b]]:
                    if best_end is None or w > best_end[0]:  # the most voters moved out of the full area
                        best_end = (w, b, u)
                    continue
                if b not in reach or w < reach[b][0]:
                    reach[b] = (w, area, u)
                    queue.append(b)
    if best_end is None:
        return []
    _, area, unit = best_end
    moves = [(unit, area)]
    node = int(state.area[unit])
    while reach[node][1] is not None:
        _, previous, sent = reach[node]
        moves.append((sent, node))
        node = previous
    return moves


def _on_path(reach: dict[int, tuple[int, int | None, int | None]], area: int, target: int) -> bool:
    """Whether ``target`` is already on the chain that reaches ``area``."""
    node: int | None = area
    while node is not None:
        if node == target:
            return True
        node = reach[node][1]
    return False


def _repick_sites(ctx: _Context, state: _State) -> bool:
    """Give each area the site inside it that serves it best (pinned and forced sites stay)."""
    keep = set(ctx.forced)
    changed = False
    site_units = ctx.site_local_unit
    for a, current in enumerate(state.site):
        if current in keep:
            continue
        members = state.members[a]
        options = [s for s in range(len(ctx.sites)) if int(site_units[s]) in members]
        if current not in options:
            options.append(current)
        load = int(state.load[a])
        idx = np.fromiter(members, dtype=int)
        # every option's travel at once, one contiguous row each: the same sums, to the last bit, as
        # one option at a time (which took most of the construction's re-picks)
        travel = np.ascontiguousarray((ctx.d[np.ix_(idx, options)] * ctx.cw[idx][:, None]).T).sum(axis=1)
        keys = {s: (max(0, load - int(ctx.cap[s])), float(t)) for s, t in zip(options, travel.tolist())}
        best = min(options, key=keys.__getitem__)
        if keys[best] < keys[current]:
            state.site[a] = best
            changed = True
    return changed


def _plan_of(ctx: _Context, state: _State, packed: bool = False) -> PartPlan:
    """The part's plan in global indices, from the local search's state."""
    return PartPlan(
        assignment={int(ctx.units[u]): int(ctx.sites[state.site[state.area[u]]]) for u in range(len(ctx.units))},
        travel=state.travel(), violation=state.violation(), packed=packed)


def plan_part(problem: PlanningProblem, part: Part, k: int, *, seed: int, deadline: float,
              restarts: int = 4) -> PartPlan | None:
    """The best plan found for ``part`` with exactly ``k`` areas; None when no site set fits."""
    ctx = _Context(problem, part)
    if len(part.units) == 0 or len(ctx.sites) == 0:
        return None
    rng = np.random.default_rng(seed)
    best: PartPlan | None = None
    tried: list[list[int]] = []
    attempt = 0
    while attempt < restarts or (best is not None and not best.feasible and attempt < 4 * restarts):
        if attempt > 0 and time.monotonic() > deadline:
            break
        chosen = choose_sites(ctx, k, rng, randomize=attempt > 0, deadline=deadline)
        attempt += 1
        if chosen is None or len(chosen) != k:
            if attempt == 1:
                continue
            break
        if sorted(chosen) not in [sorted(c) for c in tried]:
            tried.append(chosen)
        state = _State(ctx, chosen, grow(ctx, chosen))
        local_search(ctx, state, deadline)
        if ctx.contiguity and state.violation() > 0 and _chain_repair(ctx, state, deadline):
            local_search(ctx, state, deadline)
        candidate = _plan_of(ctx, state)
        if best is None or (candidate.violation, candidate.travel) < (best.violation, best.travel):
            best = candidate
        if best.feasible and attempt >= restarts:
            break
    if (best is None or not best.feasible) and ctx.contiguity and time.monotonic() < deadline:
        found = _tree_plan(ctx, k, rng, time.monotonic() + TREE_SHARE * (deadline - time.monotonic()))
        best = found if found is not None else best
    if (best is None or not best.feasible) and not ctx.contiguity:
        best = _packed_plan(ctx, tried, seed, deadline) or best
    return best


def _packed_plan(ctx: _Context, tried: list[list[int]], seed: int, deadline: float) -> PartPlan | None:
    """The first site set tried whose places can hold the part's voters, packed by
    :func:`solver.packing.pack` from each unit's nearest site and improved by the local search;
    None if none packs in time."""
    total = int(ctx.w.sum())
    if len(ctx.units) > PACK_MAX_UNITS:
        return None
    budget_end = time.monotonic() + PACK_SHARE * max(0.0, deadline - time.monotonic())
    smallest_first = np.cumsum(np.sort(ctx.w))  # voters of the 1, 2, ... lightest units
    sets = 0
    for chosen in tried:
        if time.monotonic() >= budget_end or sets >= PACK_SETS:
            break
        if int(ctx.cap[chosen].sum()) < total:
            continue  # too few places
        if ctx.min_voters * len(chosen) > PACK_MINIMUM_SHARE * total:
            continue  # the minimum binds, not the places
        if int(np.searchsorted(smallest_first, ctx.cap[chosen], side="right").sum()) < len(ctx.units):
            continue  # even the lightest units, as many as each site holds, leave some out
        position = {s: a for a, s in enumerate(chosen)}
        if any(s not in position for s in ctx.pinned.values()):
            continue
        if any(ctx.pinned.get(int(ctx.site_local_unit[s]), s) != s for s in chosen):
            continue  # a site whose own unit is pinned to another site cannot open
        cost = np.where(ctx.d[:, chosen] < _BIG, ctx.cw[:, None] * ctx.d[:, chosen], np.inf)
        if not np.isfinite(cost).any(axis=1).all():
            continue  # a unit no site of the set reaches
        sets += 1
        start = np.argmin(np.where(np.isfinite(cost), ctx.d[:, chosen], np.inf), axis=1)
        fixed = np.zeros(len(ctx.units), dtype=bool)
        for a, s in enumerate(chosen):
            start[ctx.site_local_unit[s]] = a
            fixed[ctx.site_local_unit[s]] = True
        for u, s in ctx.pinned.items():
            start[u] = position[s]
            fixed[u] = True
        area = pack(ctx.w, ctx.sparse, ctx.cap[chosen], ctx.min_voters, cost, start, fixed,
                    deadline=budget_end, seed=seed)
        if area is None:
            continue
        state = _State(ctx, chosen, area)
        local_search(ctx, state, deadline)
        plan = _plan_of(ctx, state, packed=True)
        if plan.feasible:
            return plan
    return None


def _tree_plan(ctx: _Context, k: int, rng: np.random.Generator, deadline: float) -> PartPlan | None:
    """Areas cut from random spanning trees and recombined (:mod:`solver.trees`), each given its
    best site, then the local search: the fallback when growing and moving leave a rule broken
    (tight bounds)."""
    lower = 0 if ctx.sparse.any() else ctx.min_voters
    upper = int(min(ctx.problem.max_voters, ctx.cap.max(initial=0)))
    pieces = split_into_areas(range(len(ctx.units)), k, ctx.w, ctx.nbrs, lower=lower, upper=upper,
                              piece_ok=lambda members: _piece_site(ctx, members) is not None, rng=rng,
                              deadline=deadline)
    if pieces is None:
        return None

    def price(members: list[int]) -> float | None:
        found = _piece_site(ctx, members)
        return None if found is None else found[1]

    pieces = recombine(pieces, ctx.w, ctx.nbrs, lower=lower, upper=upper, price=price, rng=rng, deadline=deadline)
    chosen = [_piece_site(ctx, members)[0] for members in pieces]
    area = np.empty(len(ctx.units), dtype=int)
    for a, members in enumerate(pieces):
        area[members] = a
    state = _State(ctx, chosen, area)
    local_search(ctx, state, deadline)
    return _plan_of(ctx, state)


def _piece_site(ctx: _Context, members: list[int]) -> tuple[int, float] | None:
    """The site that serves these units as one area at least travel, and that travel, keeping
    every rule and lock (the voter bounds with the sparse exception, capacity, reach, pins, forced
    sites); None if none can."""
    idx = np.asarray(members, dtype=int)
    load = int(ctx.w[idx].sum())
    if load > ctx.problem.max_voters or (load < ctx.min_voters and not ctx.sparse[idx].all()):
        return None
    inside = set(members)
    required = {ctx.pinned[u] for u in members if u in ctx.pinned} | \
        {s for s in ctx.forced if int(ctx.site_local_unit[s]) in inside}
    if len(required) > 1:
        return None
    options = sorted(required) if required else \
        [s for s in range(len(ctx.sites)) if int(ctx.site_local_unit[s]) in inside]
    options = [s for s in options if int(ctx.site_local_unit[s]) in inside and int(ctx.cap[s]) >= load
               and bool((ctx.d[idx, s] < _BIG).all())]
    if not options:
        return None
    costs = ctx.cw[idx] @ ctx.d[np.ix_(idx, options)]
    best = int(np.argmin(costs))
    return options[best], float(costs[best])

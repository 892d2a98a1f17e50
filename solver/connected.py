"""Connected sets of units light enough to be one area, enumerated exactly.

With contiguity every area is a connected set of units of one part whose voters fit the
capacity of a site standing in it and reach the minimum (or are all sparse). Where units are
heavy next to the voter maximum, there are few such sets, and listing them all is both cheap
and a proof: a unit that belongs to none cannot be served by any plan (Validi's Oregon and
Colorado instances: one county so big that no connected set of counties around it lands inside
the population bounds), and when every set of a part is listed, the best plan is a set
partitioning problem over them (:mod:`solver.partition`).

The enumeration is the classic one for connected induced subgraphs containing a root: a frontier
of candidate units is kept, and each branch either takes the next candidate (its new neighbours
join the frontier) or excludes it for the rest of the branch, so every set is produced once.
Voter counts only grow, so a candidate that would pass the largest capacity is excluded at once.
Sets are bit masks over the part's units (Python integers), which keeps the search quick enough
for a few hundred thousand sets per second.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

from solver.parts import Part
from solver.problem import Diagnostic, PlanningProblem

#: A set the enumeration produced: (members as a bit mask over the part's units, voters, the most
#: voters a site standing in it may hold (-1: no site), whether every member is sparse).
Shape = tuple[int, int, int, bool]


@dataclass(frozen=True)
class PartGraph:
    """A part's units with local indices (position in ``units``) and what an area of them needs."""

    units: tuple[int, ...]
    neighbours: tuple[tuple[int, ...], ...]
    weights: tuple[int, ...]
    #: per unit, the most voters an area anchored at a site standing in it may hold (-1: no open site)
    room: tuple[int, ...]
    sparse: tuple[bool, ...]
    min_voters: int
    #: the most voters any area of the part may hold
    limit: int

    def valid(self, shape: Shape) -> bool:
        """Whether the set may be an area: a site standing in it holds its voters, and they reach the
        minimum unless every member is sparse."""
        _members, voters, room, sparse = shape
        return voters <= room and (voters >= self.min_voters or sparse)  # room -1: no site in the set

    def members(self, mask: int) -> list[int]:
        """The problem's unit indices of a mask."""
        out = []
        while mask:
            low = mask & -mask
            out.append(self.units[low.bit_length() - 1])
            mask ^= low
        return out


def part_graph(problem: PlanningProblem, part: Part) -> PartGraph:
    """The part's adjacency (edges inside it only), voters and site room, indexed locally."""
    local = {u: i for i, u in enumerate(part.units)}
    room = [-1] * len(part.units)
    for j in part.sites:
        i = local[int(problem.site_unit[j])]
        room[i] = max(room[i], int(min(int(problem.capacity[j]), problem.max_voters)))
    neighbours = tuple(tuple(sorted(local[v] for v in problem.neighbours[u] if v in local and v != u))
                       for u in part.units)
    return PartGraph(part.units, neighbours, tuple(int(problem.weights[u]) for u in part.units), tuple(room),
                     tuple(bool(problem.sparse[u]) for u in part.units), int(problem.min_voters),
                     max(max(room, default=0), 0))


def connected_sets(graph: PartGraph, root: int, *, above_root: bool = False) -> Iterator[Shape]:
    """Every connected set of the part's units that contains ``root`` (a local index) and whose voters
    stay within ``graph.limit``, each once. ``above_root``: only sets whose other members have higher
    indices, so that running it from every root lists every set of the part exactly once."""
    weights, room, sparse, neighbours, limit = graph.weights, graph.room, graph.sparse, graph.neighbours, graph.limit
    if weights[root] > limit:
        return
    excluded = ((1 << root) - 1) if above_root else 0
    root_bit = 1 << root
    frontier = [v for v in neighbours[root] if not (excluded >> v) & 1]
    yield root_bit, weights[root], room[root], sparse[root]
    # frame: members, frontier, frontier units not yet taken (mask), voters, room, all sparse,
    # excluded mask, next candidate
    stack = [[root_bit, frontier, _mask(frontier), weights[root], room[root], sparse[root], excluded | root_bit, 0]]
    while stack:
        frame = stack[-1]
        members, frontier, waiting, voters, best_room, all_sparse, excluded, k = frame
        if k >= len(frontier):
            stack.pop()
            continue
        v = frontier[k]
        bit = 1 << v
        waiting ^= bit
        frame[2] = waiting
        frame[6] = excluded | bit  # later branches of this frame leave v out
        frame[7] = k + 1
        total = voters + weights[v]
        if total > limit:
            continue
        grown = members | bit
        blocked = grown | excluded | waiting
        added = []
        added_mask = 0
        for x in neighbours[v]:
            if not (blocked >> x) & 1:
                added.append(x)
                added_mask |= 1 << x
        shape = (grown, total, max(best_room, room[v]), all_sparse and sparse[v])
        yield shape
        stack.append([grown, frontier[k + 1:] + added, waiting | added_mask, total, shape[2], shape[3], excluded, 0])


def _mask(units: list[int]) -> int:
    out = 0
    for u in units:
        out |= 1 << u
    return out


#: Sets tried per unit in the first round (most units have a valid set among the first few), then
#: in the second for the units still undecided; the check stops at its time limit either way.
FIRST_TRIES = 64
SECOND_TRIES = 20_000


def stranded_units(problem: PlanningProblem, parts: list[Part], *, time_limit: float) -> list[Diagnostic]:
    """Units that no valid area can hold (each one proves the problem infeasible): every connected set of their part around them (all listed,
    none skipped) is over the capacity of its sites, has no site, or stays under the minimum
    without being all sparse. Only said when the listing finished; with contiguity only."""
    if not problem.contiguity:
        return []
    deadline = time.monotonic() + time_limit
    graphs = [part_graph(problem, part) for part in parts]
    undecided = [(g, i) for g in graphs for i in range(len(g.units))]
    found: list[Diagnostic] = []
    for tries in (FIRST_TRIES, SECOND_TRIES):
        left = []
        for graph, root in undecided:
            if time.monotonic() > deadline:
                return found
            verdict = _has_area(graph, root, tries)
            if verdict is None:
                left.append((graph, root))
            elif not verdict:
                found.append(_stranded(problem, graph, root))
        undecided = left
    return found


def _has_area(graph: PartGraph, root: int, tries: int) -> bool | None:
    """Whether some valid area holds ``root``; None when ``tries`` sets did not settle it."""
    for count, shape in enumerate(connected_sets(graph, root)):
        if count >= tries:
            return None
        if graph.valid(shape):
            return True
    return False


def _stranded(problem: PlanningProblem, graph: PartGraph, root: int) -> Diagnostic:
    unit = graph.units[root]
    eu = problem.group_labels[int(problem.group[unit])]
    return Diagnostic("infeasible_unit_no_area",
                      {"name": problem.name(unit), "eu": eu, "voters": int(problem.weights[unit]),
                       "min_voters": problem.min_voters, "max_voters": graph.limit},
                      (problem.unit_ids[unit],))


def estimate_sets(graph: PartGraph, root: int, *, probes: int, rng, above_root: bool = True) -> float:
    """Knuth's estimate of how many sets :func:`connected_sets` lists from ``root``: random walks down
    its tree of branches, each adding up the products of the branching factors met on the way
    (unbiased; the mean of ``probes`` walks). Lets a listing that could never finish be skipped."""
    weights, neighbours, limit = graph.weights, graph.neighbours, graph.limit
    if weights[root] > limit:
        return 0.0
    start_excluded = (((1 << root) - 1) if above_root else 0) | (1 << root)
    start_frontier = [v for v in neighbours[root] if not (start_excluded >> v) & 1]
    total = 0.0
    for _ in range(probes):
        members, excluded, frontier, voters = 1 << root, start_excluded, start_frontier, weights[root]
        estimate = weight = 1.0
        while True:
            fits = [k for k, v in enumerate(frontier) if voters + weights[v] <= limit]
            if not fits:
                break
            weight *= len(fits)
            estimate += weight
            k = fits[int(rng.integers(len(fits)))]
            v = frontier[k]
            excluded |= _mask(frontier[:k])
            rest = frontier[k + 1:]
            members |= 1 << v
            blocked = members | excluded | _mask(rest)
            frontier = rest + [x for x in neighbours[v] if not (blocked >> x) & 1]
            voters += weights[v]
        total += estimate
    return total / probes

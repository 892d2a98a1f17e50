"""Contiguous areas with tight voter bounds, by cutting random spanning trees.

Growing areas from sites and moving boundary units (:mod:`solver.construct`) rarely meets bounds
a few hundred voters wide on lumpy units. Cutting one edge of a spanning tree of a connected set
splits it into two connected sets, and the tree's subtree sums say at once which edges split off
a set whose voters fit ``a`` areas while the rest fits the others. Drawing random trees until
such an edge exists, then splitting both sides the same way, finds such partitions in well under
a second where the local search finds none (the recursive tree splitting GerryChain seeds its
chains with). Measured on the county districting instances (+-0.5% population): Zhang KS and AL,
Validi AL, KS, LA, OK and WV in 0.01-4.8 s, eight seeds each; Validi SC, which the paper left
open, in none within 10 s.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

#: Trees drawn for one split below the top before giving up on the cut above it: a cut that
#: leaves a side with no valid split is abandoned early instead of searched for long.
INNER_TRIES = 30
#: Recombination: random trees drawn per merged pair of areas, and merges in a row without gain
#: after which it stops.
TREES_PER_MERGE = 16
STALL_MERGES = 300
#: ... but at most this many per area: with a few areas there are only a few pairs to merge, and
#: 300 merges in a row redraw each of them a hundred times (Validi NM, 3 areas: 0.2 s of its 0.4).
STALL_PER_AREA = 20


def inner_edges(members: Sequence[int], neighbours: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """The edges between members, each once."""
    inside = set(members)
    return [(u, v) for u in members for v in neighbours[u] if v > u and v in inside]


def random_tree(members: Sequence[int], edges: Sequence[tuple[int, int]],
                rng: np.random.Generator) -> dict[int, list[int]]:
    """A random spanning tree (forest, where ``members`` is not connected) of the members, as
    adjacency lists: Kruskal's algorithm on ``edges`` (:func:`inner_edges` of the members, listed
    once for all the trees drawn on one set) in random order."""
    tree: dict[int, list[int]] = {u: [] for u in members}
    root = list(range(max(members) + 1)) if members else []  # by unit id: quicker than a dict here
    joined, needed = 0, len(members) - 1
    # the union-find's lookups are written out in the loop: a thousand trees per solve on Validi NE,
    # where the calls were a third of the drawing's time
    for e in rng.permutation(len(edges)).tolist():
        u, v = edges[e]
        ru = u
        while root[ru] != ru:  # path halving
            root[ru] = root[root[ru]]
            ru = root[ru]
        rv = v
        while root[rv] != rv:
            root[rv] = root[root[rv]]
            rv = root[rv]
        if ru != rv:
            root[ru] = rv
            tree[u].append(v)
            tree[v].append(u)
            joined += 1
            if joined == needed:
                break
    return tree


def split_into_areas(members: Sequence[int], count: int, weights: np.ndarray,
                     neighbours: Sequence[Sequence[int]], *, lower: int, upper: int,
                     piece_ok: Callable[[list[int]], bool], rng: np.random.Generator,
                     deadline: float, tries: int | None = None) -> list[list[int]] | None:
    """``members`` (connected) cut into ``count`` connected pieces, each one with voters in
    ``[lower, upper]`` that ``piece_ok`` accepts; None when none is found by ``deadline`` (or
    within ``tries`` trees). ``lower`` and ``upper`` bound every area; ``piece_ok`` checks the rest
    (a site inside with room, locks)."""
    members = sorted(members)
    total = int(weights[members].sum())
    if count == 1:
        return [members] if lower <= total <= upper and piece_ok(members) else None
    if not count * lower <= total <= count * upper:
        return None
    attempt = 0
    edges = inner_edges(members, neighbours)
    while tries is None or attempt < tries:
        attempt += 1
        if time.monotonic() > deadline:
            return None
        tree = random_tree(members, edges, rng)
        parent, order, below = _rooted(tree, members[int(rng.integers(len(members)))], weights)
        if len(order) != len(members):
            return None  # not connected: no split of it is
        cuts = _balanced_cuts(order, below, total, count, lower, upper)
        if not cuts:
            continue
        u, a = cuts[int(rng.integers(len(cuts)))]
        piece = _subtree(tree, parent, u)
        first = split_into_areas(piece, a, weights, neighbours, lower=lower, upper=upper, piece_ok=piece_ok,
                                 rng=rng, deadline=deadline, tries=INNER_TRIES)
        if first is None:
            continue
        taken = set(piece)
        rest = [v for v in members if v not in taken]
        second = split_into_areas(rest, count - a, weights, neighbours, lower=lower, upper=upper,
                                  piece_ok=piece_ok, rng=rng, deadline=deadline, tries=INNER_TRIES)
        if second is not None:
            return first + second
    return None


def _balanced_cuts(order: list[int], below: dict[int, int], total: int, count: int, lower: int,
                   upper: int) -> list[tuple[int, int]]:
    """Tree edges (named by their lower end ``u``) and area counts ``a`` such that the subtree
    below ``u`` fits ``a`` areas and the rest fits ``count - a``."""
    return [(u, a) for u in order[1:] for a in range(1, count)
            if a * lower <= below[u] <= a * upper and (count - a) * lower <= total - below[u] <= (count - a) * upper]


def _subtree(tree: dict[int, list[int]], parent: dict[int, int], top: int) -> list[int]:
    out, stack = [], [top]
    while stack:
        u = stack.pop()
        out.append(u)
        stack.extend(v for v in tree[u] if v != parent[u])
    return out


def recombine(pieces: list[list[int]], weights: np.ndarray, neighbours: Sequence[Sequence[int]], *,
              lower: int, upper: int, price: Callable[[list[int]], float | None], rng: np.random.Generator,
              deadline: float, trees: int = TREES_PER_MERGE, stall: int = STALL_MERGES) -> list[list[int]]:
    """Better pieces by recombination: merge two touching pieces, cut the union anew along the
    best balanced edge of a few random spanning trees, keep the cut when it costs less.

    ``price(members)`` is the cost of one area (None when it cannot be one); a cut must keep
    both sides within ``[lower, upper]``. Stops at ``deadline`` or after ``stall`` merges in a row
    that gave nothing (at most STALL_PER_AREA per piece). Boundary moves of one unit at a time
    cannot shift voters between areas whose bounds are a few hundred voters wide; a recombination
    moves many units at once.
    """
    pieces = [sorted(p) for p in pieces]
    label = {u: a for a, members in enumerate(pieces) for u in members}
    cache: dict[tuple[int, ...], float | None] = {}

    def cost(members: list[int]) -> float | None:
        key = tuple(sorted(members))
        if key not in cache:
            cache[key] = price(list(key))
        return cache[key]

    stall = min(stall, STALL_PER_AREA * len(pieces))
    voters = weights.tolist()  # plain ints: read once per unit of every tree drawn
    idle = 0
    while idle < stall and time.monotonic() < deadline:
        idle += 1
        a = int(rng.integers(len(pieces)))
        touching = sorted({label[v] for u in pieces[a] for v in neighbours[u] if v in label} - {a})
        if not touching:
            continue
        b = touching[int(rng.integers(len(touching)))]
        now_a, now_b = cost(pieces[a]), cost(pieces[b])
        if now_a is None or now_b is None:
            continue
        union = sorted(pieces[a] + pieces[b])
        total = int(weights[union].sum())
        best, best_cost = None, now_a + now_b - 1e-9 * max(1.0, abs(now_a + now_b))
        edges = inner_edges(union, neighbours)
        for _ in range(trees):
            tree = random_tree(union, edges, rng)
            parent, order, below = _rooted(tree, union[0], voters)
            for u, _ in _balanced_cuts(order, below, total, 2, lower, upper):
                side = _subtree(tree, parent, u)
                taken = set(side)
                other = [v for v in union if v not in taken]
                first, second = cost(side), cost(other)
                if first is not None and second is not None and first + second < best_cost:
                    best, best_cost = (sorted(side), other), first + second
        if best is not None:
            pieces[a], pieces[b] = best
            for side, index in ((best[0], a), (best[1], b)):
                for u in side:
                    label[u] = index
            idle = 0
    return pieces


def _rooted(tree: dict[int, list[int]], start: int,
            weights: np.ndarray | Sequence[int]) -> tuple[dict[int, int], list[int], dict[int, int]]:
    """The tree hung from ``start``: each unit's parent, the units top down, and the voters in
    each unit's subtree (``weights``: voters per unit, an array or a list)."""
    parent = {start: -1}
    order = [start]
    for u in order:
        for v in tree[u]:
            if v not in parent:
                parent[v] = u
                order.append(v)
    below = {u: int(weights[u]) for u in order}
    for u in reversed(order[1:]):
        below[parent[u]] += below[u]
    return parent, order, below

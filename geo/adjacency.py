"""Unit adjacency for contiguity: rook contiguity with a snapping tolerance, plus links."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from shapely import STRtree
from shapely.geometry.base import BaseGeometry

#: Gaps and slivers up to this many metres still count as a shared boundary.
SNAP_TOLERANCE_M = 1.0
#: A shared boundary shorter than this (metres) is a corner touch, not an edge (queen, not rook).
MIN_SHARED_LENGTH_M = 1.0


def rook_pairs(geometries: Sequence[BaseGeometry], *, tolerance: float = SNAP_TOLERANCE_M,
               min_length: float = MIN_SHARED_LENGTH_M) -> list[tuple[int, int]]:
    """Index pairs (i < j) of polygons sharing a boundary of positive length.

    Geometries are in a metric CRS. A pair counts when the first, grown by ``tolerance``,
    overlaps the boundary of the second along at least ``min_length`` metres, so digitising
    gaps and slivers of about a metre do not break adjacency, while corner touches do not make it.
    """
    geoms = list(geometries)
    if len(geoms) < 2:
        return []
    tree = STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance)
    pairs: set[tuple[int, int]] = set()
    for i, j in zip(left.tolist(), right.tolist()):
        if i >= j:
            continue
        a, b = geoms[i], geoms[j]
        if a.geom_type == "Point" or b.geom_type == "Point":
            continue
        shared = a.buffer(tolerance).intersection(b.boundary)
        if shared.length >= min_length + 2 * tolerance:  # a corner touch leaves up to 2 x tolerance
            pairs.add((i, j))
    return sorted(pairs)


def adjacency_lists(n: int, pairs: Iterable[tuple[int, int]]) -> tuple[tuple[int, ...], ...]:
    """Neighbour lists (sorted, no duplicates, no self loops) from undirected pairs."""
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for i, j in pairs:
        if i == j:
            continue
        neighbours[i].add(j)
        neighbours[j].add(i)
    return tuple(tuple(sorted(s)) for s in neighbours)


def to_csr(neighbours: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Compressed sparse rows (indptr, indices) of neighbour lists."""
    indptr = np.zeros(len(neighbours) + 1, dtype=np.int64)
    for i, row in enumerate(neighbours):
        indptr[i + 1] = indptr[i] + len(row)
    indices = np.fromiter((j for row in neighbours for j in row), dtype=np.int64,
                          count=int(indptr[-1]))
    return indptr, indices


def voronoi_cells(points: Sequence[BaseGeometry], *, margin_m: float = 500.0) -> list[BaseGeometry]:
    """Polygons standing in for point units: Voronoi cells clipped to the points' hull plus a margin.

    Used when a scenario gives units as points, so that adjacency and area outlines still exist.
    """
    from shapely import MultiPoint, voronoi_polygons

    if len(points) == 0:
        return []
    if len(points) == 1:
        return [points[0].buffer(margin_m)]
    hull = MultiPoint(list(points)).convex_hull.buffer(margin_m)
    cells = voronoi_polygons(MultiPoint(list(points)), extend_to=hull)
    out = []
    for point in points:
        cell = next(c for c in cells.geoms if c.covers(point))
        out.append(cell.intersection(hull))
    return out

"""Travel over the road network: a routable graph from road lines, and unit-to-site distances.

Road lines (metric CRS) are noded at shared vertices and crossings, dangling ends within a
tolerance of another road are joined to it, and each piece becomes an undirected edge weighted
by length and by travel time (walking, or motorbike by road class; a ``speed_kmh`` overrides).
Units' population points and sites are snapped to the nearest edge, and the connector is walked.
Distances come from one Dijkstra run per site (scipy), with an optional cutoff radius.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from shapely import STRtree
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

METRICS = ("road_km", "walk_min", "motorbike_min")

#: Motorbike speeds (km/h) by OSM ``highway`` class, for roads without ``speed_kmh``.
MOTORBIKE_KMH: Mapping[str, float] = {
    "motorway": 60.0, "trunk": 50.0, "primary": 40.0, "secondary": 35.0, "tertiary": 30.0,
    "unclassified": 25.0, "residential": 20.0, "living_street": 15.0, "service": 15.0, "track": 15.0,
    "road": 20.0, "primary_link": 30.0, "secondary_link": 30.0, "tertiary_link": 25.0,
    "path": 8.0, "footway": 5.0, "pedestrian": 5.0, "steps": 3.0, "cycleway": 12.0,
}


@dataclass(frozen=True)
class RoadSettings:
    """How roads are turned into travel: speeds, snapping tolerance, fall-back detour, cutoff."""

    metric: str = "road_km"
    walk_kmh: float = 4.5
    default_motorbike_kmh: float = 20.0
    motorbike_kmh: Mapping[str, float] = field(default_factory=lambda: dict(MOTORBIKE_KMH))
    snap_tolerance_m: float = 5.0
    detour_factor: float = 1.3
    cutoff_km: float | None = None


@dataclass(frozen=True)
class RoadNetwork:
    """An undirected road graph: node coordinates and edges with their geometry and costs."""

    nodes: np.ndarray  # (n, 2) metres
    edge_u: np.ndarray
    edge_v: np.ndarray
    length_m: np.ndarray
    walk_s: np.ndarray
    motorbike_s: np.ndarray
    lines: tuple[LineString, ...]
    bridge: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    def cost(self, metric: str) -> np.ndarray:
        """Edge weights in the metric's unit: km, or minutes."""
        if metric == "road_km":
            return self.length_m / 1000.0
        if metric == "walk_min":
            return self.walk_s / 60.0
        if metric == "motorbike_min":
            return self.motorbike_s / 60.0
        raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")

    def components(self) -> np.ndarray:
        graph = coo_matrix((np.ones(self.n_edges), (self.edge_u, self.edge_v)), shape=(self.n_nodes,) * 2)
        return connected_components(graph, directed=False)[1]


def _parts(geometry: BaseGeometry) -> list[LineString]:
    if isinstance(geometry, LineString):
        return [geometry]
    if isinstance(geometry, MultiLineString):
        return list(geometry.geoms)
    if hasattr(geometry, "geoms"):
        return [g for part in geometry.geoms for g in _parts(part)]
    return []


def build_network(lines: Sequence[BaseGeometry], *, highway: Sequence[str] | None = None,
                  speed_kmh: Sequence[float] | None = None, bridge: Sequence[bool] | None = None,
                  settings: RoadSettings = RoadSettings()) -> RoadNetwork:
    """Node the road lines, join near-miss ends, and weight every piece by length and time."""
    originals = [part for g in lines for part in _parts(g) if part.length > 0]
    index_of = [i for i, g in enumerate(lines) for part in _parts(g) if part.length > 0]
    highway = list(highway) if highway is not None else [""] * len(lines)
    speed_kmh = list(speed_kmh) if speed_kmh is not None else [np.nan] * len(lines)
    bridge = list(bridge) if bridge is not None else [False] * len(lines)
    if not originals:
        empty = np.zeros(0, dtype=int)
        return RoadNetwork(np.zeros((0, 2)), empty, empty, np.zeros(0), np.zeros(0), np.zeros(0), (), np.zeros(0, bool))
    connectors = _near_miss_connectors(originals, settings.snap_tolerance_m)
    noded = _parts(unary_union(originals + connectors))
    tree = STRtree(originals)
    coords: dict[tuple[float, float], int] = {}
    us, vs, lengths, walks, bikes, geoms, bridges = [], [], [], [], [], [], []
    for piece in noded:
        if piece.length <= 0:
            continue
        source = _source_line(piece, originals, tree)
        if source is None:  # a near-miss connector: walked
            kmh, is_bridge = settings.walk_kmh, False
        else:
            i = index_of[source]
            given = speed_kmh[i]
            kmh = float(given) if given is not None and np.isfinite(given) and given > 0 else \
                settings.motorbike_kmh.get(str(highway[i]), settings.default_motorbike_kmh)
            is_bridge = bool(bridge[i])
        a = _node(coords, piece.coords[0])
        b = _node(coords, piece.coords[-1])
        if a == b:
            continue
        us.append(a)
        vs.append(b)
        lengths.append(piece.length)
        walks.append(piece.length / (settings.walk_kmh / 3.6))
        bikes.append(piece.length / (kmh / 3.6))
        geoms.append(piece)
        bridges.append(is_bridge)
    nodes = np.array(sorted(coords, key=coords.get), dtype=float).reshape(-1, 2)
    return RoadNetwork(nodes, np.array(us, dtype=int), np.array(vs, dtype=int), np.array(lengths),
                       np.array(walks), np.array(bikes), tuple(geoms), np.array(bridges, dtype=bool))


def _node(coords: dict[tuple[float, float], int], xy: tuple[float, ...]) -> int:
    key = (round(xy[0], 2), round(xy[1], 2))
    if key not in coords:
        coords[key] = len(coords)
    return coords[key]


def _source_line(piece: LineString, originals: list[LineString], tree: STRtree) -> int | None:
    middle = piece.interpolate(0.5, normalized=True)
    hits = tree.query(middle, predicate="dwithin", distance=0.01)
    return int(min(hits)) if len(hits) else None


def _near_miss_connectors(lines: list[LineString], tolerance: float) -> list[LineString]:
    """Short links from dangling line ends to another road within the tolerance."""
    if tolerance <= 0:
        return []
    ends: dict[tuple[float, float], int] = {}
    for line in lines:
        for xy in (line.coords[0], line.coords[-1]):
            key = (round(xy[0], 2), round(xy[1], 2))
            ends[key] = ends.get(key, 0) + 1
    tree = STRtree(lines)
    connectors = []
    for i, line in enumerate(lines):
        for xy in (line.coords[0], line.coords[-1]):
            if ends[(round(xy[0], 2), round(xy[1], 2))] > 1:
                continue
            point = Point(xy)
            for j in tree.query(point, predicate="dwithin", distance=tolerance):
                j = int(j)
                if j == i or lines[j].distance(point) == 0:
                    continue
                target = lines[j].interpolate(lines[j].project(point))
                if target.distance(point) > 0:
                    connectors.append(LineString([point, target]))
                break
    return connectors


@dataclass(frozen=True)
class Snap:
    """Where points meet the network: edge, position along it, and the connector length."""

    edge: np.ndarray
    along_m: np.ndarray
    connector_m: np.ndarray


def snap_points(network: RoadNetwork, points: Sequence[Point]) -> Snap:
    tree = STRtree(list(network.lines))
    edges = tree.nearest(list(points)) if len(points) else np.zeros(0, dtype=int)
    along = np.array([network.lines[e].project(p) for e, p in zip(edges, points)], dtype=float)
    connector = np.array([network.lines[e].distance(p) for e, p in zip(edges, points)], dtype=float)
    return Snap(np.asarray(edges, dtype=int), along, connector)


def _end_offsets(network: RoadNetwork, snap: Snap, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cost from each snapped point to the start and end node of its edge."""
    length = network.length_m[snap.edge]
    fraction = np.divide(snap.along_m, length, out=np.zeros_like(length), where=length > 0)
    edge_cost = cost[snap.edge]
    return fraction * edge_cost, (1.0 - fraction) * edge_cost


def _connector_cost(metres: np.ndarray, metric: str, settings: RoadSettings) -> np.ndarray:
    if metric == "road_km":
        return metres / 1000.0
    return metres / (settings.walk_kmh / 3.6) / 60.0  # connectors are walked


def travel_matrix(network: RoadNetwork, origins: Sequence[Point], targets: Sequence[Point], *,
                  settings: RoadSettings = RoadSettings()) -> np.ndarray:
    """Network cost from each origin to each target (inf where unreachable or beyond the cutoff)."""
    n, m = len(origins), len(targets)
    if n == 0 or m == 0 or network.n_edges == 0:
        return np.full((n, m), np.inf)
    cost = network.cost(settings.metric)
    graph = coo_matrix((np.concatenate([cost, cost]),
                        (np.concatenate([network.edge_u, network.edge_v]),
                         np.concatenate([network.edge_v, network.edge_u]))),
                       shape=(network.n_nodes, network.n_nodes)).tocsr()
    o = snap_points(network, origins)
    t = snap_points(network, targets)
    o_start, o_end = _end_offsets(network, o, cost)
    t_start, t_end = _end_offsets(network, t, cost)
    o_conn = _connector_cost(o.connector_m, settings.metric, settings)
    t_conn = _connector_cost(t.connector_m, settings.metric, settings)
    sources = np.unique(np.concatenate([network.edge_u[t.edge], network.edge_v[t.edge]]))
    limit = np.inf
    if settings.cutoff_km is not None:
        limit = settings.cutoff_km if settings.metric == "road_km" else np.inf
    dist = dijkstra(graph, directed=True, indices=sources, limit=limit)
    row = {int(s): k for k, s in enumerate(sources)}
    out = np.full((n, m), np.inf)
    ou, ov = network.edge_u[o.edge], network.edge_v[o.edge]
    for j in range(m):
        a, b = int(network.edge_u[t.edge[j]]), int(network.edge_v[t.edge[j]])
        from_site = np.minimum(t_start[j] + dist[row[a]], t_end[j] + dist[row[b]])  # cost to each node
        via_nodes = np.minimum(o_start + from_site[ou], o_end + from_site[ov])
        same_edge = o.edge == t.edge[j]
        direct = np.where(same_edge, np.abs(o.along_m - t.along_m[j]) / np.maximum(network.length_m[o.edge], 1e-9)
                          * cost[o.edge], np.inf)
        out[:, j] = np.minimum(via_nodes, direct) + o_conn + t_conn[j]
    if settings.cutoff_km is not None and settings.metric == "road_km":
        out[out > settings.cutoff_km] = np.inf
    return out


def straight_line_fallback(origins: Sequence[Point], targets: Sequence[Point], settings: RoadSettings) -> np.ndarray:
    """Straight line times the detour factor, in the metric's unit (for units no road reaches)."""
    a = np.array([(p.x, p.y) for p in origins], dtype=float).reshape(-1, 2)
    b = np.array([(p.x, p.y) for p in targets], dtype=float).reshape(-1, 2)
    metres = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)) * settings.detour_factor
    if settings.metric == "road_km":
        return metres / 1000.0
    speed = settings.walk_kmh if settings.metric == "walk_min" else settings.default_motorbike_kmh
    return metres / (speed / 3.6) / 60.0


def road_joined_pairs(network: RoadNetwork, cells: Sequence[BaseGeometry], pairs: Sequence[tuple[int, int]],
                      tolerance: float = 1.0) -> list[tuple[int, int]]:
    """The touching pairs that roads join without leaving the two units (``contiguity = "roads"``).

    Roads are clipped to the two units; the pair stays adjacent when one clipped piece network
    reaches into both. Two units split by a river with no bridge touch on the map but are not
    neighbours for a polling area. A pair where either unit has no road inside stays adjacent:
    there is nothing to judge by.
    """
    if network.n_edges == 0:
        return list(pairs)
    tree = STRtree(list(network.lines))
    grown = [c.buffer(tolerance) for c in cells]
    kept = []
    for i, j in pairs:
        union = unary_union([grown[i], grown[j]])
        pieces = [part for e in tree.query(union, predicate="intersects")
                  for part in _parts(network.lines[int(e)].intersection(union)) if part.length > 0]
        in_a = [p for p in pieces if p.intersection(grown[i]).length > tolerance]
        in_b = [p for p in pieces if p.intersection(grown[j]).length > tolerance]
        if not in_a or not in_b:
            kept.append((i, j))
            continue
        merged = _parts(unary_union(pieces))
        parent: dict[tuple[float, float], tuple[float, float]] = {}

        def find(x: tuple[float, float]) -> tuple[float, float]:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def key(xy: tuple[float, ...]) -> tuple[float, float]:
            return (round(xy[0], 1), round(xy[1], 1))

        for piece in merged:
            parent[find(key(piece.coords[0]))] = find(key(piece.coords[-1]))
        reach_a = {find(key(p.coords[0])) for p in merged if p.intersection(grown[i]).length > tolerance}
        reach_b = {find(key(p.coords[0])) for p in merged if p.intersection(grown[j]).length > tolerance}
        if reach_a & reach_b:
            kept.append((i, j))
    return kept

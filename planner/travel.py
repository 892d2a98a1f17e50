"""Which travel the plan is judged by, and the unit-to-site matrices it needs.

``straight_line``: km between each unit's population point and the site. ``road_km``: km along the
road network of the scenario (the default when ``roads.geojson`` is given), with walking and
motorbike minutes by road computed beside it for the report. Units that no road reaches fall back
to straight line times a detour factor, and a warning names them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from geo.distance import STRAIGHT_LINE, population_points, straight_line_km
from geo.roads import RoadNetwork, RoadSettings, build_network, straight_line_fallback, travel_matrix
from planner.findings import Finding, warning
from planner.scenario import Scenario

ROAD = "road_km"
TRAVEL_METRICS = (STRAIGHT_LINE, ROAD)
CONTIGUITY_MODES = ("touching", "roads")


@dataclass(frozen=True)
class Travel:
    """Unit x site travel in km by the chosen metric, with times by road when roads are used."""

    metric: str
    distance: np.ndarray
    walk_min: np.ndarray | None = None
    motorbike_min: np.ndarray | None = None
    network: RoadNetwork | None = None
    warnings: tuple[Finding, ...] = ()


def default_metric(scenario: Scenario) -> str:
    return ROAD if scenario.roads is not None and len(scenario.roads) else STRAIGHT_LINE


#: Speed on a link that is not a road (a ferry crossing), km/h.
FERRY_KMH = 8.0


def scenario_network(scenario: Scenario, settings: RoadSettings) -> RoadNetwork | None:
    """The road network, plus a crossing for every link that is not a bridge (ferries, fords).

    A ferry joins two units that no road joins; without it an island would be cut off from
    every site on the mainland. Bridges are already roads.
    """
    from shapely.geometry import LineString

    roads = scenario.roads
    if roads is None or roads.empty:
        return None
    lines = list(roads.geometry)
    highway, speed, bridge = list(roads["highway"]), list(roads["speed_kmh"]), list(roads["bridge"])
    from shapely import STRtree

    points = dict(zip(scenario.units.index, population_points(list(scenario.units.geometry))))
    tree = STRtree(lines)

    def on_road(point):  # the crossing starts and ends on the roads nearest each unit
        line = lines[int(tree.nearest(point))]
        return line.interpolate(line.project(point))

    for a, b, kind in zip(scenario.links["unit_a"], scenario.links["unit_b"], scenario.links["kind"]):
        if str(kind).strip().lower() in ("bridge", "cầu"):
            continue
        lines.append(LineString([on_road(points[a]), on_road(points[b])]))
        highway.append(str(kind) or "ferry")
        speed.append(FERRY_KMH)
        bridge.append(False)
    return build_network(lines, highway=highway, speed_kmh=speed, bridge=bridge, settings=settings)


def compute_travel(scenario: Scenario, metric: str | None = None,
                   settings: RoadSettings = RoadSettings()) -> Travel:
    """The travel matrix by ``metric`` (default: roads when the scenario has them)."""
    metric = metric or default_metric(scenario)
    origins = population_points(list(scenario.units.geometry))
    targets = list(scenario.sites.geometry)
    if metric == STRAIGHT_LINE:
        return Travel(metric, straight_line_km(origins, targets))
    network = scenario_network(scenario, settings)
    if network is None or network.n_edges == 0:
        return Travel(STRAIGHT_LINE, straight_line_km(origins, targets),
                      warnings=(warning("no_roads", file="roads.geojson", metric=metric),))
    matrices = {}
    for name in ("road_km", "walk_min", "motorbike_min"):
        matrices[name] = travel_matrix(network, origins, targets, settings=replace(settings, metric=name))
    distance = matrices["road_km"]
    unit_row = {u: i for i, u in enumerate(scenario.units.index)}
    home = [(unit_row[u], j) for j, u in enumerate(scenario.sites["unit_id"])]
    cut_off_home = {i for i, j in home if not np.isfinite(distance[i, j])}
    unreached = sorted({i for i in range(len(origins)) if not np.isfinite(distance[i]).any()} | cut_off_home)
    warnings = []
    for i in unreached:
        unit_id = scenario.units.index[i]
        for name, matrix in matrices.items():
            fallback = straight_line_fallback([origins[i]], targets, replace(settings, metric=name))[0]
            matrix[i] = np.where(np.isfinite(matrix[i]), matrix[i], fallback)
        warnings.append(warning("road_unreached", file="roads.geojson", feature_id=unit_id,
                                name=scenario.units.at[unit_id, "name"], factor=settings.detour_factor))
    return Travel(ROAD, distance, matrices["walk_min"], matrices["motorbike_min"], network, tuple(warnings))

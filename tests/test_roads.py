"""Travel over roads: the network, snapping, bridges, unreached units and road contiguity."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from communes import CELL_M, ORIGIN, GridCommune, lonlat, write_geojson
from shapely.geometry import LineString, Point, mapping

from geo.roads import RoadSettings, build_network, travel_matrix


def _x(c: float) -> float:
    return ORIGIN[0] + (c + 0.5) * CELL_M


def _y(r: float) -> float:
    return ORIGIN[1] - (r + 0.5) * CELL_M


def river_commune(folder: Path, *, contiguity: str | None = None, bridge_row: int = 2) -> Path:
    """Two columns of units meeting along a river (they touch on the map); one bridge, at the bottom.

    Straight line puts U0001 (top right) next to the site in U0000 (top left); by road it is far.
    """
    commune = GridCommune(rows=["AA", "AA", "AA"], voters=400, sites=[(0, 0, 4000), (2, 1, 4000)],
                          objective={"areas": 2})
    commune.write(folder)
    if contiguity:
        text = (folder / "scenario.toml").read_text(encoding="utf-8")
        (folder / "scenario.toml").write_text(text + f'\n[travel]\ncontiguity = "{contiguity}"\n', encoding="utf-8")
    roads = [LineString([(_x(0), _y(0)), (_x(0), _y(2))]),  # left bank road
             LineString([(_x(1), _y(0)), (_x(1), _y(2))]),  # right bank road
             LineString([(_x(0), _y(bridge_row)), (_x(1), _y(bridge_row))])]  # the bridge
    features = [{"type": "Feature", "geometry": mapping(lonlat(g)),
                 "properties": {"highway": "tertiary", "bridge": k == 2}} for k, g in enumerate(roads)]
    write_geojson(folder / "roads.geojson", features)
    return folder


def _assignment(plan: Path) -> dict[str, str]:
    with open(plan / "assignment.csv", encoding="utf-8") as handle:
        return {r["unit_id"]: r["area_id"] for r in csv.DictReader(handle)}


def test_roads_respect_the_bridge_where_straight_line_does_not(tmp_path: Path, cli) -> None:
    scenario = river_commune(tmp_path / "river")
    straight, road = tmp_path / "straight", tmp_path / "road"
    assert cli("solve", scenario, "--out", straight, "--travel", "straight_line", "-q")[0] == 0
    assert cli("solve", scenario, "--out", road, "-q")[0] == 0  # roads are the default when given
    by_line, by_road = _assignment(straight), _assignment(road)
    assert by_line["U0001"] == by_line["U0000"]  # across the river, 500 m as the crow flies
    assert by_road["U0001"] == by_road["U0201"]  # by road it belongs with the bridge side's site
    report = json.loads((road / "report.json").read_text(encoding="utf-8"))
    assert report["travel_metric"] == "road_km"
    assert report["areas"][0]["mean_walk_min"] is not None
    assert cli("check", scenario, road)[0] == 0


def test_road_contiguity_splits_units_a_river_separates(tmp_path: Path, cli) -> None:
    from planner.pipeline import SolveOptions, build_problem
    from planner.validation import load_scenario

    touching = load_scenario(river_commune(tmp_path / "a"))
    roads = load_scenario(river_commune(tmp_path / "b", contiguity="roads"))
    index = {u: i for i, u in enumerate(touching.units.index)}
    top_left, top_right = index["U0000"], index["U0001"]
    bottom_left, bottom_right = index["U0200"], index["U0201"]
    by_touch, _ = build_problem(touching, SolveOptions())
    by_road, _ = build_problem(roads, SolveOptions())
    assert top_right in by_touch.neighbours[top_left]
    assert top_right not in by_road.neighbours[top_left]  # no bridge up there
    assert bottom_right in by_road.neighbours[bottom_left]  # the bridge joins them


def test_network_nodes_crossings_and_snaps_near_misses() -> None:
    cross = [LineString([(0, 0), (100, 0)]), LineString([(50, -50), (50, 50)]),
             LineString([(100, 3), (100, 60)])]  # a near miss 3 m from the first road's end
    network = build_network(cross, settings=RoadSettings(snap_tolerance_m=5.0))
    matrix = travel_matrix(network, [Point(0, 0)], [Point(100, 60), Point(50, 50)])
    assert matrix[0, 1] == pytest.approx((50 + 50) / 1000, abs=1e-6)  # through the crossing
    assert matrix[0, 0] == pytest.approx((100 + 3 + 57) / 1000, abs=1e-6)  # through the snapped gap
    loose = build_network(cross, settings=RoadSettings(snap_tolerance_m=1.0))
    assert not np.isfinite(travel_matrix(loose, [Point(0, 0)], [Point(100, 60)])[0, 0])


def test_speed_override_and_times() -> None:
    lines = [LineString([(0, 0), (1000, 0)])]
    slow = build_network(lines, highway=["primary"], speed_kmh=[10.0])
    fast = build_network(lines, highway=["primary"])
    origin, target = [Point(0, 0)], [Point(1000, 0)]
    assert travel_matrix(slow, origin, target, settings=RoadSettings(metric="motorbike_min"))[0, 0] == \
        pytest.approx(6.0)
    assert travel_matrix(fast, origin, target, settings=RoadSettings(metric="motorbike_min"))[0, 0] == \
        pytest.approx(1.5)  # 40 km/h on a primary road
    assert travel_matrix(fast, origin, target, settings=RoadSettings(metric="walk_min"))[0, 0] == \
        pytest.approx(60 / 4.5)


def test_connector_length_is_added() -> None:
    network = build_network([LineString([(0, 0), (1000, 0)])])
    matrix = travel_matrix(network, [Point(200, 30)], [Point(700, -40)])
    assert matrix[0, 0] == pytest.approx((30 + 500 + 40) / 1000)


def test_cutoff_radius_leaves_far_pairs_out() -> None:
    network = build_network([LineString([(0, 0), (5000, 0)])])
    matrix = travel_matrix(network, [Point(0, 0)], [Point(1000, 0), Point(4000, 0)],
                           settings=RoadSettings(cutoff_km=2.0))
    assert np.isfinite(matrix[0, 0]) and not np.isfinite(matrix[0, 1])


def test_unit_no_road_reaches_falls_back_with_a_warning(tmp_path: Path, cli) -> None:
    scenario = river_commune(tmp_path / "river")
    # a far-off road piece is the only road in the bottom-left unit, joined to nothing
    doc = json.loads((scenario / "roads.geojson").read_text(encoding="utf-8"))
    doc["features"] = doc["features"][1:2]  # only the right bank road remains
    island = LineString([(_x(0) - 100, _y(2)), (_x(0) - 50, _y(2))])
    doc["features"].append({"type": "Feature", "geometry": mapping(lonlat(island)), "properties": {}})
    (scenario / "roads.geojson").write_text(json.dumps(doc), encoding="utf-8")
    plan = tmp_path / "plan"
    code, _, err = cli("solve", scenario, "--out", plan, "--lang", "en")
    assert code == 0, err
    report = json.loads((plan / "report.json").read_text(encoding="utf-8"))
    unreached = {w["feature_id"] for w in report["warnings"] if w["code"] == "road_unreached"}
    assert "U0200" in unreached and "U0001" not in unreached


SHARED_OSM = Path(__file__).parents[2] / "shared" / "data" / "real" / "hanoi-central" / "van_mieu_2023-12.osm"


@pytest.mark.skipif(not SHARED_OSM.exists(), reason="../shared/data/real is not beside the project")
def test_real_osm_extract_loads_routes_and_solves(tmp_path: Path, cli) -> None:
    """The Văn Miếu OSM export: roads and candidate sites from OSM, synthetic units over the box."""
    import shutil

    from shapely.geometry import box

    folder = tmp_path / "van-mieu"
    folder.mkdir()
    shutil.copy(SHARED_OSM, folder / SHARED_OSM.name)
    west, south, east, north = 105.82683, 21.02329, 105.83901, 21.03035
    cols, rows = 4, 3
    features = []
    for r in range(rows):
        for c in range(cols):
            cell = box(west + (east - west) * c / cols, south + (north - south) * r / rows,
                       west + (east - west) * (c + 1) / cols, south + (north - south) * (r + 1) / rows)
            features.append({"type": "Feature", "geometry": mapping(cell),
                             "properties": {"unit_id": f"TDP{r * cols + c + 1:02d}", "name": f"Tổ dân phố {r * cols + c + 1}",
                                            "voters": 700, "eu_commune": "P-01"}})
    write_geojson(folder / "units.geojson", features)
    (folder / "scenario.toml").write_text('[scenario]\nname = "Phường Văn Miếu (thử)"\ncommune_code = "00001"\n'
                                          'election_date = "2026-03-15"\n', encoding="utf-8")
    code, report = cli.json("validate", folder)
    assert code == 0, report
    plan = tmp_path / "plan"
    code, _, err = cli("solve", folder, "--out", plan, "--time-limit", "20", "-q")
    assert code == 0, err
    result = json.loads((plan / "report.json").read_text(encoding="utf-8"))
    assert result["travel_metric"] == "road_km"
    assert all(a["site_id"].startswith("OSM") for a in result["areas"])
    assert cli("check", folder, plan)[0] == 0


def test_ferry_link_joins_the_islet_to_the_mainland_by_road() -> None:
    from planner.travel import compute_travel
    from planner.validation import load_scenario
    from pollplan_data import DEMO_DIR

    scenario = load_scenario(DEMO_DIR)
    travel = compute_travel(scenario)
    assert travel.metric == "road_km" and np.isfinite(travel.distance).all()
    assert not travel.warnings  # the islet T47 is reached over the ferry crossing, not by fallback
    ferry = scenario.links[scenario.links["kind"] == "ferry"].iloc[0]
    units = list(scenario.units.index)
    islet, shore = units.index(ferry["unit_b"]), units.index(ferry["unit_a"])
    mainland_site = next(j for j, u in enumerate(scenario.sites["unit_id"]) if u == ferry["unit_a"])
    assert travel.distance[islet, mainland_site] > travel.distance[shore, mainland_site]

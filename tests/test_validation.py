"""Every bad-input case names the rule, the file, the feature and the field, and exits 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest
from communes import CELL_M, cell_point, lonlat, read_geojson, write_geojson
from conftest import basic_commune
from shapely.geometry import LineString, Polygon, mapping


def _edit_features(folder: Path, name: str, edit: Callable[[list[dict]], None]) -> None:
    doc = read_geojson(folder / name)
    edit(doc["features"])
    write_geojson(folder / name, doc["features"])


def _unit(features: list[dict], unit_id: str) -> dict:
    return next(f for f in features if f["properties"]["unit_id"] == unit_id)


def _set(name: str, unit_id: str, key: str, value) -> Callable[[Path], None]:
    id_key = {"units.geojson": "unit_id", "sites.geojson": "site_id", "facilities.geojson": "facility_id"}[name]

    def edit(folder: Path) -> None:
        def change(features: list[dict]) -> None:
            feature = next(f for f in features if f["properties"][id_key] == unit_id)
            if key == "geometry":
                feature["geometry"] = value
            elif value is _DELETE:
                del feature["properties"][key]
            else:
                feature["properties"][key] = value
        _edit_features(folder, name, change)
    return edit


_DELETE = object()


def _remove(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


def _write(name: str, text: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(text.encode(encoding))


def _toml(replace: str, by: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / "scenario.toml"
        text = path.read_text(encoding="utf-8")
        assert replace in text
        path.write_text(text.replace(replace, by), encoding="utf-8")
    return edit


def _drop_column(name: str, key: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        def change(features: list[dict]) -> None:
            for f in features:
                f["properties"].pop(key, None)
        _edit_features(folder, name, change)
    return edit


def _duplicate_unit(folder: Path) -> None:
    def change(features: list[dict]) -> None:
        features[1]["properties"]["unit_id"] = features[0]["properties"]["unit_id"]
    _edit_features(folder, "units.geojson", change)


def _swap_site(folder: Path) -> None:
    def change(features: list[dict]) -> None:
        x, y = features[0]["geometry"]["coordinates"]
        features[0]["geometry"]["coordinates"] = [y, x]
    _edit_features(folder, "sites.geojson", change)


def _shift_unit_far(folder: Path) -> None:
    def change(features: list[dict]) -> None:
        feature = _unit(features, "U0000")
        ring = feature["geometry"]["coordinates"][0]
        feature["geometry"]["coordinates"][0] = [[x + 1.0, y] for x, y in ring]  # ~100 km east
    _edit_features(folder, "units.geojson", change)


def _overlap_units(folder: Path) -> None:
    def change(features: list[dict]) -> None:
        grown = Polygon([(0, 0), (0, 1), (1, 1), (1, 0)])  # placeholder, replaced below
        from communes import cell_box
        grown = cell_box(0, 0).union(cell_box(0, 1).buffer(-100)).convex_hull
        _unit(features, "U0000")["geometry"] = mapping(lonlat(grown))
    _edit_features(folder, "units.geojson", change)


def _bowtie(folder: Path) -> None:
    from communes import ORIGIN
    x0, y0 = ORIGIN[0], ORIGIN[1] - CELL_M
    bowtie = Polygon([(x0, y0), (x0 + CELL_M, y0 + CELL_M), (x0 + CELL_M, y0), (x0, y0 + CELL_M), (x0, y0)])
    _set("units.geojson", "U0000", "geometry", mapping(lonlat(bowtie)))(folder)


def _site_far(folder: Path) -> None:
    point = cell_point(0, 0)
    moved = lonlat(type(point)(point.x, point.y + 5000))
    _set("sites.geojson", "S01", "geometry", mapping(moved))(folder)


def _facility(folder: Path, kind: str = "hospital", dy: float = 0.0) -> None:
    point = cell_point(1, 1)
    feature = {"type": "Feature", "geometry": mapping(lonlat(type(point)(point.x, point.y + dy))),
               "properties": {"facility_id": "F01", "name": "Bệnh viện", "kind": kind, "voters": 120}}
    write_geojson(folder / "facilities.geojson", [feature])


REGISTRY_HEADER = "citizen_id,full_name,date_of_birth,sex,unit_id,residence,status,facility_id\n"

CASES: list[tuple[str, Callable[[Path], None], str, str, str, str, str]] = [
    # name, defect, code, file, feature_id, field, rule
    ("missing_units", _remove("units.geojson"), "missing_file", "units.geojson", "", "", ""),
    ("missing_sites", _remove("sites.geojson"), "missing_file", "sites.geojson", "", "", ""),
    ("missing_toml", _remove("scenario.toml"), "missing_file", "scenario.toml", "", "", ""),
    ("missing_name_column", _drop_column("units.geojson", "name"), "missing_column", "units.geojson", "", "name", ""),
    ("missing_unit_id", _set("units.geojson", "U0002", "unit_id", ""), "missing_field", "units.geojson", "#3",
     "unit_id", ""),
    ("missing_election_date", _toml('election_date = "2026-03-15"\n', ""), "missing_field", "scenario.toml", "",
     "scenario.election_date", ""),
    ("duplicate_unit_id", _duplicate_unit, "duplicate_id", "units.geojson", "U0000", "unit_id", ""),
    ("voters_text", _set("units.geojson", "U0001", "voters", "abc"), "voters_not_int", "units.geojson", "U0001",
     "voters", "R2"),
    ("voters_negative", _set("units.geojson", "U0001", "voters", -5), "voters_not_int", "units.geojson", "U0001",
     "voters", "R2"),
    ("voters_fraction", _set("units.geojson", "U0001", "voters", 12.5), "voters_not_int", "units.geojson", "U0001",
     "voters", "R2"),
    ("voters_missing_value", _set("units.geojson", "U0001", "voters", None), "missing_field", "units.geojson",
     "U0001", "voters", ""),
    ("empty_geometry", _set("units.geojson", "U0001", "geometry", None), "geometry_empty", "units.geojson", "U0001",
     "geometry", ""),
    ("broken_ring", _set("units.geojson", "U0001", "geometry",
                         {"type": "Polygon", "coordinates": [[[105.0, 21.0], [105.1, 21.0]]]}),
     "geometry_invalid", "units.geojson", "U0001", "geometry", ""),
    ("unit_is_line", _set("units.geojson", "U0001", "geometry",
                          mapping(lonlat(LineString([(580000, 2321500), (580400, 2321600)])))),
     "geometry_type", "units.geojson", "U0001", "geometry", ""),
    ("site_is_polygon", _set("sites.geojson", "S02", "geometry",
                             mapping(lonlat(Polygon([(580000, 2321500), (580100, 2321500), (580100, 2321600)])))),
     "geometry_type", "sites.geojson", "S02", "geometry", ""),
    ("unit_too_large", _set("units.geojson", "U0001", "voters", 5000), "unit_too_large", "units.geojson", "U0001",
     "voters", "R13"),
    ("site_outside", _site_far, "point_outside_units", "sites.geojson", "S01", "geometry", ""),
    ("facility_outside", lambda f: _facility(f, dy=4000.0), "point_outside_units", "facilities.geojson", "F01",
     "geometry", ""),
    ("facility_kind", lambda f: _facility(f, kind="prison"), "unknown_facility_kind", "facilities.geojson", "F01",
     "kind", "R4"),
    ("link_unknown_unit", _write("links.csv", "unit_a,unit_b,kind\nU0000,U9999,ferry\n"), "unknown_unit",
     "links.csv", "#2", "unit_b", ""),
    ("registry_unknown_unit",
     _write("voters.csv", REGISTRY_HEADER + "001,Nguyễn Văn An,1980-01-01,M,U7777,permanent,,\n"),
     "unknown_unit", "voters.csv", "#2", "unit_id", ""),
    ("registry_bad_birth",
     _write("voters.csv", REGISTRY_HEADER + "001,Nguyễn Văn An,1980-13-45,M,U0000,permanent,,\n"),
     "bad_date", "voters.csv", "001", "date_of_birth", ""),
    ("min_above_max", _toml("[scenario]", "[rules]\nmin_voters = 5000\nmax_voters = 4000\n\n[scenario]"),
     "min_gt_max", "scenario.toml", "", "rules.min_voters", "R2"),
    ("bad_election_date", _toml('"2026-03-15"', '"2026-02-30"'), "bad_date", "scenario.toml", "",
     "scenario.election_date", ""),
    ("toml_syntax", _toml('name = "Xã Thử Nghiệm"', 'name = "Xã Thử Nghiệm'), "toml_invalid", "scenario.toml", "",
     "", ""),
    ("swapped_site", _swap_site, "swapped_coordinates", "sites.geojson", "S01", "geometry", ""),
    ("unit_far_away", _shift_unit_far, "far_outside", "units.geojson", "U0000", "geometry", ""),
    ("links_not_utf8", _write("links.csv", "unit_a,unit_b,kind\nU0000,U0001,Đông\n", "cp1258"), "not_utf8",
     "links.csv", "", "", ""),
    ("units_not_json", _write("units.geojson", "{not json"), "unreadable_file", "units.geojson", "", "", ""),
    ("capacity_missing", _set("sites.geojson", "S03", "capacity", None), "capacity_not_int", "sites.geojson", "S03",
     "capacity", ""),
    ("sparse_not_bool", _set("units.geojson", "U0003", "sparse", "maybe"), "bad_bool", "units.geojson", "U0003",
     "sparse", ""),
    ("no_voter_counts", _drop_column("units.geojson", "voters"), "voters_missing", "units.geojson", "", "voters", ""),
    ("voters_thousands_dot", _set("units.geojson", "U0001", "voters", "1.000"), "voters_not_int", "units.geojson",
     "U0001", "voters", "R2"),
    ("capacity_thousands_dot", _set("sites.geojson", "S02", "capacity", "4.000"), "capacity_not_int",
     "sites.geojson", "S02", "capacity", ""),
    ("electoral_code_missing", _set("units.geojson", "U0002", "eu_commune", ""), "eu_missing", "units.geojson",
     "U0002", "eu_commune", "R13"),
    ("projected_without_crs", _set("units.geojson", "U0001", "geometry",
                                   {"type": "Polygon", "coordinates": [[[580000, 2321500], [580500, 2321500],
                                                                        [580500, 2322000], [580000, 2321500]]]}),
     "crs_missing", "units.geojson", "U0001", "geometry", ""),
]


@pytest.mark.parametrize("name,defect,code,file,feature,field,rule", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_named(tmp_path: Path, cli, name, defect, code, file, feature, field, rule) -> None:
    folder = basic_commune().write(tmp_path / "scenario")
    defect(folder)
    exit_code, report = cli.json("validate", folder)
    assert exit_code == 1
    assert report["valid"] is False
    matches = [f for f in report["findings"] if f["code"] == code and f["severity"] == "error"]
    assert matches, report["findings"]
    found = matches[0]
    assert found["file"] == file
    assert found["feature_id"] == feature
    assert found["field"] == field
    assert found["rule"] == rule
    # the human message names the file and the feature too
    code_text, out, _ = cli("validate", folder, "--lang", "en")
    assert code_text == 1
    line = next(line for line in out.splitlines() if line.startswith("ERROR") and file in line
                and (feature in line))
    assert found["message_en"] in line


@pytest.mark.parametrize("name,defect,code,file,feature,field,rule", CASES[:8], ids=[c[0] for c in CASES[:8]])
def test_solve_writes_nothing_on_bad_input(tmp_path: Path, cli, name, defect, code, file, feature, field,
                                           rule) -> None:
    folder = basic_commune().write(tmp_path / "scenario")
    defect(folder)
    out = tmp_path / "plan"
    exit_code, _, err = cli("solve", folder, "--out", out, "--time-limit", "2")
    assert exit_code == 1
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [folder]
    assert "Traceback" not in err


def test_all_problems_listed_at_once(tmp_path: Path, cli) -> None:
    folder = basic_commune().write(tmp_path / "scenario")
    _set("units.geojson", "U0001", "voters", "abc")(folder)
    _set("units.geojson", "U0002", "voters", 9000)(folder)
    _site_far(folder)
    _write("links.csv", "unit_a,unit_b,kind\nU0000,U9999,ferry\n")(folder)
    exit_code, report = cli.json("validate", folder)
    assert exit_code == 1
    codes = {(f["code"], f["feature_id"]) for f in report["findings"]}
    assert {("voters_not_int", "U0001"), ("unit_too_large", "U0002"), ("point_outside_units", "S01"),
            ("unknown_unit", "#2")} <= codes


def test_repaired_geometry_is_a_warning(tmp_path: Path, cli) -> None:
    folder = basic_commune().write(tmp_path / "scenario")
    _bowtie(folder)
    exit_code, report = cli.json("validate", folder)
    warnings = [f for f in report["findings"] if f["code"] == "geometry_repaired"]
    assert warnings and warnings[0]["feature_id"] == "U0000" and warnings[0]["severity"] == "warning"
    assert exit_code == 0


def test_overlap_is_a_warning(tmp_path: Path, cli) -> None:
    folder = basic_commune().write(tmp_path / "scenario")
    _overlap_units(folder)
    exit_code, report = cli.json("validate", folder)
    overlaps = [f for f in report["findings"] if f["code"] == "overlap"]
    assert overlaps and overlaps[0]["severity"] == "warning"
    assert {overlaps[0]["feature_id"], overlaps[0].get("message_en").split()[2]} >= {"U0000"}
    assert exit_code == 0


def test_csv_with_bom_is_read(tmp_path: Path, cli) -> None:
    folder = basic_commune().write(tmp_path / "scenario")
    (folder / "links.csv").write_bytes("\ufeffunit_a,unit_b,kind\nU0000,U0001,cầu\n".encode("utf-8"))
    exit_code, report = cli.json("validate", folder)
    assert exit_code == 0, report


def test_valid_scenario_exit_zero(basic: Path, cli) -> None:
    exit_code, report = cli.json("validate", basic)
    assert exit_code == 0 and report["valid"] is True


def test_usage_error_exit_two(cli, tmp_path: Path) -> None:
    code, _, _ = cli("validate")
    assert code == 2
    code, _, _ = cli("solve", tmp_path)  # --out missing
    assert code == 2


def test_missing_scenario_folder(cli, tmp_path: Path) -> None:
    exit_code, report = cli.json("validate", tmp_path / "nowhere")
    assert exit_code == 1
    assert report["findings"][0]["code"] == "scenario_not_found"


def test_geopackage_scenario(tmp_path: Path, cli) -> None:
    """The same layers in one GeoPackage validate and solve like the folder."""
    import geopandas as gpd
    import pandas as pd

    folder = basic_commune(links=[("U0000", "U0001", "bridge")]).write(tmp_path / "files")
    package = tmp_path / "package"
    package.mkdir()
    (package / "scenario.toml").write_text((folder / "scenario.toml").read_text(encoding="utf-8"), encoding="utf-8")
    for layer in ("units", "sites"):
        gpd.read_file(folder / f"{layer}.geojson").to_crs(32648).to_file(package / "commune.gpkg", layer=layer,
                                                                         driver="GPKG")
    links = pd.read_csv(folder / "links.csv")
    gpd.GeoDataFrame(links).to_file(package / "commune.gpkg", layer="links", driver="GPKG")
    exit_code, report = cli.json("validate", package)
    assert exit_code == 0, report
    exit_code, report = cli.json("validate", package / "commune.gpkg")
    assert exit_code == 0, report
    code, out, err = cli("solve", package, "--out", tmp_path / "plan", "--time-limit", "5")
    assert code == 0, err
    assert (tmp_path / "plan" / "assignment.csv").exists()


def test_projected_crs_input(tmp_path: Path, cli) -> None:
    """GeoJSON in a projected CRS (UTM 48N) is read with its CRS member."""
    folder = basic_commune().write(tmp_path / "scenario")
    import geopandas as gpd

    for layer in ("units", "sites"):
        frame = gpd.read_file(folder / f"{layer}.geojson").to_crs(32648)
        doc = json.loads(frame.to_json())
        write_geojson(folder / f"{layer}.geojson", doc["features"],
                      crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32648"}})
    exit_code, report = cli.json("validate", folder)
    assert exit_code == 0, report


def test_identical_polygons_are_reported_as_overlap(tmp_path: Path, cli) -> None:
    folder = basic_commune().write(tmp_path / "scenario")
    doc = read_geojson(folder / "units.geojson")
    _unit(doc["features"], "U0001")["geometry"] = _unit(doc["features"], "U0000")["geometry"]
    write_geojson(folder / "units.geojson", doc["features"])
    _, report = cli.json("validate", folder)
    assert any(f["code"] == "overlap" and {f["feature_id"], f["message_en"].split()[2]} == {"U0000", "U0001"}
               for f in report["findings"])


def test_semicolon_csv_is_read_with_a_note(tmp_path: Path, cli) -> None:
    folder = basic_commune().write(tmp_path / "scenario")
    (folder / "links.csv").write_text("unit_a;unit_b;kind\nU0000;U0203;ferry\n", encoding="utf-8")
    code, report = cli.json("validate", folder)
    assert code == 0
    assert [f["code"] for f in report["findings"] if f["file"] == "links.csv"] == ["semicolon_csv"]


def test_many_rows_with_one_problem_are_reported_once(tmp_path: Path, cli) -> None:
    folder = basic_commune().write(tmp_path / "scenario")
    rows = "".join(f"{i:012d},Nguyễn Văn An,{i % 28 + 1:02d}/01/1980,M,U0000,permanent,,\n" for i in range(60))
    (folder / "voters.csv").write_text(REGISTRY_HEADER + rows, encoding="utf-8")
    code, report = cli.json("validate", folder)
    assert code == 1
    dates = [f for f in report["findings"] if f["field"] == "date_of_birth"]
    assert len(dates) == 1 and dates[0]["code"] == "many_rows" and "60" in dates[0]["message_en"]

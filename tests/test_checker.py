"""The plan checker finds every kind of violation, naming the area and the rule (R-numbers)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

import pytest
from communes import read_geojson, write_geojson
from conftest import basic_commune


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _write_rows(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _area_of(plan: Path, unit: str) -> str:
    return next(r["area_id"] for r in _rows(plan / "assignment.csv") if r["unit_id"] == unit)


def _set_area(plan: Path, unit: str, area: str) -> None:
    rows = _rows(plan / "assignment.csv")
    for r in rows:
        if r["unit_id"] == unit:
            r["area_id"] = area
    _write_rows(plan / "assignment.csv", rows, ["unit_id", "area_id"])


def _recount(scenario: Path, plan: Path) -> None:
    """Make areas.csv's voters match the assignment again, so only the intended rule breaks."""
    voters = {f["properties"]["unit_id"]: f["properties"]["voters"]
              for f in read_geojson(scenario / "units.geojson")["features"]}
    totals: dict[str, int] = {}
    for r in _rows(plan / "assignment.csv"):
        totals[r["area_id"]] = totals.get(r["area_id"], 0) + voters[r["unit_id"]]
    rows = _rows(plan / "areas.csv")
    for r in rows:
        if r["kind"] == "regular":
            r["voters"] = str(totals.get(r["area_id"], 0))
    _write_rows(plan / "areas.csv", rows, ["area_id", "site_id", "kind", "facility_id", "voters"])


def _edit_areas(plan: Path, edit: Callable[[list[dict[str, str]]], None]) -> None:
    rows = _rows(plan / "areas.csv")
    edit(rows)
    _write_rows(plan / "areas.csv", rows, ["area_id", "site_id", "kind", "facility_id", "voters"])


def _toml(scenario: Path, text: str) -> None:
    path = scenario / "scenario.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")


@pytest.fixture
def solved(tmp_path: Path, cli) -> tuple[Path, Path]:
    scenario = basic_commune().write(tmp_path / "scenario")
    plan = tmp_path / "plan"
    code, _, err = cli("solve", scenario, "--out", plan, "--time-limit", "5", "--areas", "4")
    assert code == 0, err
    code, _, _ = cli("check", scenario, plan)
    assert code == 0
    return scenario, plan


def _findings(cli, scenario: Path, plan: Path) -> tuple[int, list[dict]]:
    code, report = cli.json("check", scenario, plan)
    return code, report["findings"]


def test_valid_plan_passes(solved, cli) -> None:
    code, findings = _findings(cli, *solved)
    assert code == 0 and not [f for f in findings if f["severity"] == "error"]


def test_unit_unassigned_R13(solved, cli) -> None:
    scenario, plan = solved
    rows = [r for r in _rows(plan / "assignment.csv") if r["unit_id"] != "U0101"]
    _write_rows(plan / "assignment.csv", rows, ["unit_id", "area_id"])
    _recount(scenario, plan)
    code, findings = _findings(cli, scenario, plan)
    assert code == 1
    assert any(f["code"] == "unit_unassigned" and f["feature_id"] == "U0101" and f["rule"] == "R13" for f in findings)


def test_unit_in_two_areas_R13(solved, cli) -> None:
    scenario, plan = solved
    rows = _rows(plan / "assignment.csv")
    rows.append({"unit_id": "U0000", "area_id": "KV02"})
    _write_rows(plan / "assignment.csv", rows, ["unit_id", "area_id"])
    code, findings = _findings(cli, scenario, plan)
    assert code == 1
    assert any(f["code"] == "unit_assigned_twice" and f["feature_id"] == "U0000" for f in findings)


def test_too_many_voters_R2(solved, cli) -> None:
    scenario, plan = solved
    _toml(scenario, "[rules]\nmax_voters = 1000\n")
    code, findings = _findings(cli, scenario, plan)
    assert code == 1
    hits = [f for f in findings if f["code"] == "area_too_many"]
    assert hits and all(f["rule"] == "R2" for f in hits)


def test_too_few_voters_R2_and_sparse_exception_R3(solved, cli) -> None:
    scenario, plan = solved
    _toml(scenario, "[rules]\nmin_voters = 1300\n")
    code, findings = _findings(cli, scenario, plan)
    small = {f["feature_id"] for f in findings if f["code"] == "area_too_few" and f["rule"] == "R2"}
    assert code == 1 and small
    # mark every unit of the small areas sparse: the law then allows them (R3), as a warning
    members = {r["unit_id"] for r in _rows(plan / "assignment.csv") if r["area_id"] in small}
    doc = read_geojson(scenario / "units.geojson")
    for f in doc["features"]:
        if f["properties"]["unit_id"] in members:
            f["properties"]["sparse"] = True
    write_geojson(scenario / "units.geojson", doc["features"])
    code, findings = _findings(cli, scenario, plan)
    assert code == 0
    assert {f["feature_id"] for f in findings if f["code"] == "area_sparse_small" and f["rule"] == "R3"} == small


def test_not_contiguous(solved, cli) -> None:
    scenario, plan = solved
    # U0000 (top-left corner) into the area of U0203 (bottom-right corner, another EU column)
    far_area = _area_of(plan, "U0203")
    _set_area(plan, "U0000", far_area)
    _recount(scenario, plan)
    code, findings = _findings(cli, scenario, plan)
    assert code == 1
    assert any(f["code"] == "area_not_contiguous" and f["feature_id"] == far_area for f in findings)


def test_national_and_provincial_levels_R11(solved, cli) -> None:
    scenario, plan = solved
    area = _area_of(plan, "U0000")
    doc = read_geojson(scenario / "units.geojson")
    for f in doc["features"]:
        if f["properties"]["unit_id"] == "U0000":
            f["properties"]["eu_na"] = "QH-02"
            f["properties"]["eu_province"] = "T-09"
    write_geojson(scenario / "units.geojson", doc["features"])
    code, findings = _findings(cli, scenario, plan)
    assert code == 1
    fields = {f["field"] for f in findings if f["code"] == "area_crosses_eu" and f["feature_id"] == area}
    assert fields == {"eu_na", "eu_province"}


def test_crosses_electoral_unit_R1(solved, cli) -> None:
    scenario, plan = solved
    # U0003 is in electoral unit B; move it into the area of its neighbour U0002 (unit A)
    area = _area_of(plan, "U0002")
    _set_area(plan, "U0003", area)
    _recount(scenario, plan)
    code, findings = _findings(cli, scenario, plan)
    assert code == 1
    assert any(f["code"] == "area_crosses_eu" and f["feature_id"] == area and f["rule"] == "R1"
               and f["field"] == "eu_commune" for f in findings)


def test_site_outside_area_R7(solved, cli) -> None:
    scenario, plan = solved
    used = {r["site_id"] for r in _rows(plan / "areas.csv")}
    spare = next(s for s in ("S01", "S02", "S03", "S04", "S05", "S06") if s not in used)
    spare_unit = {"S01": "U0000", "S02": "U0102", "S03": "U0003", "S04": "U0200", "S05": "U0203",
                  "S06": "U0101"}[spare]
    target = next(r["area_id"] for r in _rows(plan / "areas.csv")
                  if r["area_id"] != _area_of(plan, spare_unit))

    def edit(rows):
        for r in rows:
            if r["area_id"] == target:
                r["site_id"] = spare
    _edit_areas(plan, edit)
    code, findings = _findings(cli, scenario, plan)
    assert code == 1
    assert any(f["code"] == "site_outside_area" and f["feature_id"] == target and f["rule"] == "R7" for f in findings)


def test_site_used_twice_and_missing_site_R7(solved, cli) -> None:
    scenario, plan = solved

    def edit(rows):
        rows[1]["site_id"] = rows[0]["site_id"]
        rows[2]["site_id"] = ""
    _edit_areas(plan, edit)
    code, findings = _findings(cli, scenario, plan)
    assert code == 1
    assert any(f["code"] == "site_used_twice" and f["rule"] == "R7" for f in findings)
    assert any(f["code"] == "area_no_site" and f["rule"] == "R7" for f in findings)


def test_site_capacity_R8(solved, cli) -> None:
    scenario, plan = solved
    site = _rows(plan / "areas.csv")[0]["site_id"]
    doc = read_geojson(scenario / "sites.geojson")
    for f in doc["features"]:
        if f["properties"]["site_id"] == site:
            f["properties"]["capacity"] = 100
    write_geojson(scenario / "sites.geojson", doc["features"])
    code, findings = _findings(cli, scenario, plan)
    assert code == 1
    assert any(f["code"] == "site_over_capacity" and f["rule"] == "R8" for f in findings)


def test_voter_total_must_match(solved, cli) -> None:
    scenario, plan = solved

    def edit(rows):
        rows[0]["voters"] = str(int(rows[0]["voters"]) + 1)
    _edit_areas(plan, edit)
    code, findings = _findings(cli, scenario, plan)
    assert code == 1
    assert any(f["code"] == "voters_total_wrong" for f in findings)


def test_unknown_site_and_area(solved, cli) -> None:
    scenario, plan = solved

    def edit(rows):
        rows[0]["site_id"] = "S99"
    _edit_areas(plan, edit)
    _set_area(plan, "U0000", "KV77")
    code, findings = _findings(cli, scenario, plan)
    assert code == 1
    assert any(f["code"] == "unknown_site" and f["feature_id"] == "KV01" for f in findings)
    assert any(f["code"] == "unknown_area" and f["feature_id"] == "KV77" for f in findings)


def _add_facility(scenario: Path, kind: str, voters: int, separate=None) -> None:
    from communes import cell_point, lonlat
    from shapely.geometry import mapping

    props = {"facility_id": "F01", "name": "Cơ sở", "kind": kind, "voters": voters}
    if separate is not None:
        props["separate"] = separate
    write_geojson(scenario / "facilities.geojson",
                  [{"type": "Feature", "geometry": mapping(lonlat(cell_point(1, 1, 0.3, 0.3))), "properties": props}])


def test_facility_needs_separate_area_R4(solved, cli) -> None:
    scenario, plan = solved
    _add_facility(scenario, "armed_forces", 150)
    code, findings = _findings(cli, scenario, plan)
    assert code == 1
    assert any(f["code"] == "facility_needs_area" and f["feature_id"] == "F01" and f["rule"] == "R4"
               for f in findings)


def test_small_care_home_may_not_have_area_R4(solved, cli) -> None:
    scenario, plan = solved
    _add_facility(scenario, "elderly_care", 30)

    def edit(rows):
        rows.append({"area_id": "KV99", "site_id": "", "kind": "special", "facility_id": "F01", "voters": "30"})
    _edit_areas(plan, edit)
    code, findings = _findings(cli, scenario, plan)
    assert code == 1
    assert any(f["code"] == "facility_area_not_allowed" and f["rule"] == "R4" for f in findings)


def test_checker_shares_no_code_with_solver() -> None:
    import ast

    source = Path(__file__).parents[1] / "planner" / "checker.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m == "solver" or m.startswith("solver.") for m in imported)

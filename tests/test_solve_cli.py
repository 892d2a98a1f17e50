"""pollplan solve as a user runs it: plan files, exit codes, infeasibility reasons, atomic writes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from communes import GridCommune, cell_point, lonlat, read_geojson, write_geojson
from conftest import basic_commune
from shapely.geometry import mapping


def test_plan_files_follow_the_contract(tmp_path: Path, cli) -> None:
    scenario = basic_commune(facilities=[
        {"row": 1, "col": 1, "facility_id": "F01", "name": "Đơn vị quân đội", "kind": "armed_forces", "voters": 90},
        {"row": 0, "col": 1, "facility_id": "F02", "name": "Nhà dưỡng lão", "kind": "elderly_care", "voters": 30},
    ]).write(tmp_path / "scenario")
    plan = tmp_path / "plan"
    code, out, err = cli("solve", scenario, "--out", plan, "--time-limit", "5")
    assert code == 0, err
    with open(plan / "assignment.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["unit_id"] for r in rows] == sorted(f["properties"]["unit_id"] for f in
                                                   read_geojson(scenario / "units.geojson")["features"])
    with open(plan / "areas.csv", encoding="utf-8") as handle:
        areas = list(csv.DictReader(handle))
    special = [a for a in areas if a["kind"] == "special"]
    assert [(a["facility_id"], a["voters"], a["site_id"]) for a in special] == [("F01", "90", "")]
    regular = [a for a in areas if a["kind"] == "regular"]
    assert sum(int(a["voters"]) for a in regular) == 12 * 400 + 30  # the small care home counts in its unit
    outlines = read_geojson(plan / "areas.geojson")
    assert len(outlines["features"]) == len(regular)
    props = outlines["features"][0]["properties"]
    assert {"area_id", "site_id", "kind", "voters", "mean_km", "p95_km", "max_km"} <= set(props)
    report = json.loads((plan / "report.json").read_text(encoding="utf-8"))
    assert {r["rule"] for r in report["rules_checked"]} >= {"R1", "R2", "R3", "R4", "R7", "R13"}
    assert report["solver"]["status"] == "optimal" and report["objective"]["gap"] == 0.0
    assert report["solver"]["log"][0].startswith("set partitioning: ")  # how the answer was found
    assert any(w["code"] == "facility_too_small" for w in report["warnings"])
    assert cli("check", scenario, plan)[0] == 0


def test_infeasible_exits_3_naming_the_electoral_unit(tmp_path: Path, cli) -> None:
    scenario = GridCommune(rows=["AAB"], voters={(0, 0): 400, (0, 1): 400, (0, 2): 250},
                           sites=[(0, 0, 2000), (0, 2, 2000)]).write(tmp_path / "scenario")
    plan = tmp_path / "plan"
    code, _, err = cli("solve", scenario, "--out", plan, "--lang", "en")
    assert code == 3
    assert "X-B" in err and "250 voters" in err and "300" in err
    assert not plan.exists()


def test_requested_area_count_out_of_range_exits_3(tmp_path: Path, cli) -> None:
    scenario = basic_commune().write(tmp_path / "scenario")
    code, _, err = cli("solve", scenario, "--out", tmp_path / "plan", "--areas", "40", "--lang", "en")
    assert code == 3 and "Exactly 40 areas is impossible" in err and "at most 6" in err
    code, _, err = cli("solve", scenario, "--out", tmp_path / "plan", "--areas", "2", "--lang", "en")
    assert code == 3 and "at least 4" in err  # three electoral units, one of 2,400 voters with 2,000-seat sites
    assert not (tmp_path / "plan").exists()
    code, _, err = cli("solve", scenario, "--out", tmp_path / "plan", "--pin", "U0000=S05", "--lang", "en")
    assert code == 3 and "X-A" in err and "X-B" in err  # the unit and the site are in different units


def test_existing_plan_is_replaced_and_foreign_folder_refused(tmp_path: Path, cli) -> None:
    scenario = basic_commune().write(tmp_path / "scenario")
    plan = tmp_path / "plan"
    assert cli("solve", scenario, "--out", plan, "--areas", "4", "-q")[0] == 0
    assert cli("solve", scenario, "--out", plan, "--areas", "5", "-q")[0] == 0
    report = json.loads((plan / "report.json").read_text(encoding="utf-8"))
    assert report["totals"]["regular_areas"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan", "scenario"]  # no temporary left behind
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "letter.docx").write_text("keep me", encoding="utf-8")
    code, _, _ = cli("solve", scenario, "--out", precious, "-q")
    assert code == 2
    assert [p.name for p in precious.iterdir()] == ["letter.docx"]


def test_pins_and_existing_plan_from_the_command_line(tmp_path: Path, cli) -> None:
    scenario = basic_commune().write(tmp_path / "scenario")
    first = tmp_path / "first"
    assert cli("solve", scenario, "--out", first, "--areas", "4", "-q")[0] == 0
    second = tmp_path / "second"
    code, _, err = cli("solve", scenario, "--out", second, "--areas", "5", "--existing", first, "-q")
    assert code == 0, err
    report = json.loads((second / "report.json").read_text(encoding="utf-8"))
    assert report["parameters"]["units_moved_from_existing"] is not None
    pinned = tmp_path / "pinned"
    code, _, err = cli("solve", scenario, "--out", pinned, "--pin", "U0001=S06", "-q")
    assert code == 0, err
    with open(pinned / "areas.csv", encoding="utf-8") as handle:
        area_of_site = {r["site_id"]: r["area_id"] for r in csv.DictReader(handle)}
    with open(pinned / "assignment.csv", encoding="utf-8") as handle:
        assignment = {r["unit_id"]: r["area_id"] for r in csv.DictReader(handle)}
    assert assignment["U0001"] == area_of_site["S06"]
    code, _, err = cli("solve", scenario, "--out", tmp_path / "bad", "--pin", "U0001=S99", "-q", "--lang", "en")
    assert code == 2 and "S99" in err


def test_tradeoff_prints_and_saves_the_curve(tmp_path: Path, cli) -> None:
    scenario = basic_commune().write(tmp_path / "scenario")
    target = tmp_path / "curve.csv"
    code, out, err = cli("tradeoff", scenario, "--out", target, "--time-limit", "3")
    assert code == 0, err
    with open(target, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    counts = [int(r["areas"]) for r in rows]
    assert counts == list(range(counts[0], counts[-1] + 1)) and len(counts) >= 2
    means = [float(r["mean_km"]) for r in rows]
    assert all(a >= b - 1e-9 for a, b in zip(means, means[1:]))  # more areas never lengthen the optimum
    assert json.loads(target.with_suffix(".json").read_text(encoding="utf-8"))["curve"]


def test_units_given_as_points(tmp_path: Path, cli) -> None:
    """Point units get Voronoi cells for adjacency and outlines."""
    scenario = basic_commune().write(tmp_path / "scenario")
    doc = read_geojson(scenario / "units.geojson")
    for feature in doc["features"]:
        r, c = int(feature["properties"]["unit_id"][1:3]), int(feature["properties"]["unit_id"][3:5])
        feature["geometry"] = mapping(lonlat(cell_point(r, c, 0.45, 0.45)))
    write_geojson(scenario / "units.geojson", doc["features"])
    code, _, err = cli("solve", scenario, "--out", tmp_path / "plan", "--time-limit", "5", "-q")
    assert code == 0, err
    assert cli("check", scenario, tmp_path / "plan")[0] == 0


def test_deadline_warning_R6(tmp_path: Path) -> None:
    import datetime as dt

    from planner.pipeline import SolveOptions, plan_scenario
    from planner.validation import load_scenario

    scenario = load_scenario(basic_commune().write(tmp_path / "scenario"))
    late = plan_scenario(scenario, SolveOptions(time_limit=5, today=dt.date(2026, 2, 1)))
    early = plan_scenario(scenario, SolveOptions(time_limit=5, today=dt.date(2026, 1, 31)))
    assert any(w.code == "deadline_passed" and w.rule == "R6" for w in late.warnings)
    assert not any(w.code == "deadline_passed" for w in early.warnings)


def test_progress_stages_read_in_vietnamese_with_english_available() -> None:
    # `pollplan solve` and the app print the solver's progress stages in the user's language
    from planner.messages import STAGES, stage_label

    assert stage_label("search", "vi") == "tìm phương án tối ưu, thời gian đã dùng"
    assert stage_label("search", "en") == "searching for the optimum, time used"
    assert {"construction", "optimisation", "search"} <= set(STAGES)
    assert all(stage_label(stage, "vi") != stage_label(stage, "en") for stage in STAGES)
    assert stage_label("listing", "vi") == "listing"  # a stage not in the catalogue keeps its name


def test_a_plan_beyond_the_travel_bound_is_reported_as_not_valid(tmp_path: Path, cli) -> None:
    # On the demo commune every village has a site within 3 km, but the construction alone finds no
    # plan keeping every voter within 3 km (the full solver proves none exists): its plan is written
    # with the status timeout and a warning naming the farthest village, never as valid
    import shutil

    from pollplan_data import DEMO_DIR

    scenario, plan = tmp_path / "demo", tmp_path / "plan"
    shutil.copytree(DEMO_DIR, scenario, ignore=shutil.ignore_patterns("_*"))
    code, out, err = cli("solve", scenario, "--out", plan, "--method", "construction", "--max-travel-km", "3")
    assert code == 0, err
    report = json.loads((plan / "report.json").read_text(encoding="utf-8"))
    assert report["solver"]["status"] == "timeout"
    missed = [w for w in report["warnings"] if w["code"] == "travel_bound_missed"]
    assert len(missed) == 1 and missed[0]["feature_id"]
    assert report["totals"]["max_km"] > 3.0
    assert "hết thời gian" in out and "3.0 km" in out + err
    code, out, err = cli("solve", scenario, "--out", tmp_path / "full", "--max-travel-km", "3", "--time-limit", "120")
    assert code != 0 and not (tmp_path / "full").exists()

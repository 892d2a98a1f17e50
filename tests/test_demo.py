"""The demo commune and generated communes of every kind: solve, then the checker finds them valid."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from planner.checker import check_plan
from planner.findings import errors_of
from planner.pipeline import SolveOptions, plan_scenario
from planner.plan import read_plan, write_plan
from planner.validation import load_scenario
from pollplan_data import DEMO_DIR
from pollplan_data.generator import generate_commune


def test_pollplan_demo_writes_a_valid_plan_and_a_summary(tmp_path: Path, cli) -> None:
    out = tmp_path / "demo-plan"
    code, stdout, stderr = cli("demo", "--out", out, "--time-limit", "20")
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} == {"assignment.csv", "areas.csv", "areas.geojson", "report.json"}
    assert "KV01" in stdout and "Nhà văn hóa" in stdout  # the printed table of areas and sites
    code, stdout, _ = cli("check", DEMO_DIR, out)
    assert code == 0, stdout
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["solver"]["status"] in ("optimal", "feasible")
    assert report["objective"]["lower_bound"] is not None and report["objective"]["gap"] is not None
    assert report["totals"]["special_areas"] == 3  # hospital, armed forces, detention; the care home folds in


def test_demo_counts_agree_with_its_registry() -> None:
    scenario = load_scenario(DEMO_DIR)
    assert not [f for f in scenario.findings if f.code == "voters_disagree"]
    assert len(scenario.units) >= 40
    assert len(set(scenario.units["eu_commune"])) >= 4
    assert set(scenario.links["kind"]) >= {"bridge", "ferry"}
    assert {"hospital", "armed_forces", "detention"} <= set(scenario.facilities["kind"])
    small = scenario.facilities[scenario.facilities["voters"] < 50]
    assert len(small) >= 1 and not small["separate"].any()


@pytest.mark.parametrize("kind", ["rural", "urban", "mountain"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_communes_solve_valid(tmp_path: Path, kind: str, seed: int) -> None:
    folder = generate_commune(tmp_path / "commune", kind=kind, seed=seed)
    scenario = load_scenario(folder)
    outcome = plan_scenario(scenario, SolveOptions(time_limit=10, seed=seed))
    write_plan(outcome.plan, outcome.outlines, tmp_path / "plan")
    files, findings = read_plan(tmp_path / "plan")
    assert files is not None and not findings
    assert errors_of(check_plan(scenario, files)) == []
    assert outcome.result.status in ("optimal", "feasible")


def test_generated_commune_with_fixed_area_count(tmp_path: Path, cli) -> None:
    folder = generate_commune(tmp_path / "commune", kind="rural", seed=5)
    code, _, err = cli("solve", folder, "--out", tmp_path / "plan", "--areas", "13", "--time-limit", "15")
    assert code == 0, err
    report = json.loads((tmp_path / "plan" / "report.json").read_text(encoding="utf-8"))
    assert report["totals"]["regular_areas"] == 13
    assert cli("check", folder, tmp_path / "plan")[0] == 0


def test_generator_is_deterministic(tmp_path: Path) -> None:
    a = generate_commune(tmp_path / "a", kind="urban", seed=7)
    b = generate_commune(tmp_path / "b", kind="urban", seed=7)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert match == names and not mismatch and not errors


def test_unit_voters_counted_from_registry_when_absent(tmp_path: Path, cli) -> None:
    import shutil

    folder = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, folder)
    declared = load_scenario(DEMO_DIR).units["voters"].astype(int)
    doc = json.loads((folder / "units.geojson").read_text(encoding="utf-8"))
    for feature in doc["features"]:
        del feature["properties"]["voters"]
    doc["features"][0]["properties"]["voters"] = int(declared.iloc[0]) + 5  # one declared, and wrong
    (folder / "units.geojson").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    scenario = load_scenario(folder)
    first = scenario.units.index[0]
    counted = scenario.units["voters"].astype(int)
    assert counted.drop(first).equals(declared.drop(first))
    disagree = [f for f in scenario.findings if f.code == "voters_disagree"]
    assert [f.feature_id for f in disagree] == [first]
    assert disagree[0].params["counted"] == int(declared.iloc[0])

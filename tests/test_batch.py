"""pollplan batch on a local Dask cluster: one broken commune, the rest planned and valid, reruns resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pollplan_data.province import generate_province


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("province")
    folders = generate_province(root / "input", communes=4, seed=3)
    (folders[1] / "units.geojson").write_text("{broken", encoding="utf-8")  # one commune with bad data
    return root


def test_batch_plans_the_rest_reports_the_broken_one_and_resumes(province: Path, cli) -> None:
    from planner.checker import check_plan
    from planner.findings import errors_of
    from planner.plan import read_plan
    from planner.validation import load_scenario

    out = province / "plans"
    code, stdout, _ = cli("batch", province / "input", "--out", out, "--workers", "2", "--time-limit", "5")
    assert code == 1  # not every commune could be planned
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    by_folder = {r["scenario"]: r for r in summary["communes_detail"]}
    broken = sorted(by_folder)[1]
    assert by_folder[broken]["status"] == "invalid" and "units.geojson" in by_folder[broken]["errors"][0]
    for name, row in by_folder.items():
        if name == broken:
            continue
        assert row["status"] == "planned"
        scenario = load_scenario(province / "input" / name)
        files, _ = read_plan(out / name)
        assert errors_of(check_plan(scenario, files)) == []
    assert summary["totals"]["areas"] == sum(r["areas"] for r in summary["communes_detail"] if r["areas"])
    assert (out / "summary.xlsx").exists()
    # a rerun skips the finished communes
    code, _, _ = cli("batch", province / "input", "--out", out, "--workers", "1", "--time-limit", "5")
    again = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    statuses = {r["scenario"]: r["status"] for r in again["communes_detail"]}
    assert statuses[broken] == "invalid"
    assert {s for n, s in statuses.items() if n != broken} == {"skipped"}


def test_summary_workbook_has_vietnamese_headers(province: Path) -> None:
    import openpyxl

    book = openpyxl.load_workbook(province / "plans" / "summary.xlsx")
    assert book.sheetnames == ["Các xã", "Tổng hợp"]
    assert [c.value for c in next(book["Các xã"].iter_rows())][:4] == ["Thư mục", "Mã xã", "Tên xã", "Kết quả"]


def test_province_geopackage_input(tmp_path: Path, cli) -> None:
    """A province as one GeoPackage whose layers carry commune_code."""
    import geopandas as gpd
    import pandas as pd

    folders = generate_province(tmp_path / "communes", communes=2, seed=5)
    package = tmp_path / "province.gpkg"
    for layer in ("units", "sites"):
        parts = []
        for folder in folders:
            frame = gpd.read_file(folder / f"{layer}.geojson")
            code = (folder / "scenario.toml").read_text(encoding="utf-8").split('commune_code = "')[1][:5]
            frame["commune_code"] = code
            parts.append(frame)
        gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326).to_file(package, layer=layer, driver="GPKG")
    code, _, err = cli("batch", package, "--out", tmp_path / "plans", "--workers", "1", "--time-limit", "5")
    summary = json.loads((tmp_path / "plans" / "summary.json").read_text(encoding="utf-8"))
    assert [r["status"] for r in summary["communes_detail"]] == ["planned", "planned"], summary
    assert code == 0, err


def test_a_plan_cut_short_by_the_time_limit_is_planned_again(tmp_path: Path) -> None:
    # A plan the solver returned with the status timeout (left beyond the travel bound) passes
    # the checker, which knows no travel bound: a rerun must still plan that commune again
    from conftest import basic_commune

    from planner.batch import plan_is_done
    from planner.pipeline import SolveOptions, plan_scenario
    from planner.plan import write_plan
    from planner.validation import load_scenario

    scenario = basic_commune().write(tmp_path / "scenario")
    outcome = plan_scenario(load_scenario(scenario), SolveOptions(time_limit=5))
    write_plan(outcome.plan, outcome.outlines, tmp_path / "plan")
    assert plan_is_done(scenario, tmp_path / "plan")
    report = json.loads((tmp_path / "plan" / "report.json").read_text(encoding="utf-8"))
    report["solver"]["status"] = "timeout"
    (tmp_path / "plan" / "report.json").write_text(json.dumps(report), encoding="utf-8")
    assert not plan_is_done(scenario, tmp_path / "plan")

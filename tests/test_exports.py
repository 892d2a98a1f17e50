"""Every export of an approved plan, opened back with the tool a user would use, field by field."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from pollplan_data import DEMO_DIR

HOSTILE = '=HYPERLINK("http://x","bấm")'


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict:
    from typer.testing import CliRunner

    from planner.cli import app

    root = tmp_path_factory.mktemp("exports")
    scenario = root / "demo"
    shutil.copytree(DEMO_DIR, scenario, ignore=shutil.ignore_patterns("_*"))
    doc = json.loads((scenario / "units.geojson").read_text(encoding="utf-8"))
    doc["features"][0]["properties"]["name"] = HOSTILE  # a name a spreadsheet would execute
    (scenario / "units.geojson").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == 0, result.stdout + result.stderr
        return result.stdout

    run("solve", scenario, "--out", root / "plan", "--time-limit", "20", "-q", "--author", "Nguyễn Văn Lập")
    run("propose", scenario, "1", "--by", "Nguyễn Văn Lập")
    run("approve", scenario, "1", "--by", "Chủ tịch Trần Văn Duyệt", "--comment", "Đồng ý")
    run("export", scenario, "--version", "1", "--out", root / "export")
    listing = run("plans", scenario, "--lang", "en")
    return {"root": root, "scenario": scenario, "out": root / "export", "plan": root / "plan", "run": run,
            "listing": listing}


def _plan_areas(plan: Path) -> list[dict]:
    with open(plan / "areas.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _regular_public(plan: Path) -> list[dict]:
    return [a for a in _plan_areas(plan) if a["kind"] == "regular"]


def test_version_is_exported_after_export(exported) -> None:
    from planner.store import PlanStore, default_url

    store = PlanStore(default_url(exported["scenario"]))
    code = json.loads((exported["plan"] / "report.json").read_text(encoding="utf-8"))["scenario"]["commune_code"]
    version = store.version(code, 1)
    assert version.state == "exported" and version.author == "Nguyễn Văn Lập"
    actions = [e["action"] for e in store.audit_log(code)]
    assert actions == ["save", "proposed", "approved", "exported"]
    store.close()


@pytest.mark.parametrize("name,reader", [("khu-vuc-bo-phieu.gpkg", None), ("khu-vuc-bo-phieu.geojson", None),
                                         ("khu-vuc-bo-phieu-shp.zip", "zip"), ("khu-vuc-bo-phieu.kml", "kml")])
def test_gis_layers(exported, name: str, reader: str | None) -> None:
    import geopandas as gpd

    path = exported["out"] / name
    frame = gpd.read_file(f"zip://{path}" if reader == "zip" else path)
    regular = _regular_public(exported["plan"])
    assert len(frame) == len(regular)
    assert frame.crs is not None and frame.crs.to_epsg() == 4326
    assert frame.geometry.is_valid.all() and (frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])).all()
    if reader == "kml":
        assert set(frame["Name"]) and all("Thôn" in n or "Xóm" in n or "HYPERLINK" in n for n in frame["Name"])
        return
    if reader == "zip":
        import zipfile

        with zipfile.ZipFile(path) as archive:
            assert archive.read("khu_vuc.cpg").decode() == "UTF-8"
        assert all(len(c) <= 10 for c in frame.columns)
        assert {"area_no", "site_name", "unit_names"} <= set(frame.columns)
    expected = {a["area_id"]: int(a["voters"]) for a in regular}
    assert dict(zip(frame["area_id"], frame["voters"].astype(int))) == expected
    names = " ".join(frame["unit_names"] if "unit_names" in frame else frame["name"])
    assert "Thôn" in names and "ồ" in names or "ơ" in names  # Vietnamese survives the format


def test_armed_forces_area_kept_out_of_public_exports_R23(exported) -> None:
    import openpyxl
    from docx import Document

    areas = _plan_areas(exported["plan"])
    confidential = [a for a in areas if a["facility_id"] == "F02"]  # the demo's armed-forces unit
    assert confidential
    hidden = confidential[0]["area_id"]
    book = openpyxl.load_workbook(exported["out"] / "khu-vuc-bo-phieu.xlsx")
    assert hidden not in [c.value for row in book["Khu vực"].iter_rows() for c in row]
    document = Document(exported["out"] / "phu-luc-khu-vuc-bo-phieu.docx")
    text = "\n".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)
    assert "quân" not in text.lower() and "Bệnh viện" in text


def test_xlsx_workbook_sheets_headers_and_no_formulas(exported) -> None:
    import openpyxl

    book = openpyxl.load_workbook(exported["out"] / "khu-vuc-bo-phieu.xlsx")
    assert book.sheetnames == ["Khu vực", "Thôn - khu vực", "Điểm bỏ phiếu", "Kiểm tra quy định"]
    header = [c.value for c in next(book["Khu vực"].iter_rows())]
    assert header[:3] == ["Số khu vực", "Mã khu vực", "Tên khu vực"]
    cells = [c for row in book["Thôn - khu vực"].iter_rows() for c in row if c.value == HOSTILE]
    assert cells and all(c.data_type == "s" for c in cells)
    rows = list(book["Khu vực"].iter_rows(values_only=True))[1:]
    regular = {a["area_id"]: int(a["voters"]) for a in _regular_public(exported["plan"])}
    assert {r[1]: r[6] for r in rows if r[3] == "regular"} == regular
    checks = list(book["Kiểm tra quy định"].iter_rows(values_only=True))
    assert checks[1][1] in ("ok", "warning") and not any(r[1] == "error" for r in checks[1:])


def test_csv_is_safe_against_formula_injection(exported) -> None:
    with open(exported["out"] / "thon-khu-vuc.csv", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Mã thôn/tổ", "Tên thôn/tổ", "Mã khu vực", "Số cử tri"]
    assert any(r[1] == "'" + HOSTILE for r in rows)
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


def test_decision_annex_docx_and_pdf(exported) -> None:
    from docx import Document
    from pypdf import PdfReader

    document = Document(exported["out"] / "phu-luc-khu-vuc-bo-phieu.docx")
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["Số", "Khu vực bỏ phiếu", "Thôn, tổ dân phố", "Điểm bỏ phiếu",
                                                     "Số cử tri"]
    public = [a for a in _plan_areas(exported["plan"]) if a["facility_id"] != "F02"]
    assert len(table.rows) - 1 == len(public)
    assert "PHỤ LỤC" in document.paragraphs[1].text
    text = "".join(page.extract_text() for page in PdfReader(exported["out"] / "phu-luc-khu-vuc-bo-phieu.pdf").pages)
    assert "PHỤ LỤC: DANH SÁCH KHU VỰC BỎ PHIẾU" in text and "Nhà văn hóa" in text


def test_interchange_schema_ids_checksum_and_round_trip(exported) -> None:
    import jsonschema

    from planner.exports import SCHEMA_PATH, interchange_checksum

    body = json.loads((exported["out"] / "interchange.json").read_text(encoding="utf-8"))
    jsonschema.validate(body, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert body["plan_version"] == 1 and body["checksum"] == interchange_checksum(body)
    code = body["commune_code"]
    assert [a["area_id"] for a in body["areas"]] == [f"{code}-{a['number']:02d}" for a in body["areas"]]
    assert sum(a["confidential"] for a in body["areas"]) == 1
    assert sum(a["voters"] for a in body["areas"]) == sum(int(a["voters"]) for a in _plan_areas(exported["plan"]))
    tampered = {**body, "areas": body["areas"][1:]}
    assert interchange_checksum(tampered) != body["checksum"]
    # round trip: the exported plan is the existing plan of a re-plan
    again = exported["root"] / "replan"
    exported["run"]("solve", exported["scenario"], "--out", again, "--existing", exported["out"] / "interchange.json",
                    "--keep-weight", "100000", "-q", "--no-store")
    report = json.loads((again / "report.json").read_text(encoding="utf-8"))
    assert report["parameters"]["units_moved_from_existing"] == 0

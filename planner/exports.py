"""Exports of a plan: GIS layers, spreadsheets, the commune's decision annex, and the interchange file.

Every export is built from one table of areas (:func:`area_table`), computed from the scenario
and the plan's assignment, so the formats cannot disagree. Armed-forces areas (R23) appear in no
public export (GIS, spreadsheets, annex); the interchange file for the voter-list system carries
them, flagged confidential. Text cells never become formulas: XLSX cells are written as strings
and CSV cells starting with ``=``, ``+``, ``-`` or ``@`` are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import geopandas as gpd
import pandas as pd

from geo.projection import WGS84
from planner.atomic import folder_in_place
from planner.checker import check_plan
from planner.plan import PlanFiles
from planner.scenario import Scenario

FORMATS = ("gpkg", "shp", "geojson", "kml", "xlsx", "csv", "docx", "pdf", "json")
SCHEMA_PATH = Path(__file__).parent / "schemas" / "interchange.schema.json"
SCHEMA_ID = "pollplan-interchange/1"
#: Shapefile field names (at most 10 characters) for the area columns.
SHP_FIELDS = {"number": "area_no", "area_id": "area_id", "name": "name", "site_id": "site_id",
              "site_name": "site_name", "voters": "voters", "units": "units", "unit_names": "unit_names"}
AREA_HEADERS_VI = {"number": "Số khu vực", "area_id": "Mã khu vực", "name": "Tên khu vực", "site_id": "Mã điểm",
                   "site_name": "Điểm bỏ phiếu", "voters": "Số cử tri", "units": "Mã thôn/tổ",
                   "unit_names": "Các thôn, tổ dân phố", "kind": "Loại"}


@dataclass(frozen=True)
class ExportContext:
    scenario: Scenario
    plan: PlanFiles
    version: int | None = None


def area_table(context: ExportContext, *, public: bool) -> gpd.GeoDataFrame:
    """One row per area: number, name, site, voters, units, outline (WGS 84)."""
    from planner.pipeline import unit_cells
    from geo.dissolve import dissolve

    scenario, plan = context.scenario, context.plan
    units, sites, facilities = scenario.units, scenario.sites, scenario.facilities
    load = scenario.unit_load()
    members: dict[str, list[str]] = {}
    for unit_id, area_id in zip(plan.assignment["unit_id"], plan.assignment["area_id"]):
        members.setdefault(area_id, []).append(unit_id)
    cells = unit_cells(scenario)
    outlines = dissolve(cells, {a: sorted(m) for a, m in members.items()})
    rows = []
    for area in plan.areas.itertuples(index=False):
        unit_list = sorted(members.get(area.area_id, []))
        number = int("".join(ch for ch in area.area_id if ch.isdigit()) or 0)
        if area.kind == "special":
            facility = facilities.loc[area.facility_id] if area.facility_id in facilities.index else None
            if public and facility is not None and facility["kind"] == "armed_forces":
                continue  # confidential (R23)
            name = str(facility["name"]) if facility is not None else area.facility_id
            geometry = facility.geometry if facility is not None else None
            voters = int(facility["voters"]) if facility is not None else 0
        else:
            name = ", ".join(str(units.at[u, "name"]) for u in unit_list)
            geometry = outlines.get(area.area_id)
            voters = int(load.loc[unit_list].sum())
        site_name = str(sites.at[area.site_id, "name"]) if area.site_id in sites.index else ""
        rows.append({"number": number, "area_id": area.area_id, "kind": area.kind, "name": name,
                     "site_id": area.site_id, "site_name": site_name, "facility_id": area.facility_id,
                     "voters": voters, "units": ", ".join(unit_list),
                     "unit_names": ", ".join(str(units.at[u, "name"]) for u in unit_list), "geometry": geometry})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=scenario.crs)
    return frame.to_crs(WGS84)


def _safe(value: Any) -> Any:
    """CSV cell that a spreadsheet will not execute."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def write_gis(context: ExportContext, folder: Path) -> list[Path]:
    table = area_table(context, public=True)
    regular = table[table["kind"] == "regular"].drop(columns=["kind", "facility_id"])
    out = []
    gpkg = folder / "khu-vuc-bo-phieu.gpkg"
    regular.to_file(gpkg, layer="areas", driver="GPKG", engine="pyogrio")
    out.append(gpkg)
    geojson = folder / "khu-vuc-bo-phieu.geojson"
    regular.to_file(geojson, driver="GeoJSON", engine="pyogrio")
    out.append(geojson)
    kml = folder / "khu-vuc-bo-phieu.kml"
    regular.rename(columns={"name": "Name", "site_name": "Description"}).to_file(kml, driver="KML", engine="pyogrio",
                                                                                 layer="khu_vuc_bo_phieu")
    out.append(kml)
    shp_dir = folder / "_shp"
    shp_dir.mkdir()
    regular.rename(columns=SHP_FIELDS).to_file(shp_dir / "khu_vuc.shp", driver="ESRI Shapefile", engine="pyogrio",
                                                 layer_options={"ENCODING": "UTF-8"})
    (shp_dir / "khu_vuc.cpg").write_text("UTF-8", encoding="ascii")
    archive = folder / "khu-vuc-bo-phieu-shp.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for part in sorted(shp_dir.iterdir()):
            handle.write(part, part.name)
    shutil.rmtree(shp_dir)
    out.append(archive)
    return out


def write_spreadsheets(context: ExportContext, folder: Path, formats: tuple[str, ...]) -> list[Path]:
    import xlsxwriter

    scenario, plan = context.scenario, context.plan
    table = area_table(context, public=True).drop(columns="geometry")
    public_areas = set(table["area_id"])
    assignment = plan.assignment[plan.assignment["area_id"].isin(public_areas)]
    units = pd.DataFrame({"unit_id": assignment["unit_id"], "name": [scenario.units.at[u, "name"] for u in assignment["unit_id"]],
                          "area_id": assignment["area_id"],
                          "voters": [int(scenario.unit_load().loc[u]) for u in assignment["unit_id"]]})
    used = set(table["site_id"]) - {""}
    sites = pd.DataFrame([{"site_id": s, "name": r["name"], "kind": r["kind"], "capacity": int(r["capacity"]),
                           "unit_id": r["unit_id"], "used": s in used} for s, r in scenario.sites.iterrows()])
    checks = [f for f in check_plan(scenario, plan)]
    check_rows = pd.DataFrame([{"rule": f.rule, "severity": f.severity, "area": f.feature_id, "message": f.message("vi")}
                               for f in checks], columns=["rule", "severity", "area", "message"])
    if check_rows.empty:
        check_rows = pd.DataFrame([{"rule": "", "severity": "ok", "area": "",
                                    "message": "Phương án đáp ứng mọi quy định đã kiểm tra"}])
    sheets = {
        "Khu vực": (table[["number", "area_id", "name", "kind", "site_id", "site_name", "voters", "unit_names"]],
                    [AREA_HEADERS_VI[c] for c in ("number", "area_id", "name", "kind", "site_id", "site_name",
                                                  "voters", "unit_names")]),
        "Thôn - khu vực": (units, ["Mã thôn/tổ", "Tên thôn/tổ", "Mã khu vực", "Số cử tri"]),
        "Điểm bỏ phiếu": (sites, ["Mã điểm", "Tên điểm", "Loại", "Sức chứa", "Nằm ở thôn/tổ", "Được dùng"]),
        "Kiểm tra quy định": (check_rows, ["Quy định", "Mức độ", "Khu vực", "Nội dung"]),
    }
    out = []
    if "xlsx" in formats:
        path = folder / "khu-vuc-bo-phieu.xlsx"
        book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                               "strings_to_urls": False})
        bold = book.add_format({"bold": True})
        for title, (frame, headers) in sheets.items():
            sheet = book.add_worksheet(title)
            for c, header in enumerate(headers):
                sheet.write_string(0, c, header, bold)
            for r, record in enumerate(frame.itertuples(index=False), start=1):
                for c, value in enumerate(record):
                    if isinstance(value, bool):
                        sheet.write_string(r, c, "có" if value else "không")
                    elif isinstance(value, (int, float)) and not pd.isna(value):
                        sheet.write_number(r, c, value)
                    else:
                        sheet.write_string(r, c, "" if value is None else str(value))
            sheet.set_column(0, len(headers) - 1, 18)
        book.close()
        out.append(path)
    if "csv" in formats:
        for name, (frame, headers) in (("khu-vuc.csv", sheets["Khu vực"]), ("thon-khu-vuc.csv", sheets["Thôn - khu vực"])):
            path = folder / name
            with open(path, "w", encoding="utf-8-sig", newline="") as handle:  # BOM: Excel opens it as UTF-8
                writer = csv.writer(handle, lineterminator="\r\n")
                writer.writerow(headers)
                for record in frame.itertuples(index=False):
                    writer.writerow([_safe(v) for v in record])
            out.append(path)
    return out


def _annex_rows(context: ExportContext) -> list[list[str]]:
    table = area_table(context, public=True)
    rows = []
    for r in table.sort_values("number").itertuples(index=False):
        place = r.site_name if r.site_name else "Tại cơ sở"
        rows.append([str(r.number), r.name if r.kind == "special" else f"Khu vực bỏ phiếu số {r.number}",
                     r.unit_names or r.name, place, f"{int(r.voters):,}".replace(",", ".")])
    return rows


ANNEX_HEADERS = ["Số", "Khu vực bỏ phiếu", "Thôn, tổ dân phố", "Điểm bỏ phiếu", "Số cử tri"]


def _annex_title(context: ExportContext) -> list[str]:
    scenario = context.scenario
    return [f"ỦY BAN NHÂN DÂN {scenario.config.name.upper()}",
            "PHỤ LỤC: DANH SÁCH KHU VỰC BỎ PHIẾU VÀ ĐIỂM BỎ PHIẾU",
            "Bầu cử đại biểu Quốc hội khóa XVI và đại biểu Hội đồng nhân dân các cấp nhiệm kỳ 2026-2031",
            f"(Kèm theo Quyết định của Ủy ban nhân dân {scenario.config.name}; phương án phiên bản "
            f"{context.version if context.version is not None else '-'})"]


def write_annex_docx(context: ExportContext, path: Path) -> Path:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for k, line in enumerate(_annex_title(context)):
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = paragraph.add_run(line)
        run.bold = k < 2
        run.font.size = Pt(13 if k == 1 else 11)
    table = document.add_table(rows=1, cols=len(ANNEX_HEADERS))
    table.style = "Table Grid"
    for cell, header in zip(table.rows[0].cells, ANNEX_HEADERS):
        cell.text = header
        cell.paragraphs[0].runs[0].bold = True
    for row in _annex_rows(context):
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = value
    total = sum(int(r[4].replace(".", "")) for r in _annex_rows(context))
    document.add_paragraph(f"Tổng số: {len(_annex_rows(context))} khu vực bỏ phiếu, {total:,} cử tri."
                           .replace(",", "."))
    document.save(path)
    return path


def write_annex_pdf(context: ExportContext, path: Path) -> Path:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from planner.documents import _FONT, _FONT_BOLD, _register_fonts

    _register_fonts()
    centre = ParagraphStyle("c", fontName=_FONT, fontSize=10, leading=13, alignment=1)
    bold = ParagraphStyle("b", parent=centre, fontName=_FONT_BOLD, fontSize=12, leading=15)
    cell = ParagraphStyle("cell", fontName=_FONT, fontSize=9, leading=11)
    head = ParagraphStyle("head", parent=cell, fontName=_FONT_BOLD)
    story: list[Any] = [Paragraph(line, bold if k < 2 else centre) for k, line in enumerate(_annex_title(context))]
    story.append(Spacer(1, 5 * mm))
    data = [[Paragraph(h, head) for h in ANNEX_HEADERS]]
    data += [[Paragraph(v, cell) for v in row] for row in _annex_rows(context)]
    table = Table(data, colWidths=[12 * mm, 50 * mm, 110 * mm, 70 * mm, 25 * mm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(table)
    SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                      bottomMargin=12 * mm, title="Phụ lục khu vực bỏ phiếu").build(story)
    return path


def interchange(context: ExportContext) -> dict[str, Any]:
    """The file for the voter-list system: stable area ids (commune code + area number), checksummed."""
    scenario = context.scenario
    table = area_table(context, public=False)
    sites = scenario.sites.to_crs(WGS84)
    facilities = scenario.facilities
    areas = []
    for r in table.sort_values("number").itertuples(index=False):
        site = None
        if r.site_id and r.site_id in sites.index:
            point = sites.at[r.site_id, "geometry"]
            site = {"site_id": r.site_id, "name": r.site_name, "kind": str(sites.at[r.site_id, "kind"]),
                    "lon": round(point.x, 6), "lat": round(point.y, 6)}
        confidential = r.kind == "special" and r.facility_id in facilities.index and \
            facilities.at[r.facility_id, "kind"] == "armed_forces"
        areas.append({"area_id": f"{scenario.config.commune_code}-{r.number:02d}", "number": int(r.number),
                      "kind": r.kind, "name": r.name, "units": [u for u in r.units.split(", ") if u],
                      "site": site, "facility_id": r.facility_id or None, "voters": int(r.voters),
                      "confidential": bool(confidential)})
    body = {"schema": SCHEMA_ID, "commune_code": scenario.config.commune_code, "commune_name": scenario.config.name,
            "election_date": scenario.params.election_date.isoformat(), "plan_version": context.version,
            "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "areas": areas}
    body["checksum"] = interchange_checksum(body)
    return body


def interchange_checksum(body: Mapping[str, Any]) -> str:
    """SHA-256 over the commune code, plan version and areas in canonical JSON."""
    canonical = json.dumps({"commune_code": body["commune_code"], "plan_version": body["plan_version"],
                            "areas": body["areas"]}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_interchange(path: Path) -> dict[str, str]:
    """Unit -> polling site of an interchange file: an exported plan as the existing plan."""
    body = json.loads(Path(path).read_text(encoding="utf-8"))
    if body.get("schema") != SCHEMA_ID or interchange_checksum(body) != body.get("checksum"):
        raise ValueError(f"{path} is not an intact {SCHEMA_ID} file (schema or checksum)")
    return {u: a["site"]["site_id"] for a in body["areas"] if a["site"] for u in a["units"]}


def export_plan(context: ExportContext, out: Path, formats: tuple[str, ...] = FORMATS,
                on_progress: Callable[[str, float], None] | None = None) -> list[Path]:
    """Write the chosen formats into ``out`` atomically; returns the files written."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format(s) {', '.join(unknown)}; expected {', '.join(FORMATS)}")
    out = Path(out)
    written: list[Path] = []
    with folder_in_place(out) as tmp:
        if {"gpkg", "shp", "geojson", "kml"} & set(formats):
            files = write_gis(context, tmp)
            keep = {"gpkg": ".gpkg", "geojson": ".geojson", "kml": ".kml", "shp": "-shp.zip"}
            for path in files:
                if any(path.name.endswith(keep[f]) for f in formats if f in keep):
                    written.append(path)
                else:
                    path.unlink()
        if {"xlsx", "csv"} & set(formats):
            written += write_spreadsheets(context, tmp, formats)
        if "docx" in formats:
            written.append(write_annex_docx(context, tmp / "phu-luc-khu-vuc-bo-phieu.docx"))
        if "pdf" in formats:
            written.append(write_annex_pdf(context, tmp / "phu-luc-khu-vuc-bo-phieu.pdf"))
        if "json" in formats:
            path = tmp / "interchange.json"
            path.write_text(json.dumps(interchange(context), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            written.append(path)
    return [out / p.name for p in written]

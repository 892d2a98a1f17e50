"""Reading the raw layers of a scenario from a folder of files or a GeoPackage.

Nothing here judges the content: it turns each file into a :class:`RawLayer` of plain records
(and geometries for spatial layers) so that validation can name the file, the feature and the
field of every problem. Reading problems (missing files, wrong encoding, broken JSON) are
returned as findings, never raised.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from planner.findings import Finding, error, warning

SPATIAL_LAYERS = ("units", "sites", "facilities", "roads")
TABLE_LAYERS = ("links", "voters")
REQUIRED_LAYERS = ("units", "sites")


@dataclass
class RawLayer:
    """One layer as read: records in file order, geometries parallel to them (spatial layers)."""

    name: str
    file: str
    records: list[dict[str, Any]]
    geometries: list[BaseGeometry | None] = field(default_factory=list)
    geometry_errors: dict[int, str] = field(default_factory=dict)
    crs: str | None = None
    columns: tuple[str, ...] = ()
    derived: bool = False  # made by the engine (sites from OpenStreetMap), not drawn by the user


@dataclass
class RawScenario:
    """Everything read from a scenario path, before validation."""

    path: Path
    config: dict[str, Any] | None
    config_file: str
    layers: dict[str, RawLayer]


def decode_utf8(data: bytes, file: str) -> tuple[str | None, list[Finding]]:
    """Decode UTF-8 with or without BOM; any other encoding is an error naming the line."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [error("not_utf8", file=file, line=line, offset=exc.start)]


def read_scenario(path: Path) -> tuple[RawScenario | None, list[Finding]]:
    """Read a scenario folder, or a GeoPackage with its TOML beside it."""
    path = Path(path)
    if not path.exists():
        return None, [error("scenario_not_found", path=str(path))]
    if path.is_file() and path.suffix.lower() == ".gpkg":
        folder, gpkg = path.parent, path
        config_path = next((p for p in (path.with_suffix(".toml"), folder / "scenario.toml") if p.exists()),
                           folder / "scenario.toml")
    elif path.is_dir():
        folder = path
        packages = sorted(p for p in folder.glob("*.gpkg") if not p.name.startswith("_"))
        gpkg = packages[0] if packages else None
        config_path = folder / "scenario.toml"
    else:
        return None, [error("scenario_not_found", path=str(path))]

    findings: list[Finding] = []
    config = read_config(config_path, findings)
    layers: dict[str, RawLayer] = {}
    gpkg_layers = _read_geopackage(gpkg, findings) if gpkg is not None else {}
    osm_layers = _read_osm_extract(folder, findings)
    for name in SPATIAL_LAYERS + TABLE_LAYERS:
        file_layer = _read_file_layer(folder, name, findings)
        gpkg_layer = gpkg_layers.get(name) or osm_layers.get(name)
        if file_layer is not None and gpkg_layer is not None:
            findings.append(warning("both_sources", file=file_layer.file, layer=name,
                                    file_a=file_layer.file, file_b=gpkg_layer.file))
        layer = file_layer or gpkg_layer
        if layer is not None:
            layers[name] = layer
        elif name in REQUIRED_LAYERS and not any((folder / f"{name}{suffix}").exists()
                                                 for suffix in (".geojson", ".json")):
            findings.append(error("missing_file", file=f"{name}.geojson", name=f"{name}.geojson"))
    return RawScenario(path, config, config_path.name, layers), findings


def _read_osm_extract(folder: Path, findings: list[Finding]) -> dict[str, RawLayer]:
    """Roads, and candidate sites, from an OpenStreetMap extract in the scenario folder."""
    from geo.osm import is_osm_extract, read_osm

    extracts = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("_")
                      and is_osm_extract(p))
    if not extracts:
        return {}
    path = extracts[0]
    try:
        roads, sites = read_osm(path)
    except Exception as exc:  # pyosmium raises RuntimeError for broken files
        findings.append(error("unreadable_file", file=path.name, detail=str(exc)))
        return {}
    layers = {
        "roads": RawLayer(name="roads", file=f"{path.name}#roads", columns=("osm_id", "highway", "speed_kmh", "bridge"),
                          records=[{"road_id": f"way/{r.osm_id}", "highway": r.highway, "speed_kmh": r.speed_kmh,
                                    "bridge": r.bridge} for r in roads],
                          geometries=[r.geometry for r in roads]),
        "sites": RawLayer(name="sites", file=f"{path.name}#sites",
                          columns=("site_id", "name", "capacity", "kind", "osm_id"),
                          records=[{"site_id": f"OSM{k + 1:03d}", "name": s.name, "capacity": s.capacity,
                                    "kind": s.kind, "osm_id": s.osm_id} for k, s in enumerate(sites)],
                          geometries=[s.geometry for s in sites], derived=True),
    }
    return layers


def read_config(path: Path, findings: list[Finding]) -> dict[str, Any] | None:
    if not path.exists():
        findings.append(error("missing_file", file=path.name, name=path.name))
        return None
    text, problems = decode_utf8(path.read_bytes(), path.name)
    findings.extend(problems)
    if text is None:
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        findings.append(error("toml_invalid", file=path.name, detail=str(exc)))
        return None


def _read_file_layer(folder: Path, name: str, findings: list[Finding]) -> RawLayer | None:
    if name in SPATIAL_LAYERS:
        for suffix in (".geojson", ".json"):
            candidate = folder / f"{name}{suffix}"
            if candidate.exists():
                return read_geojson(candidate, name, findings)
        return None
    candidate = folder / f"{name}.csv"
    xlsx = folder / f"{name}.xlsx"
    if candidate.exists():
        if xlsx.exists():
            findings.append(warning("both_sources", file=candidate.name, layer=name, file_a=candidate.name,
                                    file_b=xlsx.name))
        return read_csv(candidate, name, findings)
    if xlsx.exists():
        return read_xlsx(xlsx, name, findings)
    return None


def read_geojson(path: Path, name: str, findings: list[Finding]) -> RawLayer | None:
    """Parse a GeoJSON FeatureCollection keeping each feature's raw properties."""
    text, problems = decode_utf8(path.read_bytes(), path.name)
    findings.extend(problems)
    if text is None:
        return None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        findings.append(error("unreadable_file", file=path.name,
                              detail=f"JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"))
        return None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    elif isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features") or []
    else:
        findings.append(error("unreadable_file", file=path.name,
                              detail="not a GeoJSON FeatureCollection"))
        return None
    layer = RawLayer(name=name, file=path.name, records=[], crs=_geojson_crs(doc))
    for index, feature in enumerate(features):
        props = dict(feature.get("properties") or {}) if isinstance(feature, dict) else {}
        layer.records.append(props)
        geometry_doc = feature.get("geometry") if isinstance(feature, dict) else None
        if geometry_doc is None:
            layer.geometries.append(None)
            continue
        try:
            layer.geometries.append(shape(geometry_doc))
        except Exception as exc:  # shapely raises several types for malformed coordinates
            layer.geometries.append(None)
            layer.geometry_errors[index] = str(exc) or type(exc).__name__
    columns: dict[str, None] = {}
    for record in layer.records:
        columns.update(dict.fromkeys(record))
    layer.columns = tuple(columns)
    return layer


def _geojson_crs(doc: dict[str, Any]) -> str | None:
    crs = doc.get("crs")
    if not isinstance(crs, dict):
        return None
    props = crs.get("properties") or {}
    name = props.get("name") if isinstance(props, dict) else None
    if not isinstance(name, str):
        return None
    if "CRS84" in name.upper():
        return "OGC:CRS84"
    if "EPSG" in name.upper():
        return "EPSG:" + name.replace("::", ":").split(":")[-1]
    return name


def read_csv(path: Path, name: str, findings: list[Finding]) -> RawLayer | None:
    """Read a UTF-8 CSV (BOM allowed) into string records; blank cells become ''."""
    text, problems = decode_utf8(path.read_bytes(), path.name)
    findings.extend(problems)
    if text is None:
        return None
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    if delimiter == ";":  # Excel in Vietnamese settings saves CSV with semicolons
        findings.append(warning("semicolon_csv", file=path.name))
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
        columns = tuple((c or "").strip() for c in (reader.fieldnames or ()))
        records = [
            {(k or "").strip(): (v or "").strip() if isinstance(v, str) else "" for k, v in row.items()
             if k is not None}
            for row in reader
        ]
    except csv.Error as exc:
        findings.append(error("unreadable_file", file=path.name, detail=f"CSV: {exc}"))
        return None
    return RawLayer(name=name, file=path.name, records=records, columns=columns)


def read_xlsx(path: Path, name: str, findings: list[Finding]) -> RawLayer | None:
    """Read the first sheet of an Excel workbook with the same columns as the CSV."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        findings.append(error("unreadable_file", file=path.name, detail=str(exc)))
        return None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None) or ()
    columns = tuple(str(c).strip() if c is not None else "" for c in header)
    records = []
    for row in rows:
        if row is None or all(v is None or str(v).strip() == "" for v in row):
            continue
        records.append({col: _cell_text(value) for col, value in zip(columns, row) if col})
    workbook.close()
    return RawLayer(name=name, file=path.name, records=records, columns=columns)


def _cell_text(value: Any) -> str:
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_geopackage(path: Path, findings: list[Finding]) -> dict[str, RawLayer]:
    import pyogrio

    try:
        available = {str(row[0]) for row in pyogrio.list_layers(path)}
    except Exception as exc:
        findings.append(error("unreadable_file", file=path.name, detail=str(exc)))
        return {}
    layers: dict[str, RawLayer] = {}
    for name in SPATIAL_LAYERS + TABLE_LAYERS:
        if name not in available:
            continue
        label = f"{path.name}#{name}"
        try:
            frame = pyogrio.read_dataframe(path, layer=name, read_geometry=name in SPATIAL_LAYERS)
        except Exception as exc:
            findings.append(error("unreadable_file", file=label, detail=str(exc)))
            continue
        columns = tuple(c for c in frame.columns if c != "geometry")
        records = [
            {c: _gpkg_value(row[c]) for c in columns} for _, row in frame.iterrows()
        ]
        layer = RawLayer(name=name, file=label, records=records, columns=columns)
        if name in SPATIAL_LAYERS:
            layer.geometries = [g if g is not None and not g.is_empty else None for g in frame.geometry]
            layer.crs = frame.crs.to_string() if frame.crs is not None else None
        else:
            layer.records = [{k: "" if v is None else str(v) for k, v in r.items()} for r in records]
        layers[name] = layer
    return layers


def _gpkg_value(value: Any) -> Any:
    import math

    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value

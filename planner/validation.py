"""Validation of a scenario: every problem at once, each naming file, feature and field.

:func:`load_scenario` is the one entry point: it reads, validates and projects a scenario and
either returns a :class:`~planner.scenario.Scenario` (with its warnings) or raises
:class:`~planner.findings.ScenarioError` carrying every error and warning found.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from shapely import STRtree, make_valid
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from shapely.validation import explain_validity

from geo.adjacency import rook_pairs, voronoi_cells
from geo.projection import WGS84, parse_crs, utm_crs
from planner import eligibility
from planner.findings import Finding, ScenarioError, error, errors_of, warning
from planner.rules import FACILITY_KINDS, LawParameters, facility_is_separate
from planner.scenario import Objective, Scenario, ScenarioConfig, TravelConfig
from planner.sources import RawLayer, RawScenario, read_scenario

#: A feature further than this from the commune's centre, and far beyond the other units,
#: is taken as a coordinate error.
FAR_KM = 30.0
#: A point further than this (metres) outside every unit is an error; closer, it snaps.
POINT_SNAP_M = 1.0
#: Overlaps smaller than this (m²) are digitising noise and not reported.
OVERLAP_MIN_M2 = 10.0

_CONFIG_KEYS = {
    "scenario": {"name", "commune_code", "election_date"},
    "rules": {"min_voters", "max_voters", "special_facility_min_voters", "min_age"},
    "objective": {"areas", "max_travel_km", "area_cost_voter_km"},
    "travel": {"metric", "contiguity", "walk_kmh", "detour_factor", "cutoff_km", "snap_tolerance_m"},
}


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario folder or GeoPackage; raise ScenarioError listing all problems."""
    raw, findings = read_scenario(Path(path))
    if raw is None:
        raise ScenarioError(findings)
    scenario, more = validate(raw)
    findings.extend(more)
    if scenario is None or errors_of(findings):
        raise ScenarioError(findings)
    return Scenario(**{**scenario.__dict__, "findings": tuple(findings)})


def validate(raw: RawScenario) -> tuple[Scenario | None, list[Finding]]:
    """Check every layer and their relations; build the projected scenario when possible."""
    findings: list[Finding] = []
    config = validate_config(raw.config, raw.config_file, findings)
    params = config.params if config else LawParameters()
    registry_layer = raw.layers.get("voters")
    registry = validate_registry(registry_layer, findings) if registry_layer else None

    units_layer = raw.layers.get("units")
    if units_layer is None:
        return None, findings
    units = validate_units(units_layer, registry is not None, params, findings)
    if units is None:
        return None, findings
    sites = validate_sites(raw.layers.get("sites"), findings)
    facilities = validate_facilities(raw.layers.get("facilities"), registry is not None, findings)
    roads = validate_roads(raw.layers.get("roads"), findings)

    crs = _metric_crs(units)
    units = _project(units, crs)
    sites = _project(sites, crs)
    facilities = _project(facilities, crs)
    roads = _project(roads, crs) if roads is not None else None

    check_far_features(units, "units", units_layer.file, findings)
    if not (raw.layers.get("sites") and raw.layers["sites"].derived):
        check_far_features(sites, "sites", _file_of(raw, "sites"), findings, reference=units)
    check_far_features(facilities, "facilities", _file_of(raw, "facilities"), findings, reference=units)
    units = units[~units.index.isin(_far_ids(findings, units_layer.file))]

    unit_ids = set(units.index)
    links = validate_links(raw.layers.get("links"), unit_ids, findings)
    sites = locate_points(sites, units, _file_of(raw, "sites"), findings,
                          derived=bool(raw.layers.get("sites") and raw.layers["sites"].derived))
    facilities = locate_points(facilities, units, _file_of(raw, "facilities"), findings)

    if registry is not None and registry_layer is not None:
        _check_registry_refs(registry, registry_layer.file, _raw_ids(units_layer, "unit_id"),
                             _raw_ids(raw.layers.get("facilities"), "facility_id"), findings)
        units, facilities = apply_registry_counts(units, facilities, registry, params,
                                                  units_layer.file, _file_of(raw, "facilities"), findings)

    facilities["voters"] = pd.Series([int(v) if v is not None else 0 for v in facilities["voters"]],
                                     index=facilities.index, dtype="int64")
    facilities["separate"] = pd.Series([
        facility_is_separate(str(kind), int(voters), requested, params)
        for kind, voters, requested in zip(facilities["kind"], facilities["voters"], facilities["requested"])
    ], index=facilities.index, dtype=bool)
    for fid, row in facilities.iterrows():
        if not row["separate"] and row["requested"] is not False and row["kind"] in FACILITY_KINDS:
            findings.append(warning("facility_too_small", file=_file_of(raw, "facilities"), feature_id=fid,
                                    field="voters", rule="R4", kind=row["kind"], voters=int(row["voters"]),
                                    minimum=params.special_facility_min_voters, unit=row["unit_id"]))
    facilities = facilities.drop(columns=["requested"])

    check_unit_sizes(units, params, units_layer.file, findings)
    check_overlaps(units, units_layer.file, findings)
    check_islands(units, links, units_layer.file, findings)

    if config is None or errors_of(findings):
        return None, findings
    scenario = Scenario(path=raw.path, config=config, crs=crs, units=units, sites=sites,
                        facilities=facilities, links=links, roads=roads, registry=registry)
    return scenario, findings


# --- scenario.toml ---------------------------------------------------------------------------

def validate_config(doc: dict[str, Any] | None, file: str, findings: list[Finding]) -> ScenarioConfig | None:
    if doc is None:
        return None
    before = len(errors_of(findings))
    for section, value in doc.items():
        if section not in _CONFIG_KEYS or not isinstance(value, dict):
            findings.append(warning("unknown_key", file=file, field=section, key=section))
            continue
        for key in value:
            if key not in _CONFIG_KEYS[section]:
                findings.append(warning("unknown_key", file=file, field=f"{section}.{key}",
                                        key=f"{section}.{key}"))
    scenario = doc.get("scenario") if isinstance(doc.get("scenario"), dict) else {}
    rules = doc.get("rules") if isinstance(doc.get("rules"), dict) else {}
    objective = doc.get("objective") if isinstance(doc.get("objective"), dict) else {}
    for key in ("name", "commune_code", "election_date"):
        if key not in scenario or str(scenario[key]).strip() == "":
            findings.append(error("missing_field", file=file, field=f"scenario.{key}"))
    election_date = _parse_config_date(scenario.get("election_date"), file, findings)
    if election_date is not None and election_date < dt.date.today():
        findings.append(warning("election_past", file=file, field="scenario.election_date",
                                date=election_date.isoformat(), today=dt.date.today().isoformat()))

    defaults = LawParameters()
    values: dict[str, int] = {}
    for key in ("min_voters", "max_voters", "special_facility_min_voters", "min_age"):
        if key in rules:
            parsed = parse_count(rules[key])
            if parsed is None:
                findings.append(error("bad_value", file=file, field=f"rules.{key}", value=rules[key],
                                      expected="a non-negative integer"))
            else:
                values[key] = parsed
    min_voters = values.get("min_voters", defaults.min_voters)
    max_voters = values.get("max_voters", defaults.max_voters)
    if min_voters > max_voters:
        findings.append(error("min_gt_max", file=file, field="rules.min_voters", rule="R2",
                              min_voters=min_voters, max_voters=max_voters))
    if max_voters == 0:
        findings.append(error("bad_value", file=file, field="rules.max_voters", value=0,
                              expected="a positive integer"))

    areas = None
    if "areas" in objective:
        areas = parse_count(objective["areas"])
        if areas is None or areas == 0:
            findings.append(error("bad_areas", file=file, field="objective.areas", value=objective["areas"]))
            areas = None
    max_travel = None
    if "max_travel_km" in objective:
        value = objective["max_travel_km"]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            max_travel = float(value)
        else:
            findings.append(error("bad_value", file=file, field="objective.max_travel_km", value=value,
                                  expected="a positive number of kilometres"))
    area_cost = None
    if "area_cost_voter_km" in objective:
        area_cost = _positive(objective["area_cost_voter_km"], file, "objective.area_cost_voter_km", findings,
                              allow_zero=True)
    travel = _travel_config(doc.get("travel") if isinstance(doc.get("travel"), dict) else {}, file, findings)
    if len(errors_of(findings)) > before or election_date is None:
        return None
    params = LawParameters(election_date=election_date, **values)
    return ScenarioConfig(name=str(scenario["name"]).strip(), commune_code=str(scenario["commune_code"]).strip(),
                          params=params, objective=Objective(areas=areas, max_travel_km=max_travel,
                                                             area_cost=area_cost),
                          travel=travel)


def _positive(value: Any, file: str, key: str, findings: list[Finding], allow_zero: bool = False) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and (value > 0 or allow_zero and value == 0):
        return float(value)
    findings.append(error("bad_value", file=file, field=key, value=value, expected="a positive number"))
    return None


def _travel_config(section: dict[str, Any], file: str, findings: list[Finding]) -> TravelConfig:
    from planner.travel import CONTIGUITY_MODES, TRAVEL_METRICS

    values: dict[str, Any] = {}
    if "metric" in section:
        if section["metric"] in TRAVEL_METRICS:
            values["metric"] = section["metric"]
        else:
            findings.append(error("bad_value", file=file, field="travel.metric", value=section["metric"],
                                  expected=" / ".join(TRAVEL_METRICS)))
    if "contiguity" in section:
        if section["contiguity"] in CONTIGUITY_MODES:
            values["contiguity"] = section["contiguity"]
        else:
            findings.append(error("bad_value", file=file, field="travel.contiguity", value=section["contiguity"],
                                  expected=" / ".join(CONTIGUITY_MODES)))
    for key in ("walk_kmh", "detour_factor", "cutoff_km", "snap_tolerance_m"):
        if key in section:
            number = _positive(section[key], file, f"travel.{key}", findings)
            if number is not None:
                values[key] = number
    return TravelConfig(**values)


def _parse_config_date(value: Any, file: str, findings: list[Finding]) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        findings.append(error("bad_date", file=file, field="scenario.election_date", value=value))
        return None


# --- value parsing -----------------------------------------------------------------------------

def parse_count(value: Any) -> int | None:
    """A non-negative integer from a JSON/CSV value, or None (floats must be whole numbers)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() and value >= 0 else None
    text = str(value).strip()
    # text must be plain digits: "1.000" (a Vietnamese thousands separator) or "1,200" is refused, not
    # misread as 1 or 1.2
    return int(text) if text.isascii() and text.isdigit() else None


_TRUE = {"true", "1", "yes", "y", "có", "co", "x"}
_FALSE = {"false", "0", "no", "n", "không", "khong", ""}


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- layers ------------------------------------------------------------------------------------

def _check_ids(layer: RawLayer, id_field: str, findings: list[Finding]) -> list[str]:
    """The id of each record ('' where missing), with missing and duplicate ids reported."""
    ids = [_text(r.get(id_field)) for r in layer.records]
    if id_field not in layer.columns and layer.records:
        findings.append(error("missing_column", file=layer.file, field=id_field, column=id_field))
        return ids
    for index, value in enumerate(ids):
        if value == "":
            findings.append(error("missing_field", file=layer.file, feature_id=f"#{index + 1}", field=id_field))
    counts = pd.Series([i for i in ids if i]).value_counts()
    for value, count in counts[counts > 1].items():
        findings.append(error("duplicate_id", file=layer.file, feature_id=value, field=id_field,
                              id=value, count=int(count)))
    return ids


def _geometry(layer: RawLayer, index: int, fid: str, allowed: tuple[str, ...],
              findings: list[Finding]) -> BaseGeometry | None:
    """The feature's geometry, repaired if make_valid can; None (with an error) otherwise."""
    if index in layer.geometry_errors:
        findings.append(error("geometry_invalid", file=layer.file, feature_id=fid, field="geometry",
                              reason=layer.geometry_errors[index]))
        return None
    geom = layer.geometries[index] if index < len(layer.geometries) else None
    if geom is None or geom.is_empty:
        findings.append(error("geometry_empty", file=layer.file, feature_id=fid, field="geometry"))
        return None
    if geom.geom_type not in allowed:
        findings.append(error("geometry_type", file=layer.file, feature_id=fid, field="geometry",
                              got=geom.geom_type, expected=" / ".join(allowed)))
        return None
    coords_ok = np.isfinite(np.asarray(geom.bounds, dtype=float)).all()
    if not coords_ok:
        findings.append(error("geometry_invalid", file=layer.file, feature_id=fid, field="geometry",
                              reason="non-finite coordinates"))
        return None
    if geom.is_valid:
        return geom
    reason = explain_validity(geom)
    repaired = _polygonal_part(make_valid(geom)) if geom.geom_type in ("Polygon", "MultiPolygon") else None
    if repaired is None or repaired.is_empty or not repaired.is_valid or repaired.area <= 0:
        findings.append(error("geometry_invalid", file=layer.file, feature_id=fid, field="geometry",
                              reason=reason))
        return None
    findings.append(warning("geometry_repaired", file=layer.file, feature_id=fid, field="geometry",
                            reason=reason))
    return repaired


def _polygonal_part(geom: BaseGeometry) -> BaseGeometry | None:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        polygons = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        if polygons:
            merged = unary_union(polygons)
            return merged if isinstance(merged, (Polygon, MultiPolygon)) else None
    return None


def _frame(rows: list[dict[str, Any]], index_name: str, crs: CRS, columns: list[str]) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(rows, columns=[index_name, *columns, "geometry"], geometry="geometry", crs=crs)
    return frame.set_index(index_name)


def _check_swapped(geom: BaseGeometry, crs: CRS, layer: RawLayer, fid: str, findings: list[Finding]) -> bool:
    """Report latitude/longitude swaps in geographic data; True when the geometry is unusable."""
    if not crs.is_geographic:
        return False
    minx, miny, maxx, maxy = geom.bounds
    if abs(minx) > 360 or abs(maxx) > 360 or abs(miny) > 360 or abs(maxy) > 360:
        findings.append(error("crs_missing", file=layer.file, feature_id=fid, field="geometry",
                              x=round(minx), y=round(miny)))
        return True
    if abs(miny) > 90 or abs(maxy) > 90:
        point = geom.representative_point() if geom.geom_type != "Point" else geom
        if abs(point.y) <= 180 and abs(point.x) <= 90:
            findings.append(error("swapped_coordinates", file=layer.file, feature_id=fid, field="geometry",
                                  x=round(point.x, 6), y=round(point.y, 6)))
        else:
            findings.append(error("geometry_invalid", file=layer.file, feature_id=fid, field="geometry",
                                  reason="latitude outside -90..90"))
        return True
    return False


def validate_units(layer: RawLayer, registry_given: bool, params: LawParameters,
                   findings: list[Finding]) -> gpd.GeoDataFrame | None:
    if not layer.records:
        findings.append(error("empty_layer", file=layer.file))
        return None
    ids = _check_ids(layer, "unit_id", findings)
    if "name" not in layer.columns:
        findings.append(error("missing_column", file=layer.file, field="name", column="name"))
    voters_declared = "voters" in layer.columns
    if not voters_declared and not registry_given:
        findings.append(error("voters_missing", file=layer.file, field="voters"))
    crs = parse_crs(layer.crs)
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    for index, (uid, record) in enumerate(zip(ids, layer.records)):
        fid = uid or f"#{index + 1}"
        geom = _geometry(layer, index, fid, ("Polygon", "MultiPolygon", "Point"), findings)
        name = _text(record.get("name"))
        if "name" in layer.columns and not name:
            findings.append(error("missing_field", file=layer.file, feature_id=fid, field="name"))
        voters: int | None = None
        if voters_declared:
            raw_voters = record.get("voters")
            if raw_voters is None or _text(raw_voters) == "":
                if not registry_given:
                    findings.append(error("missing_field", file=layer.file, feature_id=fid, field="voters"))
            else:
                voters = parse_count(raw_voters)
                if voters is None:
                    findings.append(error("voters_not_int", file=layer.file, feature_id=fid, field="voters",
                                          rule="R2", value=raw_voters))
        sparse = parse_bool(record.get("sparse"))
        if sparse is None:
            findings.append(error("bad_bool", file=layer.file, feature_id=fid, field="sparse",
                                  value=record.get("sparse")))
        if geom is not None and _check_swapped(geom, crs, layer, fid, findings):
            geom = None
        if not uid or uid in seen or geom is None:
            continue
        seen.add(uid)
        rows.append({"unit_id": uid, "name": name or uid, "voters": voters,
                     "eu_na": _text(record.get("eu_na")), "eu_province": _text(record.get("eu_province")),
                     "eu_commune": _text(record.get("eu_commune")), "sparse": bool(sparse),
                     "geometry": geom})
    kinds = {r["geometry"].geom_type == "Point" for r in rows}
    if len(kinds) > 1:
        findings.append(error("geometry_type", file=layer.file, field="geometry", got="Point + Polygon",
                              expected="all Polygon/MultiPolygon, or all Point"))
    for level in ("eu_na", "eu_province", "eu_commune"):
        if level not in layer.columns:
            continue
        for row in rows:
            if not row[level]:
                findings.append(error("eu_missing", file=layer.file, feature_id=row["unit_id"], field=level,
                                      rule="R13", level=level))
    frame = _frame(rows, "unit_id", crs, ["name", "voters", "eu_na", "eu_province", "eu_commune", "sparse"])
    frame.attrs["file"] = layer.file
    return frame


def validate_sites(layer: RawLayer | None, findings: list[Finding]) -> gpd.GeoDataFrame:
    columns = ["name", "capacity", "kind", "accessible"]
    if layer is None:
        return _frame([], "site_id", WGS84, columns)
    if not layer.records:
        findings.append(error("empty_layer", file=layer.file))
    ids = _check_ids(layer, "site_id", findings)
    if layer.records and "capacity" not in layer.columns:
        findings.append(error("missing_column", file=layer.file, field="capacity", column="capacity"))
    crs = parse_crs(layer.crs)
    rows, seen = [], set()
    for index, (sid, record) in enumerate(zip(ids, layer.records)):
        fid = sid or f"#{index + 1}"
        geom = _geometry(layer, index, fid, ("Point",), findings)
        capacity = parse_count(record.get("capacity"))
        if "capacity" in layer.columns and (capacity is None or capacity == 0):
            findings.append(error("capacity_not_int", file=layer.file, feature_id=fid, field="capacity",
                                  value=record.get("capacity")))
        accessible = parse_bool(record.get("accessible"))
        if accessible is None:
            findings.append(error("bad_bool", file=layer.file, feature_id=fid, field="accessible",
                                  value=record.get("accessible")))
        if geom is not None and _check_swapped(geom, crs, layer, fid, findings):
            geom = None
        if not sid or sid in seen or geom is None:
            continue
        seen.add(sid)
        rows.append({"site_id": sid, "name": _text(record.get("name")) or sid, "capacity": capacity or 0,
                     "kind": _text(record.get("kind")), "accessible": bool(accessible), "geometry": geom})
    frame = _frame(rows, "site_id", crs, columns)
    frame["capacity"] = frame["capacity"].astype(int)
    return frame


def validate_facilities(layer: RawLayer | None, registry_given: bool,
                        findings: list[Finding]) -> gpd.GeoDataFrame:
    columns = ["name", "kind", "voters", "requested"]
    if layer is None:
        return _frame([], "facility_id", WGS84, columns)
    ids = _check_ids(layer, "facility_id", findings)
    crs = parse_crs(layer.crs)
    rows, seen = [], set()
    allowed = ", ".join(sorted(FACILITY_KINDS))
    for index, (fid_value, record) in enumerate(zip(ids, layer.records)):
        fid = fid_value or f"#{index + 1}"
        geom = _geometry(layer, index, fid, ("Point",), findings)
        kind = _text(record.get("kind"))
        if kind not in FACILITY_KINDS:
            findings.append(error("unknown_facility_kind", file=layer.file, feature_id=fid, field="kind",
                                  rule="R4", kind=kind, allowed=allowed))
        voters: int | None = None
        raw_voters = record.get("voters")
        if raw_voters is None or _text(raw_voters) == "":
            if not registry_given:
                findings.append(error("missing_field", file=layer.file, feature_id=fid, field="voters"))
        else:
            voters = parse_count(raw_voters)
            if voters is None:
                findings.append(error("voters_not_int", file=layer.file, feature_id=fid, field="voters",
                                      value=raw_voters))
        requested: bool | None = None
        if record.get("separate") is not None and _text(record.get("separate")) != "":
            requested = parse_bool(record.get("separate"))
            if requested is None:
                findings.append(error("bad_bool", file=layer.file, feature_id=fid, field="separate",
                                      value=record.get("separate")))
        if geom is not None and _check_swapped(geom, crs, layer, fid, findings):
            geom = None
        if not fid_value or fid_value in seen or geom is None:
            continue
        seen.add(fid_value)
        rows.append({"facility_id": fid_value, "name": _text(record.get("name")) or fid_value, "kind": kind,
                     "voters": voters, "requested": requested, "geometry": geom})
    frame = _frame(rows, "facility_id", crs, columns)
    frame["requested"] = frame["requested"].astype(object)
    return frame


def validate_roads(layer: RawLayer | None, findings: list[Finding]) -> gpd.GeoDataFrame | None:
    if layer is None:
        return None
    crs = parse_crs(layer.crs)
    rows = []
    for index, record in enumerate(layer.records):
        fid = _text(record.get("road_id") or record.get("id")) or f"#{index + 1}"
        geom = _geometry(layer, index, fid, ("LineString", "MultiLineString"), findings)
        speed = record.get("speed_kmh")
        if speed is not None and _text(speed) != "":
            try:
                speed_value = float(speed)
                if not (speed_value > 0):
                    raise ValueError
            except (TypeError, ValueError):
                findings.append(error("bad_value", file=layer.file, feature_id=fid, field="speed_kmh",
                                      value=speed, expected="a positive speed in km/h"))
                speed = None
        if geom is not None and _check_swapped(geom, crs, layer, fid, findings):
            geom = None
        if geom is None:
            continue
        rows.append({"road_id": fid, "highway": _text(record.get("highway")),
                     "speed_kmh": float(speed) if speed not in (None, "") else np.nan,
                     "bridge": bool(parse_bool(record.get("bridge"))), "geometry": geom})
    frame = gpd.GeoDataFrame(rows, columns=["road_id", "highway", "speed_kmh", "bridge", "geometry"],
                             geometry="geometry", crs=crs)
    return frame


def validate_links(layer: RawLayer | None, unit_ids: set[str], findings: list[Finding]) -> pd.DataFrame:
    columns = ["unit_a", "unit_b", "kind"]
    if layer is None:
        return pd.DataFrame(columns=columns)
    for column in ("unit_a", "unit_b"):
        if column not in layer.columns:
            findings.append(error("missing_column", file=layer.file, field=column, column=column))
            return pd.DataFrame(columns=columns)
    rows = []
    for index, record in enumerate(layer.records):
        a, b, kind = _text(record.get("unit_a")), _text(record.get("unit_b")), _text(record.get("kind"))
        line = f"#{index + 2}"
        bad = False
        for column, value in (("unit_a", a), ("unit_b", b)):
            if value not in unit_ids:
                findings.append(error("unknown_unit", file=layer.file, feature_id=line, field=column, ref=value))
                bad = True
        if a == b and a:
            findings.append(error("self_link", file=layer.file, feature_id=line, field="unit_b"))
            bad = True
        if not bad:
            rows.append({"unit_a": a, "unit_b": b, "kind": kind})
    return pd.DataFrame(rows, columns=columns)


#: Above this many rows with the same problem, one finding lists them instead of one per row.
GROUP_ROWS_ABOVE = 20


def validate_registry(layer: RawLayer, findings: list[Finding]) -> pd.DataFrame | None:
    """Check the registry's columns and values; a problem shared by many rows is reported once."""
    missing = [c for c in eligibility.REGISTRY_COLUMNS if c not in layer.columns]
    for column in missing:
        findings.append(error("missing_column", file=layer.file, field=column, column=column))
    if missing:
        return None
    columns = list(eligibility.REGISTRY_COLUMNS) + ["temp_registered"]
    frame = pd.DataFrame([[_text(r.get(c)) for c in columns] for r in layer.records], columns=columns,
                         dtype=object)
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="line")
    label = frame["citizen_id"].where(frame["citizen_id"] != "", "#" + frame.index.astype(str))
    statuses = {"", "deprived", "death_sentence", "imprisoned", "incapacitated"}
    registered = frame["temp_registered"]
    parsed = pd.to_datetime(registered.where(registered != ""), format="%Y-%m-%d", errors="coerce")
    problems = [
        (frame["citizen_id"] == "", "missing_field", "citizen_id", "", {}),
        (eligibility.parse_birth_dates(frame["date_of_birth"]).isna(), "bad_date", "date_of_birth", "", {}),
        (~frame["residence"].isin(eligibility.RESIDENCES), "bad_value", "residence", "",
         {"expected": "permanent / temporary"}),
        (~frame["status"].isin(statuses), "bad_value", "status", "R17",
         {"expected": "empty, deprived, death_sentence, imprisoned, incapacitated"}),
        ((registered != "") & parsed.isna(), "bad_date", "temp_registered", "", {}),
    ]
    for mask, code, field, rule, extra in problems:
        lines = frame.index[mask.to_numpy()]
        params = lambda line: {"value": frame.at[line, field], **extra}  # noqa: E731
        if len(lines) > GROUP_ROWS_ABOVE:
            first = lines[0]
            sample = Finding("error", code, params=params(first)).message("vi")
            sample_en = Finding("error", code, params=params(first)).message("en")
            shown = ", ".join(str(x) for x in lines[:8]) + f" … (+{len(lines) - 8})"
            findings.append(error("many_rows", file=layer.file, feature_id=f"#{first}", field=field, rule=rule,
                                  count=len(lines), message=sample, message_en=sample_en, lines=shown))
            continue
        for line in lines:
            findings.append(error(code, file=layer.file, feature_id=label[line], field=field, rule=rule,
                                  **({} if code == "missing_field" else params(line))))
    ids = frame["citizen_id"]
    short = ids[(ids != "") & ~ids.str.fullmatch(r"\d{12}")]
    if len(short):
        findings.append(warning("registry_id_format", file=layer.file, feature_id=f"#{short.index[0]}",
                                field="citizen_id", count=len(short), first=int(short.index[0]),
                                value=short.iloc[0]))
    repeated = ids[(ids != "") & ids.duplicated(keep=False)]
    if len(repeated):
        findings.append(warning("registry_duplicates", file=layer.file, field="citizen_id", rule="R20",
                                count=int(repeated.nunique())))
    return frame


def _raw_ids(layer: RawLayer | None, key: str) -> set[str]:
    """Every id written in a layer, even of features rejected for other reasons (no follow-on errors)."""
    return {_text(r.get(key)) for r in layer.records} - {""} if layer is not None else set()


def _check_registry_refs(registry: pd.DataFrame, file: str, unit_ids: set[str], facility_ids: set[str],
                         findings: list[Finding]) -> None:
    """Report each unknown unit or facility once, with the lines that name it."""
    for column, known, code in (("unit_id", unit_ids, "unknown_unit"), ("facility_id", facility_ids,
                                                                          "unknown_facility")):
        values = registry[column]
        unknown = values[(values != "") & ~values.isin(known)] if column == "facility_id" else \
            values[~values.isin(known)]
        for ref, lines in unknown.groupby(unknown).groups.items():
            shown = ", ".join(str(i) for i in list(lines)[:10]) + (" ..." if len(lines) > 10 else "")
            findings.append(error(code, file=file, feature_id=f"#{shown}", field=column, ref=ref))


def apply_registry_counts(units: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, registry: pd.DataFrame,
                          params: LawParameters, units_file: str, facilities_file: str,
                          findings: list[Finding]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Fill absent voter counts from the registry and warn where declared counts disagree."""
    assessed = eligibility.assess_registry(registry, params)
    per_unit, per_facility = eligibility.count_voters(assessed)
    units = units.copy()
    facilities = facilities.copy()
    for frame, counts, file in ((units, per_unit, units_file), (facilities, per_facility, facilities_file)):
        counted = counts.reindex(frame.index, fill_value=0).astype(int)
        for fid in frame.index:
            declared = frame.at[fid, "voters"]
            if declared is None or (isinstance(declared, float) and math.isnan(declared)):
                frame.at[fid, "voters"] = int(counted[fid])
            elif int(declared) != int(counted[fid]):
                findings.append(warning("voters_disagree", file=file, feature_id=fid, field="voters",
                                        declared=int(declared), counted=int(counted[fid])))
    return units, facilities


# --- geometry relations ------------------------------------------------------------------------

def _metric_crs(units: gpd.GeoDataFrame) -> CRS:
    if units.empty:
        return utm_crs(105.85, 21.03)
    lonlat = units.to_crs(WGS84) if units.crs != WGS84 else units
    points = [g.representative_point() for g in lonlat.geometry]
    lon = float(np.median([p.x for p in points]))
    lat = float(np.median([p.y for p in points]))
    return utm_crs(lon, lat)


def _project(frame: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    if frame.crs is None:
        frame = frame.set_crs(WGS84)
    return frame.to_crs(crs)


def _file_of(raw: RawScenario, name: str) -> str:
    layer = raw.layers.get(name)
    return layer.file if layer else f"{name}.geojson"


def check_far_features(frame: gpd.GeoDataFrame, name: str, file: str, findings: list[Finding],
                       reference: gpd.GeoDataFrame | None = None) -> None:
    """Report features far from the commune: wrong coordinates, often swapped in a projected CRS."""
    ref = frame if reference is None else reference
    if ref.empty or frame.empty:
        return
    points = np.array([(p.x, p.y) for p in (g.representative_point() for g in ref.geometry)])
    centre = np.median(points, axis=0)
    spread = np.median(np.hypot(*(points - centre).T)) / 1000.0
    limit = max(FAR_KM, 10.0 * spread)
    for fid, geom in frame.geometry.items():
        point = geom.representative_point()
        distance = math.hypot(point.x - centre[0], point.y - centre[1]) / 1000.0
        if distance > limit:
            findings.append(error("far_outside", file=file, feature_id=fid, field="geometry",
                                  distance_km=round(distance, 1)))


def _far_ids(findings: list[Finding], file: str) -> set[str]:
    return {f.feature_id for f in findings if f.code == "far_outside" and f.file == file}


def locate_points(frame: gpd.GeoDataFrame, units: gpd.GeoDataFrame, file: str,
                  findings: list[Finding], derived: bool = False) -> gpd.GeoDataFrame:
    """Add ``unit_id``: the unit each point stands in; points outside every unit are errors.

    For points the engine derived itself (sites from OpenStreetMap), those outside the commune are
    dropped with a warning instead: the extract usually covers more than the commune.
    """
    frame = frame.copy()
    frame["unit_id"] = ""
    if frame.empty or units.empty:
        return frame
    unit_geoms = list(units.geometry)
    if all(g.geom_type == "Point" for g in unit_geoms):
        unit_geoms = voronoi_cells(unit_geoms)  # point units: their Voronoi cells stand for them
    unit_ids = list(units.index)
    tree = STRtree(unit_geoms)
    for fid, point in frame.geometry.items():
        hits = [int(i) for i in tree.query(point, predicate="intersects")]
        if hits:
            hits.sort(key=lambda i: unit_ids[i])
            frame.at[fid, "unit_id"] = unit_ids[hits[0]]
            continue
        nearest = int(tree.nearest(point))
        distance = unit_geoms[nearest].distance(point)
        if distance <= POINT_SNAP_M:
            frame.at[fid, "unit_id"] = unit_ids[nearest]
        elif derived:
            findings.append(warning("derived_point_dropped", file=file, feature_id=fid, field="geometry",
                                    name=frame.at[fid, "name"], distance_m=round(distance)))
        else:
            findings.append(error("point_outside_units", file=file, feature_id=fid, field="geometry",
                                  distance_m=round(distance)))
    return frame[frame["unit_id"] != ""]


def check_unit_sizes(units: gpd.GeoDataFrame, params: LawParameters, file: str,
                     findings: list[Finding]) -> None:
    """A unit with more voters than an area may hold must be split (R2, R13)."""
    for uid, row in units.iterrows():
        voters = row["voters"]
        if voters is not None and not (isinstance(voters, float) and math.isnan(voters)) \
                and int(voters) > params.max_voters:
            findings.append(error("unit_too_large", file=file, feature_id=uid, field="voters", rule="R13",
                                  name=row["name"], voters=int(voters), max_voters=params.max_voters))


def check_overlaps(units: gpd.GeoDataFrame, file: str, findings: list[Finding]) -> None:
    geoms = [g for g in units.geometry]
    ids = list(units.index)
    if len(geoms) < 2:
        return
    tree = STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")  # also equal and contained polygons
    for i, j in zip(left.tolist(), right.tolist()):
        if i >= j:
            continue
        area = geoms[i].intersection(geoms[j]).area
        if area >= OVERLAP_MIN_M2:
            findings.append(warning("overlap", file=file, feature_id=ids[i], field="geometry",
                                    other=ids[j], area_m2=round(area)))


def check_islands(units: gpd.GeoDataFrame, links: pd.DataFrame, file: str, findings: list[Finding]) -> None:
    """Warn about units that touch nothing and have no link: each must be an area alone."""
    if len(units) < 2 or (units.geometry.geom_type == "Point").all():
        return
    ids = list(units.index)
    touched = {ids[i] for pair in rook_pairs(list(units.geometry)) for i in pair}
    linked = set(links["unit_a"]) | set(links["unit_b"])
    for uid in ids:
        if uid not in touched and uid not in linked:
            findings.append(warning("unit_island", file=file, feature_id=uid, field="geometry",
                                    name=units.at[uid, "name"]))

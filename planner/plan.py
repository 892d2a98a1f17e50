"""A plan as a value, and the plan folder of the contract (assignment, areas, outlines, report).

Derived totals (voters per area) are computed from the assignment when a plan is made, never
kept apart from it. Writing is atomic: files go to a temporary folder beside the target, which
is renamed into place only when all of them are written.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import geopandas as gpd
import pandas as pd

from planner.atomic import folder_in_place
from planner.findings import Finding, error

PLAN_FILES = ("assignment.csv", "areas.csv", "areas.geojson", "report.json")
AREA_COLUMNS = ("area_id", "site_id", "kind", "facility_id", "voters")


@dataclass(frozen=True)
class Plan:
    """Units assigned to areas, areas with their site or facility, and the run's report."""

    assignment: Mapping[str, str]
    areas: tuple[Mapping[str, Any], ...]
    report: Mapping[str, Any] = field(default_factory=dict)

    def areas_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.areas), columns=list(AREA_COLUMNS)).set_index("area_id", drop=False)

    def units_of(self, area_id: str) -> list[str]:
        return sorted(u for u, a in self.assignment.items() if a == area_id)


class PlanFolderError(Exception):
    """The target folder cannot take a plan without destroying something else."""


def write_plan(plan: Plan, outlines: gpd.GeoDataFrame, out: Path) -> Path:
    """Write the plan folder atomically; an existing plan folder at ``out`` is replaced."""
    out = Path(out)
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise PlanFolderError(f"{parent} is a file, not a folder")
    if out.exists():
        if not out.is_dir():
            raise PlanFolderError(f"{out} exists and is not a folder")
        foreign = [p.name for p in out.iterdir() if p.name not in PLAN_FILES]
        if foreign:
            raise PlanFolderError(f"{out} holds files that are not a plan ({', '.join(sorted(foreign)[:5])}); "
                                  "choose an empty or new folder")
    with folder_in_place(out) as tmp:
        _write_files(plan, outlines, tmp)
    return out


def _write_files(plan: Plan, outlines: gpd.GeoDataFrame, folder: Path) -> None:
    with open(folder / "assignment.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["unit_id", "area_id"])
        for unit_id in sorted(plan.assignment):
            writer.writerow([unit_id, plan.assignment[unit_id]])
    with open(folder / "areas.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(AREA_COLUMNS)
        for area in plan.areas:
            writer.writerow([area.get(c, "") if area.get(c) is not None else "" for c in AREA_COLUMNS])
    outlines.to_crs(4326).to_file(folder / "areas.geojson", driver="GeoJSON", engine="pyogrio")
    with open(folder / "report.json", "w", encoding="utf-8") as handle:
        json.dump(plan.report, handle, ensure_ascii=False, indent=2, default=str)
        handle.write("\n")


@dataclass(frozen=True)
class PlanFiles:
    """A plan folder as read back, for checking: raw tables, no derived values trusted."""

    assignment: pd.DataFrame
    areas: pd.DataFrame
    report: Mapping[str, Any]


def read_plan(folder: Path) -> tuple[PlanFiles | None, list[Finding]]:
    """Read assignment.csv and areas.csv (report.json when present) of a plan folder."""
    folder = Path(folder)
    if not folder.is_dir():
        return None, [error("plan_not_found", path=str(folder))]
    findings: list[Finding] = []
    tables = {}
    for name, columns in (("assignment.csv", ("unit_id", "area_id")), ("areas.csv", AREA_COLUMNS)):
        path = folder / name
        if not path.exists():
            findings.append(error("missing_file", file=name, name=name))
            continue
        from planner.sources import decode_utf8

        text, problems = decode_utf8(path.read_bytes(), name)
        findings.extend(problems)
        if text is None:
            continue
        rows = list(csv.DictReader(text.splitlines()))
        header = rows[0].keys() if rows else next(csv.reader(text.splitlines()), [])
        missing = [c for c in columns if c not in header]
        for column in missing:
            findings.append(error("missing_column", file=name, field=column, column=column))
        if missing:
            continue
        tables[name] = pd.DataFrame([{c: (r.get(c) or "").strip() for c in columns} for r in rows],
                                    columns=list(columns), dtype=object)
    report: Mapping[str, Any] = {}
    if (folder / "report.json").exists():
        try:
            report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            findings.append(error("unreadable_file", file="report.json", detail=str(exc)))
    if len(tables) < 2:
        return None, findings
    return PlanFiles(tables["assignment.csv"], tables["areas.csv"], report), findings

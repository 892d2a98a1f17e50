"""Planning many communes at once on Dask: a province, or the country.

Each commune is one task: load, validate, solve, write its plan folder, re-check it. A commune
whose data is invalid or that has no valid plan is recorded with its reasons and does not stop the
others; unexpected failures (a worker lost, a disk hiccup) are retried by Dask. A rerun skips the
communes whose plan folder is already there and valid, so a long run can be resumed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

STATUS_PLANNED, STATUS_SKIPPED, STATUS_INVALID, STATUS_INFEASIBLE, STATUS_FAILED = (
    "planned", "skipped", "invalid", "infeasible", "failed")


@dataclass(frozen=True)
class BatchOptions:
    time_limit: float = 30.0
    seed: int = 0
    travel: str | None = None


def discover(source: Path, workdir: Path) -> list[Path]:
    """Commune scenario folders: subfolders with a scenario.toml, or communes split out of a GeoPackage."""
    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".gpkg":
        return split_geopackage(source, workdir)
    return sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
                  and (p / "scenario.toml").exists())


def split_geopackage(path: Path, workdir: Path) -> list[Path]:
    """One scenario folder per ``commune_code`` of a province GeoPackage.

    Layers ``units``, ``sites`` and optionally ``facilities``, ``roads``, ``links`` carry a
    ``commune_code`` column; an optional table ``communes`` gives ``commune_code``, ``name``,
    ``election_date`` (and ``min_voters``, ``max_voters``).
    """
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    layers = {str(name) for name, _ in pyogrio.list_layers(path)}
    frames = {name: gpd.read_file(path, layer=name) for name in ("units", "sites", "facilities", "roads")
              if name in layers}
    tables = {name: pd.DataFrame(pyogrio.read_dataframe(path, layer=name, read_geometry=False))
              for name in ("links", "communes") if name in layers}
    codes = sorted({str(c) for c in frames["units"]["commune_code"]})
    info = {str(r["commune_code"]): r for r in tables.get("communes", pd.DataFrame()).to_dict("records")}
    folders = []
    for code in codes:
        folder = workdir / code
        folder.mkdir(parents=True, exist_ok=True)
        row = info.get(code, {})
        lines = ["[scenario]", f'name = {json.dumps(str(row.get("name") or code), ensure_ascii=False)}',
                 f'commune_code = "{code}"', f'election_date = "{row.get("election_date") or "2026-03-15"}"']
        rules = {k: int(row[k]) for k in ("min_voters", "max_voters") if row.get(k) not in (None, "") and
                 not pd.isna(row.get(k))}
        if rules:
            lines += ["", "[rules]"] + [f"{k} = {v}" for k, v in rules.items()]
        (folder / "scenario.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for name, frame in frames.items():
            part = frame[frame["commune_code"].astype(str) == code].drop(columns="commune_code")
            if len(part):
                part.to_crs(4326).to_file(folder / f"{name}.geojson", driver="GeoJSON", engine="pyogrio")
        if "links" in tables:
            links = tables["links"]
            links[links["commune_code"].astype(str) == code].drop(columns="commune_code").to_csv(
                folder / "links.csv", index=False)
        folders.append(folder)
    return folders


def plan_is_done(scenario: Path, plan: Path) -> bool:
    """A plan folder that exists, was not cut short by the time limit (a plan left beyond the travel
    bound, see :func:`solver.solve._fallback`) and passes the checker: nothing to redo."""
    if not (plan / "report.json").exists():
        return False
    from planner.checker import check_plan
    from planner.findings import ScenarioError, errors_of
    from planner.plan import read_plan
    from planner.validation import load_scenario

    try:
        report = json.loads((plan / "report.json").read_text(encoding="utf-8"))
        if report.get("solver", {}).get("status") == "timeout":
            return False
        files, findings = read_plan(plan)
        return files is not None and not errors_of(findings) and not errors_of(check_plan(load_scenario(scenario), files))
    except ScenarioError:
        return False


def plan_commune(scenario: str, out: str, options: BatchOptions) -> dict[str, Any]:
    """The Dask task: plan one commune and say how it went. Expected failures are results, not errors."""
    from planner.checker import check_plan
    from planner.findings import InfeasibleError, ScenarioError, errors_of
    from planner.pipeline import SolveOptions, plan_scenario
    from planner.plan import read_plan, write_plan
    from planner.validation import load_scenario

    start = time.perf_counter()
    folder, target = Path(scenario), Path(out)
    base = {"scenario": folder.name, "commune_code": "", "name": "", "status": "", "areas": None, "voters": None,
            "solver_status": None, "gap": None, "mean_km": None, "seconds": None, "errors": []}
    if plan_is_done(folder, target):
        report = json.loads((target / "report.json").read_text(encoding="utf-8"))
        return {**base, **_from_report(report), "status": STATUS_SKIPPED, "seconds": 0.0}
    try:
        loaded = load_scenario(folder)
    except ScenarioError as exc:
        return {**base, "status": STATUS_INVALID, "seconds": round(time.perf_counter() - start, 2),
                "errors": [f.format("en") for f in errors_of(exc.findings)][:20]}
    base.update(commune_code=loaded.config.commune_code, name=loaded.config.name)
    try:
        outcome = plan_scenario(loaded, SolveOptions(time_limit=options.time_limit, seed=options.seed,
                                                     travel=options.travel, threads=1))  # Dask gives the parallelism
    except InfeasibleError as exc:
        return {**base, "status": STATUS_INFEASIBLE, "seconds": round(time.perf_counter() - start, 2),
                "errors": [f.format("en") for f in exc.findings][:20]}
    write_plan(outcome.plan, outcome.outlines, target)
    files, _ = read_plan(target)
    violations = errors_of(check_plan(loaded, files))
    if violations:  # never report a plan the checker refuses as planned
        return {**base, "status": STATUS_FAILED, "errors": [f.format("en") for f in violations][:20],
                "seconds": round(time.perf_counter() - start, 2)}
    missed = [w for w in outcome.warnings if w.code == "travel_bound_missed"]
    if missed:  # a plan beyond the scenario's travel bound: written for review, never counted as planned
        return {**base, **_from_report(outcome.plan.report), "status": STATUS_FAILED,
                "errors": [f.format("en") for f in missed], "seconds": round(time.perf_counter() - start, 2)}
    return {**base, **_from_report(outcome.plan.report), "status": STATUS_PLANNED,
            "seconds": round(time.perf_counter() - start, 2)}


def _from_report(report: dict[str, Any]) -> dict[str, Any]:
    totals, solver_info = report.get("totals", {}), report.get("solver", {})
    return {"commune_code": report.get("scenario", {}).get("commune_code", ""),
            "name": report.get("scenario", {}).get("name", ""),
            "areas": totals.get("regular_areas", 0) + totals.get("special_areas", 0), "voters": totals.get("voters"),
            "solver_status": solver_info.get("status"), "gap": report.get("objective", {}).get("gap"),
            "mean_km": totals.get("mean_km")}


def run_batch(source: Path, out: Path, *, scheduler: str | None = None, workers: int | None = None,
              memory_limit: str = "4GB", retries: int = 2, options: BatchOptions = BatchOptions(),
              on_progress: Callable[[dict[str, Any], int, int], None] | None = None) -> dict[str, Any]:
    """Plan every commune of ``source`` into ``out/<commune>/``; write and return the summary."""
    from dask.distributed import Client, LocalCluster, as_completed

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    workdir = out / "_inputs"
    communes = discover(Path(source), workdir)
    started = time.perf_counter()
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        n = workers or max(1, os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, memory_limit=memory_limit, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    results: list[dict[str, Any]] = []
    try:
        futures = {client.submit(plan_commune, str(folder), str(out / folder.name), options, retries=retries,
                                 key=f"plan-{folder.name}-{time.time_ns()}", pure=False): folder
                   for folder in communes}
        for done, future in enumerate(as_completed(futures), start=1):
            folder = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # failed after its retries: recorded, the others go on
                result = {"scenario": folder.name, "commune_code": "", "name": "", "status": STATUS_FAILED,
                          "areas": None, "voters": None, "solver_status": None, "gap": None, "mean_km": None,
                          "seconds": None, "errors": [f"{type(exc).__name__}: {exc}",
                                                      *traceback.format_exception_only(type(exc), exc)][:2]}
            results.append(result)
            if on_progress:
                on_progress(result, done, len(communes))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    results.sort(key=lambda r: r["scenario"])
    summary = _summary(results, time.perf_counter() - started, workers=workers, scheduler=scheduler)
    write_summary(summary, out)
    return summary


def _summary(results: list[dict[str, Any]], seconds: float, *, workers: int | None,
             scheduler: str | None) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    ok = [r for r in results if r["status"] in (STATUS_PLANNED, STATUS_SKIPPED)]
    return {"generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "scheduler": scheduler or f"local cluster, {workers or os.cpu_count()} workers",
            "seconds": round(seconds, 2), "communes": len(results), "by_status": counts,
            "totals": {"areas": sum(r["areas"] or 0 for r in ok), "voters": sum(r["voters"] or 0 for r in ok),
                       "communes_per_minute": round(len(results) / seconds * 60, 2) if seconds > 0 else None},
            "communes_detail": results}


SUMMARY_COLUMNS = ("scenario", "commune_code", "name", "status", "areas", "voters", "solver_status", "gap",
                   "mean_km", "seconds", "errors")
SUMMARY_HEADERS_VI = ("Thư mục", "Mã xã", "Tên xã", "Kết quả", "Số khu vực", "Số cử tri", "Trạng thái giải",
                      "Khoảng cách tối ưu", "Đi lại TB (km)", "Thời gian (giây)", "Lỗi")


def write_summary(summary: dict[str, Any], out: Path) -> None:
    """summary.json and summary.xlsx, each written atomically."""
    import xlsxwriter

    fd, tmp = tempfile.mkstemp(prefix=".summary.", dir=out)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, ensure_ascii=False, indent=2)
    os.replace(tmp, out / "summary.json")
    fd, tmp = tempfile.mkstemp(prefix=".summary.", suffix=".xlsx", dir=out)
    os.close(fd)
    book = xlsxwriter.Workbook(tmp, {"strings_to_formulas": False, "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("Các xã")
    for c, header in enumerate(SUMMARY_HEADERS_VI):
        sheet.write_string(0, c, header, bold)
    for r, row in enumerate(summary["communes_detail"], start=1):
        for c, column in enumerate(SUMMARY_COLUMNS):
            value = row.get(column)
            if column == "errors":
                sheet.write_string(r, c, "; ".join(value or []))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, "" if value is None else str(value))
    totals = book.add_worksheet("Tổng hợp")
    rows = [("Số xã", summary["communes"]), ("Số khu vực bỏ phiếu", summary["totals"]["areas"]),
            ("Số cử tri", summary["totals"]["voters"]), ("Thời gian (giây)", summary["seconds"]),
            ("Xã mỗi phút", summary["totals"]["communes_per_minute"] or 0)]
    rows += [(f"Kết quả: {k}", v) for k, v in sorted(summary["by_status"].items())]
    for r, (label, value) in enumerate(rows):
        totals.write_string(r, 0, label, bold)
        totals.write_number(r, 1, value)
    book.close()
    os.replace(tmp, out / "summary.xlsx")

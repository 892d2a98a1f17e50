"""The ``pollplan`` command line.

Exit codes: 0 success; 1 invalid scenario or invalid plan; 2 usage error (bad option, folder
that cannot take a plan); 3 no valid plan exists (the reasons are printed); 4 internal error.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from planner.findings import Finding, InfeasibleError, ScenarioError, errors_of, warnings_of
from planner.messages import decimal, stage_label

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INFEASIBLE, EXIT_INTERNAL = 0, 1, 2, 3, 4

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Lập khu vực bỏ phiếu cho xã, phường / Polling-area planner for Vietnamese communes.")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Lang(str, Enum):
    vi = "vi"
    en = "en"


LangOption = typer.Option(Lang(os.environ.get("POLLPLAN_LANG", "vi")) if os.environ.get("POLLPLAN_LANG") in ("vi", "en")
                          else Lang.vi, "--lang", help="Ngôn ngữ thông báo / message language (vi, en).")


StoreOption = typer.Option(None, "--store", help="URL kho phương án / plan store URL (mặc định SCENARIO/_plans.sqlite)")


def _t(lang: Lang, vi: str, en: str) -> str:
    return vi if lang == Lang.vi else en


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _print_findings(findings: list[Finding], lang: Lang, console: Console = out) -> None:
    for finding in findings:
        style = "red" if finding.severity == "error" else "yellow"
        console.print(finding.format(lang.value), style=style, markup=False)


@app.command()
def validate(scenario: Path = typer.Argument(..., help="Thư mục kịch bản hoặc tệp .gpkg / scenario folder or .gpkg"),
             lang: Lang = LangOption,
             as_json: bool = typer.Option(False, "--json", help="In kết quả dạng JSON / print JSON")) -> None:
    """Kiểm tra dữ liệu kịch bản, liệt kê mọi lỗi / Validate a scenario, listing every problem."""
    from planner.validation import load_scenario

    try:
        loaded = load_scenario(scenario)
        findings = list(loaded.findings)
    except ScenarioError as exc:
        findings = exc.findings
    errors = errors_of(findings)
    if as_json:
        print(json.dumps({"valid": not errors, "findings": [f.to_dict(lang.value) for f in findings]},
                         ensure_ascii=False, indent=2))
    else:
        _print_findings(findings, lang)
        out.print(_t(lang, f"{len(errors)} lỗi, {len(warnings_of(findings))} cảnh báo.",
                     f"{_plural(len(errors), 'error')}, {_plural(len(warnings_of(findings)), 'warning')}."),
                  markup=False)
        out.print(_t(lang, "Kịch bản hợp lệ." if not errors else "Kịch bản KHÔNG hợp lệ.",
                     "The scenario is valid." if not errors else "The scenario is NOT valid."), markup=False)
    raise typer.Exit(EXIT_INVALID if errors else EXIT_OK)


@app.command()
def check(scenario: Path = typer.Argument(..., help="Thư mục kịch bản / scenario folder"),
          plan: Path = typer.Argument(..., help="Thư mục phương án / plan folder"),
          lang: Lang = LangOption,
          as_json: bool = typer.Option(False, "--json", help="In kết quả dạng JSON / print JSON")) -> None:
    """Kiểm tra lại phương án theo mọi quy tắc / Re-check a plan against every hard rule."""
    from planner.checker import check_plan
    from planner.plan import read_plan
    from planner.validation import load_scenario

    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        _print_findings(errors_of(exc.findings), lang, err)
        err.print(_t(lang, "Kịch bản không hợp lệ; hãy chạy pollplan validate.",
                     "The scenario is not valid; run pollplan validate."), markup=False)
        raise typer.Exit(EXIT_INVALID)
    files, findings = read_plan(plan)
    if files is None and not plan.is_dir():
        _print_findings(findings, lang, err)
        raise typer.Exit(EXIT_USAGE)
    if files is not None:
        findings += check_plan(loaded, files)
    errors = errors_of(findings)
    if as_json:
        print(json.dumps({"valid": not errors, "findings": [f.to_dict(lang.value) for f in findings]},
                         ensure_ascii=False, indent=2))
    else:
        _print_findings(findings, lang)
        out.print(_t(lang, f"Phương án {'hợp lệ' if not errors else 'KHÔNG hợp lệ'}: {len(errors)} vi phạm, "
                           f"{len(warnings_of(findings))} cảnh báo.",
                     f"The plan is {'valid' if not errors else 'NOT valid'}: {_plural(len(errors), 'violation')}, "
                     f"{_plural(len(warnings_of(findings)), 'warning')}."), markup=False)
    raise typer.Exit(EXIT_INVALID if errors else EXIT_OK)


def _run_solve(scenario: Path, out_dir: Path, *, areas: Optional[int], max_travel_km: Optional[float],
               time_limit: float, seed: int, method: str, lang: Lang, quiet: bool,
               pins: tuple[tuple[str, str], ...] = (), open_sites: tuple[str, ...] = (),
               closed_sites: tuple[str, ...] = (), existing: Optional[Path] = None,
               keep_weight: float = 0.0, travel: Optional[str] = None, contiguity: Optional[str] = None,
               store: Optional[str] = None, author: str = "planner") -> None:
    from planner.pipeline import SolveOptions, existing_sites, plan_scenario
    from planner.plan import PlanFolderError, write_plan
    from planner.validation import load_scenario

    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        _print_findings(exc.findings, lang, err)
        err.print(_t(lang, "Kịch bản không hợp lệ; không ghi phương án nào.",
                     "The scenario is not valid; no plan was written."), markup=False)
        raise typer.Exit(EXIT_INVALID)
    try:
        previous = existing_sites(existing) if existing is not None else None
    except ScenarioError as exc:
        _print_findings(exc.findings, lang, err)
        raise typer.Exit(EXIT_USAGE)
    options = SolveOptions(areas=areas, max_travel_km=max_travel_km, time_limit=time_limit, seed=seed,
                           method=method, pins=pins, open_sites=open_sites, closed_sites=closed_sites,
                           existing=previous, keep_weight=keep_weight, travel=travel, contiguity=contiguity)

    def progress(stage: str, fraction: float) -> None:
        if not quiet:
            err.print(f"  {stage_label(stage, lang.value)}: {fraction:.0%}", markup=False)

    if not quiet:
        err.print(_t(lang, f"Đang lập phương án cho {loaded.config.name} ({len(loaded.units)} đơn vị, "
                           f"{len(loaded.sites)} điểm bỏ phiếu)…",
                     f"Planning {loaded.config.name} ({len(loaded.units)} units, {len(loaded.sites)} sites)…"),
                  markup=False)
    try:
        outcome = plan_scenario(loaded, options, on_progress=progress)
    except ScenarioError as exc:
        _print_findings(exc.findings, lang, err)
        raise typer.Exit(EXIT_USAGE)
    except InfeasibleError as exc:
        _print_findings(exc.findings, lang, err)
        err.print(_t(lang, "Không có phương án hợp lệ; không ghi phương án nào.",
                     "No valid plan exists; no plan was written."), markup=False)
        raise typer.Exit(EXIT_INFEASIBLE)
    try:
        write_plan(outcome.plan, outcome.outlines, out_dir)
    except PlanFolderError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(EXIT_USAGE)
    if not quiet:
        _print_findings(list(outcome.warnings), lang, err)
    _print_summary(outcome, lang)
    out.print(_t(lang, f"Đã ghi phương án vào {out_dir}", f"Plan written to {out_dir}"), markup=False)
    if store is not None:
        _record_version(loaded, outcome.plan, store, author, lang)


def _plan_body(plan) -> dict:
    return {"assignment": dict(plan.assignment), "areas": [dict(a) for a in plan.areas], "report": dict(plan.report)}


def _open_store(scenario_path: Path, url: str):
    from planner.store import PlanStore, default_url

    return PlanStore(url or default_url(scenario_path))


def _record_version(loaded, plan, url: str, author: str, lang: Lang) -> None:
    from planner.store import StoreError

    try:
        store = _open_store(loaded.path, url)
    except Exception as exc:  # an unreachable database: the plan folder is written either way
        err.print(_t(lang, f"Không mở được kho phương án: {exc}", f"Could not open the plan store: {exc}"),
                  markup=False)
        return
    try:
        head = store.head(loaded.config.commune_code)
        version = store.save(commune_code=loaded.config.commune_code, name=loaded.config.name,
                             path=str(loaded.path), plan=_plan_body(plan), author=author,
                             base=head.number if head else None)
    except StoreError as exc:
        err.print(exc.vi if lang == Lang.vi else exc.en, markup=False)
        return
    finally:
        store.close()
    out.print(_t(lang, f"Đã lưu phiên bản số {version.number} (bản nháp) vào kho phương án",
                 f"Recorded as version {version.number} (draft) in the plan store"), markup=False)


def _print_summary(outcome, lang: Lang) -> None:
    from planner.pipeline import summary_table

    report = outcome.plan.report
    table = Table(title=_t(lang, "Khu vực bỏ phiếu", "Polling areas"))
    headers = (_t(lang, "Khu vực", "Area"), _t(lang, "Cử tri", "Voters"), _t(lang, "Điểm bỏ phiếu", "Polling site"),
               _t(lang, "Số đơn vị", "Units"), _t(lang, "TB (km)", "Mean (km)"), _t(lang, "Tối đa (km)", "Max (km)"))
    for header in headers:
        table.add_column(header, justify="right" if header not in headers[2:3] else "left")
    for row in summary_table(outcome.outlines).itertuples(index=False):
        table.add_row(row.area_id, _num(row.voters, lang), f"{row.site_name} ({row.site_id})",
                      str(row.n_units), _dec(row.mean_km, lang), _dec(row.max_km, lang))
    for area in outcome.plan.areas:
        if area["kind"] == "special":
            table.add_row(area["area_id"], _num(area["voters"], lang),
                          _t(lang, f"khu vực riêng của cơ sở {area['facility_id']}",
                             f"separate area of facility {area['facility_id']}"), "-", "-", "-")
    out.print(table)
    totals, solver_info, objective = report["totals"], report["solver"], report["objective"]
    gap = objective["gap"]
    voters = _num(totals["voters"], lang)
    if lang == Lang.vi:
        status = {"optimal": "tối ưu (đã chứng minh)", "feasible": "hợp lệ, chưa chứng minh tối ưu",
                  "timeout": "hết thời gian"}.get(solver_info["status"], solver_info["status"])
        text = (f"{totals['regular_areas']} khu vực thường, {totals['special_areas']} khu vực riêng; {voters} cử tri; "
                f"đi lại trung bình {_dec(totals['mean_km'], lang)} km, tối đa {_dec(totals['max_km'], lang)} km; "
                f"kết quả {status} ({solver_info['method']}), {_dec(solver_info['seconds'], lang, 1)} giây"
                + (f"; khoảng cách tối ưu ≤ {_dec(100 * gap, lang)}%" if gap is not None else ""))
    else:
        text = (f"{totals['regular_areas']} regular areas, {totals['special_areas']} separate areas; {voters} voters; "
                f"mean travel {totals['mean_km']:.2f} km, max {totals['max_km']:.2f} km; "
                f"status {solver_info['status']} ({solver_info['method']}), {solver_info['seconds']:.1f} s"
                + (f"; optimality gap ≤ {gap:.2%}" if gap is not None else ""))
    out.print(text, markup=False)


def _dec(value: float, lang: Lang, digits: int = 2) -> str:
    """A decimal in the reader's convention: 0,80 in Vietnamese, 0.80 in English."""
    return decimal(value, lang.value, digits)


def _num(value: int, lang: Lang) -> str:
    text = f"{int(value):,}"
    return text.replace(",", ".") if lang == Lang.vi else text


@app.command()
def solve(scenario: Path = typer.Argument(..., help="Thư mục kịch bản hoặc tệp .gpkg / scenario folder or .gpkg"),
          out_dir: Path = typer.Option(..., "--out", help="Thư mục ghi phương án / plan folder to write"),
          areas: Optional[int] = typer.Option(None, "--areas", min=1, help="Số khu vực thường / number of regular areas"),
          max_travel_km: Optional[float] = typer.Option(None, "--max-travel-km", min=0.01,
                                                        help="Quãng đường tối đa (km) / travel bound (km)"),
          time_limit: float = typer.Option(60.0, "--time-limit", min=0.1, help="Giây / seconds"),
          seed: int = typer.Option(0, "--seed", help="Hạt giống ngẫu nhiên / random seed"),
          method: str = typer.Option("auto", "--method", help="auto | exact | construction"),
          travel: Optional[str] = typer.Option(None, "--travel",
                                               help="straight_line | road_km (mặc định: road_km khi có roads.geojson)"),
          contiguity: Optional[str] = typer.Option(None, "--contiguity", help="touching | roads"),
          pin: list[str] = typer.Option([], "--pin", help="Ghim đơn vị vào điểm / pin a unit to a site: UNIT=SITE"),
          open_site: list[str] = typer.Option([], "--open", help="Buộc mở điểm / force a site open"),
          close_site: list[str] = typer.Option([], "--close", help="Buộc đóng điểm / force a site closed"),
          existing: Optional[Path] = typer.Option(None, "--existing",
                                                  help="Phương án hiện có / existing plan to keep close to"),
          keep_weight: float = typer.Option(50.0, "--keep-weight", min=0.0,
                                            help="Phạt mỗi đơn vị bị chuyển (cử tri-km) / penalty per moved unit"),
          store: Optional[str] = typer.Option(None, "--store", help="URL kho phương án / plan store URL "
                                              "(mặc định SCENARIO/_plans.sqlite)"),
          no_store: bool = typer.Option(False, "--no-store", help="Không lưu vào kho / do not record a version"),
          author: str = typer.Option(os.environ.get("USER") or "planner", "--author", help="Người lập / author"),
          lang: Lang = LangOption,
          quiet: bool = typer.Option(False, "--quiet", "-q")) -> None:
    """Lập phương án khu vực bỏ phiếu / Build a polling-area plan."""
    from solver.solve import METHODS

    if method not in METHODS:
        err.print(_t(lang, f"--method {method!r}: chọn một trong {', '.join(METHODS)}",
                     f"--method {method!r}: choose one of {', '.join(METHODS)}"), markup=False)
        raise typer.Exit(EXIT_USAGE)
    from planner.travel import CONTIGUITY_MODES, TRAVEL_METRICS

    if travel is not None and travel not in TRAVEL_METRICS:
        err.print(_t(lang, f"--travel {travel!r}: chọn một trong {', '.join(TRAVEL_METRICS)}",
                     f"--travel {travel!r}: choose one of {', '.join(TRAVEL_METRICS)}"), markup=False)
        raise typer.Exit(EXIT_USAGE)
    if contiguity is not None and contiguity not in CONTIGUITY_MODES:
        err.print(_t(lang, f"--contiguity {contiguity!r}: chọn một trong {', '.join(CONTIGUITY_MODES)}",
                     f"--contiguity {contiguity!r}: choose one of {', '.join(CONTIGUITY_MODES)}"), markup=False)
        raise typer.Exit(EXIT_USAGE)
    both = sorted(set(open_site) & set(close_site))
    if both:
        err.print(_t(lang, f"Điểm {', '.join(both)} vừa bị buộc mở vừa bị buộc đóng",
                     f"Site {', '.join(both)} is both forced open and forced closed"), markup=False)
        raise typer.Exit(EXIT_USAGE)
    pins = []
    for item in pin:
        unit, sep, site = item.partition("=")
        if not sep or not unit.strip() or not site.strip():
            err.print(f"--pin {item!r}: UNIT=SITE", markup=False)
            raise typer.Exit(EXIT_USAGE)
        pins.append((unit.strip(), site.strip()))
    _run_solve(scenario, out_dir, areas=areas, max_travel_km=max_travel_km, time_limit=time_limit, seed=seed,
               method=method, lang=lang, quiet=quiet, pins=tuple(pins), open_sites=tuple(open_site),
               closed_sites=tuple(close_site), existing=existing, keep_weight=keep_weight, travel=travel,
               contiguity=contiguity, store=None if no_store else (store or ""), author=author)


@app.command()
def tradeoff(scenario: Path = typer.Argument(..., help="Thư mục kịch bản / scenario folder"),
             out_file: Optional[Path] = typer.Option(None, "--out", help="Tệp CSV kết quả / CSV file to write"),
             min_areas: Optional[int] = typer.Option(None, "--min-areas", min=1),
             max_areas: Optional[int] = typer.Option(None, "--max-areas", min=1),
             time_limit: float = typer.Option(10.0, "--time-limit", min=0.1, help="Giây cho mỗi số khu vực / seconds per count"),
             seed: int = typer.Option(0, "--seed"),
             lang: Lang = LangOption) -> None:
    """Đường cân bằng số khu vực - quãng đường / Areas against mean and max travel."""
    from planner.tradeoff import tradeoff_curve, write_curve
    from planner.validation import load_scenario

    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        _print_findings(exc.findings, lang, err)
        raise typer.Exit(EXIT_INVALID)

    def progress(count: int, done: int, total: int) -> None:
        err.print(_t(lang, f"  {count} khu vực ({done}/{total})", f"  {count} areas ({done}/{total})"), markup=False)

    target = out_file or Path(f"tradeoff-{loaded.config.commune_code}.csv")
    if target.is_dir():
        err.print(_t(lang, f"--out {target} là một thư mục; hãy cho tên tệp .csv",
                     f"--out {target} is a folder; give a .csv file name"), markup=False)
        raise typer.Exit(EXIT_USAGE)
    curve = tradeoff_curve(loaded, min_areas=min_areas, max_areas=max_areas, time_limit=time_limit, seed=seed,
                           on_progress=progress)
    if curve.low > curve.high:
        err.print(_t(lang, f"Không có số khu vực nào trong khoảng yêu cầu: khả thi từ {curve.feasible_low} đến "
                           f"{curve.feasible_high}",
                     f"No area count in the requested range: feasible counts are {curve.feasible_low} to "
                     f"{curve.feasible_high}"), markup=False)
        raise typer.Exit(EXIT_USAGE)
    if not curve.rows:
        _print_findings(list(curve.reasons), lang, err)
        raise typer.Exit(EXIT_INFEASIBLE)
    table = Table(title=_t(lang, "Số khu vực và quãng đường đi bỏ phiếu", "Areas against travel"))
    for header in (_t(lang, "Số khu vực", "Areas"), _t(lang, "TB (km)", "Mean (km)"), _t(lang, "P95 (km)", "P95 (km)"),
                   _t(lang, "Tối đa (km)", "Max (km)"), _t(lang, "Cử tri-km", "Voter-km"),
                   _t(lang, "Trạng thái", "Status")):
        table.add_column(header, justify="right")
    for row in curve.rows:
        table.add_row(str(row["areas"]), _dec(row["mean_km"], lang, 3), _dec(row["p95_km"], lang, 3),
                      _dec(row["max_km"], lang, 3), _dec(row["travel_voter_km"], lang, 1), row["status"])
    for count in curve.missing:
        table.add_row(str(count), "-", "-", "-", "-", _t(lang, "không có phương án", "no plan"))
    out.print(table)
    if curve.reasons:
        _print_findings(list(curve.reasons), lang, err)
    write_curve(curve, target)
    out.print(_t(lang, f"Đã ghi {target} và {target.with_suffix('.json')}",
                 f"Wrote {target} and {target.with_suffix('.json')}"), markup=False)


@app.command()
def demo(out_dir: Optional[Path] = typer.Option(None, "--out", help="Thư mục ghi phương án / plan folder"),
         time_limit: float = typer.Option(60.0, "--time-limit", min=0.1),
         seed: int = typer.Option(0, "--seed"),
         lang: Lang = LangOption) -> None:
    """Lập phương án cho xã mẫu đi kèm / Plan the embedded demo commune (no server started)."""
    from importlib.resources import as_file, files

    target = out_dir or Path(tempfile.gettempdir()) / "pollplan-demo-plan"
    with as_file(files("pollplan_data") / "demo") as demo_path:
        out.print(_t(lang, f"Xã mẫu: {demo_path}", f"Demo commune: {demo_path}"), markup=False)
        _run_solve(Path(demo_path), target, areas=None, max_travel_km=None, time_limit=time_limit, seed=seed,
                   method="auto", lang=lang, quiet=False)


def _load_plan_or_exit(scenario: Path, plan: Path, lang: Lang):
    from planner.plan import read_plan
    from planner.validation import load_scenario

    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        _print_findings(errors_of(exc.findings), lang, err)
        raise typer.Exit(EXIT_INVALID)
    files, findings = read_plan(plan)
    if files is None:
        _print_findings(findings, lang, err)
        raise typer.Exit(EXIT_INVALID)
    if loaded.registry is None:
        err.print(_t(lang, "Kịch bản không có danh sách cư dân voters.csv.", "The scenario has no voters.csv registry."),
                  markup=False)
        raise typer.Exit(EXIT_INVALID)
    return loaded, files


@app.command()
def voters(scenario: Path = typer.Argument(..., help="Thư mục kịch bản / scenario folder"),
           plan: Path = typer.Argument(..., help="Thư mục phương án / plan folder"),
           out_dir: Optional[Path] = typer.Option(None, "--out", help="Thư mục ghi / output folder (PLAN/voters)"),
           formats: str = typer.Option("xlsx,pdf", "--format", help="xlsx,pdf"),
           cards: bool = typer.Option(True, "--cards/--no-cards", help="Thẻ cử tri / voter cards"),
           lang: Lang = LangOption) -> None:
    """Danh sách cử tri và thẻ cử tri theo khu vực / Voter lists and cards per area."""
    from planner.voterexport import FORMATS, export_voter_documents

    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    if not chosen or any(f not in FORMATS for f in chosen):
        err.print(f"--format: {formats!r} (xlsx, pdf)", markup=False)
        raise typer.Exit(EXIT_USAGE)
    loaded, files = _load_plan_or_exit(scenario, plan, lang)
    target = out_dir or plan.parent / f"{plan.name}-voters"

    def progress(stage: str, fraction: float) -> None:
        err.print(f"  {stage}: {fraction:.0%}", markup=False)

    export = export_voter_documents(loaded, files, target, formats=chosen, cards=cards, on_progress=progress)
    _print_voter_summary(export.lists, lang)
    out.print(_t(lang, f"Đã ghi {len(export.files)} tệp vào {target}", f"Wrote {len(export.files)} files to {target}"),
              markup=False)


def _print_voter_summary(lists, lang: Lang) -> None:
    table = Table(title=_t(lang, "Danh sách cử tri", "Voter lists"))
    for header in (_t(lang, "Khu vực", "Area"), _t(lang, "Cử tri", "Voters"), _t(lang, "Nam", "Men"),
                   _t(lang, "Nữ", "Women"), "QH", _t(lang, "Tỉnh", "Province"), _t(lang, "Xã", "Commune")):
        table.add_column(header, justify="right")
    for area in lists.lists:
        if area.confidential:
            table.add_row(area.area_id, _t(lang, "(bảo mật)", "(confidential)"), "", "", "", "", "")
            continue
        t = area.totals()
        table.add_row(area.area_id, _num(t["voters"], lang), _num(t["male"], lang), _num(t["female"], lang),
                      _num(t["ballot_na"], lang), _num(t["ballot_province"], lang), _num(t["ballot_commune"], lang))
    out.print(table)
    report = lists.report["total"]
    from planner.eligibility import REASON_LABELS

    labels = {k: (REASON_LABELS.get(k, (k, k))[0 if lang == Lang.vi else 1]) for k in report}
    out.print(_t(lang, "Theo lý do: ", "By reason: ") + ", ".join(f"{labels[k]} {v}" for k, v in report.items())
              + _t(lang, f"; trùng lặp đã xử lý {lists.report['duplicates_resolved']}",
                   f"; duplicates resolved {lists.report['duplicates_resolved']}"), markup=False)


def _approved_version(loaded, files, url: str) -> int | None:
    """The number of the approved (or exported) stored version this plan folder is, if any."""
    site_of_area = dict(zip(files.areas["area_id"], files.areas["site_id"]))
    sites = {u: site_of_area.get(a, "") for u, a in zip(files.assignment["unit_id"], files.assignment["area_id"])}
    opened = _open_store(loaded.path, url)
    try:
        for version in reversed(opened.versions(loaded.config.commune_code)):
            if version.state not in ("approved", "exported"):
                continue
            stored_site = {a["area_id"]: a.get("site_id", "") for a in version.plan["areas"]}
            if {u: stored_site.get(a, "") for u, a in version.plan["assignment"].items()} == sites:
                return version.number
    finally:
        opened.close()
    return None


@app.command("voters-change")
def voters_change(scenario: Path = typer.Argument(..., help="Thư mục kịch bản / scenario folder"),
                  plan: Path = typer.Argument(..., help="Thư mục phương án / plan folder"),
                  changes: Path = typer.Argument(..., help="Tệp CSV yêu cầu thay đổi / changes CSV"),
                  out_dir: Optional[Path] = typer.Option(None, "--out", help="Thư mục ghi / output folder"),
                  formats: str = typer.Option("xlsx,pdf", "--format"),
                  cards: bool = typer.Option(False, "--cards/--no-cards"),
                  store: Optional[str] = StoreOption,
                  draft: bool = typer.Option(False, "--draft", help="Cho phép phương án chưa phê duyệt (thử) / "
                                                                    "allow a plan that is not approved (trial)"),
                  lang: Lang = LangOption) -> None:
    """Sửa đổi danh sách cử tri đến 24 giờ trước bầu cử / Amend voter lists until 24 h before voting."""
    import csv as csv_module

    from planner.changes import CHANGE_COLUMNS, apply_changes
    from planner.sources import read_csv
    from planner.voterexport import export_voter_documents
    from planner.voterlists import build_lists

    loaded, files = _load_plan_or_exit(scenario, plan, lang)
    if not draft:
        version = _approved_version(loaded, files, store or "")
        if version is None:
            err.print(_t(lang, "Phương án này không phải một phiên bản đã phê duyệt trong kho; hãy phê duyệt trước "
                               "(pollplan approve) hoặc dùng --draft để thử",
                         "This plan is not an approved version in the plan store; approve it first "
                         "(pollplan approve) or use --draft for a trial"), markup=False)
            raise typer.Exit(EXIT_INVALID)
        out.print(_t(lang, f"Phương án đã phê duyệt: phiên bản {version}", f"Approved plan: version {version}"),
                  markup=False)
    findings: list[Finding] = []
    layer = read_csv(changes, "changes", findings) if changes.exists() else None
    if layer is None:
        _print_findings(findings or [Finding("error", "missing_file", changes.name, params={"name": str(changes)})],
                        lang, err)
        raise typer.Exit(EXIT_INVALID)
    missing = [c for c in ("action", "citizen_id", "requested_at") if c not in layer.columns]
    if missing:
        _print_findings([Finding("error", "missing_column", changes.name, field=c, params={"column": c})
                         for c in missing], lang, err)
        raise typer.Exit(EXIT_INVALID)
    import pandas as pd

    frame = pd.DataFrame([{c: r.get(c, "") for c in CHANGE_COLUMNS} for r in layer.records], columns=list(CHANGE_COLUMNS))
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    amended, results = apply_changes(build_lists(loaded, files), frame, loaded)
    target = out_dir or plan.parent / f"{plan.name}-voters-amended"
    export_voter_documents(loaded, files, target, formats=tuple(f for f in formats.split(",") if f),
                                    cards=cards, lists=amended)
    with open(target / "changes-log.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv_module.writer(handle, lineterminator="\n")
        writer.writerow(["line", "action", "citizen_id", "accepted", "from_area", "to_area", "message", "message_en"])
        for r in results:
            writer.writerow([r.line, r.action, r.citizen_id, "yes" if r.accepted else "no", r.from_area, r.to_area,
                             r.message_vi, r.message_en])
    for r in results:
        style = "green" if r.accepted else "red"
        message = r.message_vi if lang == Lang.vi else r.message_en
        out.print(f"{_t(lang, 'dòng', 'line')} {r.line} {r.action} {r.citizen_id}: {message}", style=style, markup=False)
    accepted = sum(r.accepted for r in results)
    out.print(_t(lang, f"{accepted}/{len(results)} yêu cầu được chấp nhận; đã ghi {target}",
                 f"{accepted}/{len(results)} requests accepted; wrote {target}"), markup=False)
    raise typer.Exit(EXIT_OK if accepted == len(results) else EXIT_INVALID)




@app.command()
def plans(scenario: Path = typer.Argument(..., help="Thư mục kịch bản / scenario folder"),
          store: Optional[str] = StoreOption, lang: Lang = LangOption) -> None:
    """Các phiên bản phương án / List the plan versions."""
    from planner.validation import load_scenario

    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        _print_findings(errors_of(exc.findings), lang, err)
        raise typer.Exit(EXIT_INVALID)
    opened = _open_store(loaded.path, store or "")
    found = opened.versions(loaded.config.commune_code)
    table = Table(title=_t(lang, f"Phiên bản phương án - {loaded.config.name}", f"Plan versions - {loaded.config.name}"))
    for header in (_t(lang, "Số", "No."), _t(lang, "Trạng thái", "State"), _t(lang, "Người lập", "Author"),
                   _t(lang, "Thời gian", "Created"), _t(lang, "Từ bản", "Parent"), _t(lang, "Khu vực", "Areas"),
                   _t(lang, "TB (km)", "Mean (km)"), _t(lang, "Phê duyệt", "Approved by"), "SHA-256"):
        table.add_column(header)
    for v in found:
        report = v.plan.get("report", {})
        totals = report.get("totals", {})
        approval = opened.approval(loaded.config.commune_code, v.number) if v.state in ("approved", "exported") else None
        table.add_row(str(v.number), _state(v.state, lang), v.author, v.created_at.strftime("%Y-%m-%d %H:%M"),
                      str(v.parent or ""), str(totals.get("regular_areas", "")), str(totals.get("mean_km", "")),
                      approval["author"] if approval else "", v.checksum[:12])
    out.print(table)
    opened.close()
    if not found:
        out.print(_t(lang, "Chưa có phiên bản nào; chạy pollplan solve.", "No version yet; run pollplan solve."),
                  markup=False)


def _state(state: str, lang: Lang) -> str:
    labels = {"draft": "bản nháp", "proposed": "đề xuất", "approved": "đã phê duyệt", "exported": "đã xuất"}
    return labels.get(state, state) if lang == Lang.vi else state


def _transition(scenario: Path, number: int, state: str, actor: str, comment: str, store: Optional[str],
                lang: Lang) -> None:
    from planner.store import StoreError
    from planner.validation import load_scenario

    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        _print_findings(errors_of(exc.findings), lang, err)
        raise typer.Exit(EXIT_INVALID)
    opened = _open_store(loaded.path, store or "")
    try:
        version = opened.transition(loaded.config.commune_code, number, state, actor=actor, comment=comment)
    except StoreError as exc:
        err.print(exc.vi if lang == Lang.vi else exc.en, markup=False)
        raise typer.Exit(EXIT_INVALID)
    finally:
        opened.close()
    out.print(_t(lang, f"Phiên bản {version.number}: {_state(version.state, lang)} ({actor})",
                 f"Version {version.number}: {version.state} ({actor})"), markup=False)


@app.command()
def propose(scenario: Path = typer.Argument(...), version: int = typer.Argument(..., min=1),
            by: str = typer.Option(..., "--by", help="Người đề xuất / who proposes"),
            store: Optional[str] = StoreOption, lang: Lang = LangOption) -> None:
    """Đề xuất một phiên bản để phê duyệt / Propose a version for approval."""
    _transition(scenario, version, "proposed", by, "", store, lang)


@app.command()
def approve(scenario: Path = typer.Argument(...), version: int = typer.Argument(..., min=1),
            by: str = typer.Option(..., "--by", help="Người phê duyệt / approver"),
            comment: str = typer.Option("", "--comment", help="Ý kiến / comment"),
            store: Optional[str] = StoreOption, lang: Lang = LangOption) -> None:
    """Phê duyệt phiên bản (không sửa được nữa) / Approve a version (it becomes immutable)."""
    _transition(scenario, version, "approved", by, comment, store, lang)


def _plan_files_of(body: dict):
    import pandas as pd

    from planner.plan import AREA_COLUMNS, PlanFiles

    assignment = pd.DataFrame(sorted(body["assignment"].items()), columns=["unit_id", "area_id"], dtype=object)
    areas = pd.DataFrame([{c: "" if a.get(c) is None else str(a.get(c)) for c in AREA_COLUMNS} for a in body["areas"]],
                         columns=list(AREA_COLUMNS), dtype=object)
    return PlanFiles(assignment, areas, body.get("report", {}))


@app.command("export")
def export_command(plan: Path = typer.Argument(..., help="Thư mục phương án, hoặc thư mục kịch bản khi dùng --version"),
                   formats: str = typer.Option("gpkg,shp,geojson,kml,xlsx,csv,docx,pdf,json", "--format",
                                               help="gpkg,shp,geojson,kml,xlsx,csv,docx,pdf,json"),
                   out_dir: Optional[Path] = typer.Option(None, "--out", help="Thư mục ghi / output folder"),
                   scenario: Optional[Path] = typer.Option(None, "--scenario", help="Kịch bản (mặc định: theo report.json)"),
                   version: Optional[int] = typer.Option(None, "--version", min=1, help="Phiên bản trong kho / stored version"),
                   by: str = typer.Option(os.environ.get("USER") or "planner", "--by"),
                   store: Optional[str] = StoreOption, lang: Lang = LangOption) -> None:
    """Xuất phương án: GIS, bảng tính, phụ lục quyết định, tệp trao đổi / Export a plan."""
    import json as json_module

    from planner.exports import FORMATS, ExportContext, export_plan
    from planner.plan import read_plan
    from planner.store import StoreError
    from planner.validation import load_scenario

    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    if not chosen or any(f not in FORMATS for f in chosen):
        err.print(f"--format {formats!r}: {', '.join(FORMATS)}", markup=False)
        raise typer.Exit(EXIT_USAGE)
    if version is not None:
        scenario_path = scenario or plan
    else:
        files, findings = read_plan(plan)
        if files is None:
            _print_findings(findings, lang, err)
            raise typer.Exit(EXIT_USAGE)
        scenario_path = scenario or Path(files.report.get("scenario", {}).get("path", ""))
    try:
        loaded = load_scenario(scenario_path)
    except ScenarioError as exc:
        _print_findings(errors_of(exc.findings), lang, err)
        raise typer.Exit(EXIT_INVALID)
    opened = None
    if version is not None:
        opened = _open_store(loaded.path, store or "")
        try:
            stored = opened.version(loaded.config.commune_code, version)
        except StoreError as exc:
            err.print(exc.vi if lang == Lang.vi else exc.en, markup=False)
            raise typer.Exit(EXIT_USAGE)
        files = _plan_files_of(stored.plan)
        target = out_dir or Path(f"export-{loaded.config.commune_code}-v{version}")
    else:
        target = out_dir or plan.parent / f"{plan.name}-export"
    written = export_plan(ExportContext(loaded, files, version), target, chosen)
    if opened is not None:
        if stored.state == "approved":
            opened.transition(loaded.config.commune_code, version, "exported", actor=by,
                              comment=json_module.dumps([p.name for p in written], ensure_ascii=False))
        opened.close()
    for path in written:
        out.print(str(path), markup=False)
    out.print(_t(lang, f"Đã xuất {len(written)} tệp vào {target}", f"Exported {len(written)} files to {target}"),
              markup=False)


@app.command()
def batch(source: Path = typer.Argument(..., help="Thư mục các xã (mỗi xã một thư mục con) hoặc tệp .gpkg của tỉnh"),
          out_dir: Path = typer.Option(..., "--out", help="Thư mục ghi phương án các xã / output folder"),
          scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Địa chỉ cụm Dask / Dask scheduler address"),
          workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Số tiến trình (cụm cục bộ)"),
          memory_limit: str = typer.Option("4GB", "--memory-limit", help="Bộ nhớ mỗi tiến trình / memory per worker"),
          time_limit: float = typer.Option(30.0, "--time-limit", min=0.1, help="Giây cho mỗi xã / seconds per commune"),
          retries: int = typer.Option(2, "--retries", min=0, help="Thử lại khi lỗi tạm thời / retries"),
          seed: int = typer.Option(0, "--seed"),
          lang: Lang = LangOption) -> None:
    """Lập phương án cho nhiều xã trên Dask / Plan many communes on Dask."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from planner.batch import BatchOptions, run_batch

    if not source.exists():
        err.print(_t(lang, f"Không tìm thấy {source}", f"{source} does not exist"), markup=False)
        raise typer.Exit(EXIT_USAGE)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err) as progress:
        task = progress.add_task(_t(lang, "Các xã", "Communes"), total=None)

        def advance(result: dict, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total,
                            description=f"{result['scenario']}: {result['status']}")

        summary = run_batch(source, out_dir, scheduler=scheduler, workers=workers, memory_limit=memory_limit,
                            retries=retries, options=BatchOptions(time_limit=time_limit, seed=seed),
                            on_progress=advance)
    table = Table(title=_t(lang, "Kết quả theo xã", "Communes"))
    for header in (_t(lang, "Xã", "Commune"), _t(lang, "Kết quả", "Result"), _t(lang, "Khu vực", "Areas"),
                   _t(lang, "Cử tri", "Voters"), _t(lang, "Khoảng cách", "Gap"), _t(lang, "Giây", "Seconds"),
                   _t(lang, "Lỗi", "Error")):
        table.add_column(header)
    for r in summary["communes_detail"]:
        table.add_row(r["scenario"], r["status"], str(r["areas"] or ""), _num(r["voters"], lang) if r["voters"] else "",
                      "" if r["gap"] is None else f"{r['gap']:.2%}", "" if r["seconds"] is None else str(r["seconds"]),
                      (r["errors"] or [""])[0][:90])
    out.print(table)
    out.print(_t(lang, f"{summary['communes']} xã trong {_dec(summary['seconds'], lang, 1)} giây "
                       f"({summary['totals']['communes_per_minute']} xã/phút); {summary['by_status']}; "
                       f"tổng hợp: {out_dir / 'summary.json'}, {out_dir / 'summary.xlsx'}",
                 f"{summary['communes']} communes in {summary['seconds']} s "
                 f"({summary['totals']['communes_per_minute']} per minute); {summary['by_status']}; "
                 f"summary: {out_dir / 'summary.json'}, {out_dir / 'summary.xlsx'}"), markup=False)
    bad = sum(v for k, v in summary["by_status"].items() if k not in ("planned", "skipped"))
    raise typer.Exit(EXIT_OK if bad == 0 else EXIT_INVALID)


@app.command("app")
def app_command(scenario: Optional[Path] = typer.Argument(None, help="Thư mục kịch bản (mặc định: xã mẫu)"),
                port: int = typer.Option(8501, "--port"),
                address: str = typer.Option("127.0.0.1", "--address", help="Địa chỉ lắng nghe / listen address"),
                store: Optional[str] = StoreOption,
                tiles: Optional[str] = typer.Option(None, "--tiles", help="URL máy chủ bản đồ nền nội bộ / local tile URL "
                                                    "{z}/{x}/{y}; mặc định không có bản đồ nền")) -> None:
    """Mở ứng dụng xem xét, chỉnh sửa và phê duyệt trên trình duyệt / Start the review app."""
    from importlib.resources import files

    target = scenario or Path(str(files("pollplan_data") / "demo"))
    script = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
               "--server.address", address, "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.enableStaticServing", "true", "--server.fileWatcherType", "none",
               "--theme.base", "light", "--client.toolbarMode", "viewer", "--",
               "--scenario", str(target.resolve())]
    if store:
        command += ["--store", store]
    if tiles:
        command += ["--tiles", tiles]
    out.print(f"http://{address}:{port}", markup=False)
    sys.stdout.flush()
    os.execv(sys.executable, command)  # become the server: stopping pollplan app stops it


users_app = typer.Typer(help="Người dùng ứng dụng / app users", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(scenario: Path = typer.Argument(...), name: str = typer.Argument(...),
              role: str = typer.Option(..., "--role", help="planner | reviewer | viewer"),
              password: Optional[str] = typer.Option(None, "--password", help="(mặc định: hỏi / prompted)"),
              store: Optional[str] = StoreOption, lang: Lang = LangOption) -> None:
    """Thêm hoặc đổi người dùng / Add or update a user (password stored hashed)."""
    from planner.store import StoreError
    from planner.users import add_user

    secret = password if password is not None else typer.prompt(_t(lang, "Mật khẩu", "Password"), hide_input=True,
                                                                confirmation_prompt=True)
    opened = _open_store(scenario, store or "")
    try:
        add_user(opened, name, role, secret)
    except StoreError as exc:
        err.print(exc.vi if lang == Lang.vi else exc.en, markup=False)
        raise typer.Exit(EXIT_USAGE)
    finally:
        opened.close()
    out.print(_t(lang, f"Đã lưu người dùng {name} ({role})", f"Saved user {name} ({role})"), markup=False)


def main() -> None:
    """Console entry point: run the app, turning unexpected failures into a short message (exit 4).

    Usage errors are reported by the command-line parser with exit code 2.
    """
    try:
        app(prog_name="pollplan")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err.print("Interrupted.", markup=False)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("POLLPLAN_DEBUG"):
            raise
        err.print(f"Lỗi nội bộ / internal error: {type(exc).__name__}: {exc}. "
                  "Đặt POLLPLAN_DEBUG=1 để xem chi tiết / set POLLPLAN_DEBUG=1 for details.", markup=False)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()

"""The review app: commune committees see, adjust, re-plan, compare and approve polling areas.

Started by ``pollplan app SCENARIO``. A thin layer over ``planner``: pages read a plan and send
back edit requests; every edit is re-checked at once with the plan checker. Runs offline: Leaflet
comes from this server, the base map is off unless a local tile URL is configured.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path


import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboards.i18n import plan_summary, t
from dashboards.mapview import build_map
from planner import editing
from planner.findings import InfeasibleError, errors_of, warnings_of
from planner.messages import stage_label
from planner.pipeline import SolveOptions, build_problem, plan_scenario
from planner.store import Conflict, PlanStore, StoreError, default_url
from planner.users import authenticate, can
from planner.validation import load_scenario


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--store", default="")
    parser.add_argument("--tiles", default=os.environ.get("POLLPLAN_TILES", ""))
    return parser.parse_args(sys.argv[1:])


ARGS = _arguments()


@st.cache_resource(show_spinner=False)
def scenario_of(path: str, stamp: float):
    """The validated scenario (reloaded when its files change: ``stamp`` is their newest mtime)."""
    return load_scenario(path)


@st.cache_resource(show_spinner=False)
def geometry_of(path: str, stamp: float):
    scenario = scenario_of(path, stamp)
    problem, geometry = build_problem(scenario, SolveOptions())
    ids = problem.unit_ids
    neighbours = {ids[i]: {ids[j] for j in problem.neighbours[i]} for i in range(len(ids))}
    return geometry.distance, neighbours


@st.cache_resource(show_spinner=False)
def store_of(url: str) -> PlanStore:
    return PlanStore(url)


def _stamp(path: str) -> float:
    folder = Path(path)
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith("_")] if folder.is_dir() else [folder]
    return max(p.stat().st_mtime for p in files)


def main() -> None:
    st.set_page_config(page_title="pollplan", layout="wide")
    lang = st.session_state.setdefault("lang", "vi")
    choice = st.sidebar.radio(t("language", lang), ["Tiếng Việt", "English"], index=0 if lang == "vi" else 1,
                              horizontal=True, key="language_choice")
    lang = st.session_state["lang"] = "vi" if choice == "Tiếng Việt" else "en"
    stamp = _stamp(ARGS.scenario)
    scenario = scenario_of(ARGS.scenario, stamp)
    store = store_of(ARGS.store or default_url(Path(ARGS.scenario)))
    st.title(f"{t('title', lang)}: {scenario.config.name}")
    if "user" not in st.session_state:
        sign_in(store, lang)
        return
    role = st.session_state["role"]
    st.sidebar.write(f"**{st.session_state['user']}** ({t('role_' + role, lang)})")
    if st.sidebar.button(t("sign_out", lang)):
        for key in list(st.session_state):
            if key not in ("lang", "language_choice"):
                del st.session_state[key]
        st.rerun()
    pages = ["page_map", "page_edit", "page_replan", "page_tradeoff", "page_compare", "page_approve", "page_downloads"]
    page = st.sidebar.radio(t("page", lang), pages, format_func=lambda p: t(p, lang), key="page")
    versions = store.versions(scenario.config.commune_code)
    load_working_copy(scenario, store, versions, lang)
    if "flash" in st.session_state:
        st.success(st.session_state.pop("flash"))
    plan = st.session_state.get("plan")
    if page == "page_replan":
        replan_page(scenario, lang)
        return
    if page == "page_tradeoff":
        tradeoff_page(scenario, lang)
        return
    if plan is None:
        st.info(t("no_plan", lang))
        return
    if page == "page_map":
        map_page(scenario, plan, lang)
    elif page == "page_edit":
        edit_page(scenario, store, plan, lang)
    elif page == "page_compare":
        compare_page(scenario, versions, plan, lang)
    elif page == "page_approve":
        approve_page(scenario, store, lang)
    elif page == "page_downloads":
        downloads_page(scenario, plan, lang)


def sign_in(store: PlanStore, lang: str) -> None:
    with st.form("sign_in"):
        name = st.text_input(t("user", lang))
        password = st.text_input(t("password", lang), type="password")
        submitted = st.form_submit_button(t("sign_in", lang))
    if submitted:
        role = authenticate(store, name.strip(), password)
        if role is None:
            st.error(t("bad_login", lang))
            return
        st.session_state["user"], st.session_state["role"] = name.strip(), role
        st.rerun()


def load_working_copy(scenario, store: PlanStore, versions, lang: str) -> None:
    """The version shown: the newest by default, or the one picked; edits make an unsaved working copy."""
    numbers = [v.number for v in versions]
    if not numbers:
        return
    labels = {v.number: f"{v.number} - {t('state_' + v.state, lang)} - {v.author}" for v in versions}
    if "pending_version" in st.session_state:
        st.session_state["version_choice"] = st.session_state.pop("pending_version")
    chosen = st.sidebar.selectbox(t("version", lang), list(reversed(numbers)), format_func=lambda n: labels[n],
                                  key="version_choice")
    if st.session_state.get("base") != chosen and not st.session_state.get("dirty"):
        version = next(v for v in versions if v.number == chosen)
        st.session_state["plan"] = dict(version.plan)
        st.session_state["base"] = chosen
    if st.session_state.get("dirty"):
        st.sidebar.warning(t("working", lang))


def _findings(scenario, plan):
    return editing.check(scenario, plan)


def _area_rows(scenario, plan, distance, findings, lang: str) -> pd.DataFrame:
    km = editing.unit_travel(scenario, plan, distance)
    load = scenario.unit_load()
    bad = {f.feature_id for f in errors_of(findings)}
    rows = []
    for area in plan["areas"]:
        if area.get("kind") != "regular":
            continue
        units = [u for u, a in plan["assignment"].items() if a == area["area_id"]]
        weights = load.loc[units].astype(float)
        distances = km.loc[units]
        voters = int(weights.sum())
        site = area.get("site_id", "")
        capacity = int(scenario.sites.at[site, "capacity"]) if site in scenario.sites.index else 0
        order = distances.sort_values()
        cumulative = weights.loc[order.index].cumsum() / max(1.0, weights.sum())
        p95 = float(order[cumulative >= 0.95].iloc[0]) if len(order) else 0.0
        rows.append({t("col_area", lang): area["area_id"], t("col_voters", lang): voters,
                     t("col_site", lang): f"{scenario.sites.at[site, 'name']} ({site})" if capacity else site,
                     t("col_capacity", lang): f"{voters / capacity:.0%}" if capacity else "",
                     t("col_mean", lang): round(float((distances * weights).sum() / max(1.0, weights.sum())), 2),
                     t("col_p95", lang): round(p95, 2), t("col_max", lang): round(float(distances.max()), 2),
                     t("col_status", lang): "✗" if area["area_id"] in bad else t("ok", lang),
                     t("col_units", lang): ", ".join(scenario.units.loc[units, "name"])})
    return pd.DataFrame(rows)


def _show_findings(findings, lang: str) -> None:
    errors = errors_of(findings)
    st.subheader(t("violations", lang))
    if not errors:
        st.success(t("no_violations", lang))
    for finding in errors:
        st.error(finding.format(lang))
    for finding in warnings_of(findings):
        st.warning(finding.format(lang))


def _map(scenario, plan, lang: str, findings, key: str, moved=()) -> None:
    distance, _ = geometry_of(ARGS.scenario, _stamp(ARGS.scenario))
    km = editing.unit_travel(scenario, plan, distance).to_dict()
    show_roads = st.checkbox(t("roads", lang), value=False, key=f"roads_{key}")
    fmap = build_map(scenario, plan, lang=lang, unit_km=km, tiles=ARGS.tiles or None, show_roads=show_roads,
                     violating_areas={f.feature_id for f in errors_of(findings)}, moved_units=moved)
    st_folium(fmap, height=560, use_container_width=True, returned_objects=[], key=f"map_{key}")


def map_page(scenario, plan, lang: str) -> None:
    findings = _findings(scenario, plan)
    _map(scenario, plan, lang, findings, "main")
    distance, _ = geometry_of(ARGS.scenario, _stamp(ARGS.scenario))
    st.subheader(t("areas_table", lang))
    st.table(_area_rows(scenario, plan, distance, findings, lang).set_index(t("col_area", lang)))
    _show_findings(findings, lang)


def edit_page(scenario, store: PlanStore, plan, lang: str) -> None:
    if not can(st.session_state["role"], "edit"):
        st.warning(t("not_allowed", lang))
        return
    distance, neighbours = geometry_of(ARGS.scenario, _stamp(ARGS.scenario))
    names = {u: f"{scenario.units.at[u, 'name']} ({u})" for u in scenario.units.index}
    unit = st.selectbox(t("unit", lang), list(scenario.units.index), format_func=lambda u: names[u], key="edit_unit")
    options = editing.neighbouring_areas(scenario, plan, neighbours, unit)
    if options:
        target = st.selectbox(t("move_to", lang), options, key="edit_target")
        if st.button(t("move", lang), key="edit_move"):
            st.session_state["plan"] = editing.move_unit(scenario, plan, unit, target)
            st.session_state["dirty"] = True
            st.rerun()
    else:
        st.info(t("no_neighbour", lang))
    pins = st.session_state.setdefault("pins", set())
    pinned = st.checkbox(t("pin", lang), value=unit in pins, key=f"pin_{unit}")
    (pins.add if pinned else pins.discard)(unit)
    site_names = {s: f"{scenario.sites.at[s, 'name']} ({s})" for s in scenario.sites.index}
    st.session_state["open_sites"] = st.multiselect(t("force_open", lang), list(site_names), format_func=site_names.get,
                                                    default=st.session_state.get("open_sites", []),
                                                    placeholder=t("choose", lang))
    st.session_state["closed_sites"] = st.multiselect(t("force_closed", lang), list(site_names),
                                                      format_func=site_names.get,
                                                      default=st.session_state.get("closed_sites", []),
                                                      placeholder=t("choose", lang))
    findings = _findings(scenario, st.session_state["plan"])
    _map(scenario, st.session_state["plan"], lang, findings, "edit")
    st.subheader(t("areas_table", lang))
    st.table(_area_rows(scenario, st.session_state["plan"], distance, findings, lang).set_index(t("col_area", lang)))
    _show_findings(findings, lang)
    left, right = st.columns(2)
    if left.button(t("save", lang), disabled=not st.session_state.get("dirty"), key="edit_save"):
        _save(scenario, store, lang)
    if right.button(t("discard", lang), disabled=not st.session_state.get("dirty"), key="edit_discard"):
        st.session_state["dirty"] = False
        st.session_state["base"] = None
        st.rerun()


def _save(scenario, store: PlanStore, lang: str) -> None:
    try:
        version = store.save(commune_code=scenario.config.commune_code, name=scenario.config.name,
                             path=str(scenario.path), plan=st.session_state["plan"], author=st.session_state["user"],
                             base=st.session_state.get("base"))
    except Conflict as conflict:
        st.error(f"{t('conflict', lang)}: {conflict.vi if lang == 'vi' else conflict.en}")
        return
    st.session_state["dirty"] = False
    st.session_state["base"] = version.number
    st.session_state["pending_version"] = version.number  # selected before the widget exists, next run
    st.session_state["flash"] = t("saved", lang, n=version.number)
    st.rerun()


def replan_page(scenario, lang: str) -> None:
    if not can(st.session_state["role"], "solve"):
        st.warning(t("not_allowed", lang))
        return
    params = scenario.params
    with st.form("replan"):
        min_voters = st.number_input(t("min_voters", lang), min_value=0, value=int(params.min_voters), step=50)
        max_voters = st.number_input(t("max_voters", lang), min_value=1, value=int(params.max_voters), step=100)
        areas = st.number_input(t("areas_fixed", lang), min_value=0, value=0, step=1)
        max_travel = st.number_input(t("max_travel", lang), min_value=0.0, value=0.0, step=0.5)
        keep = st.number_input(t("keep_weight", lang), min_value=0.0, value=50.0, step=10.0)
        limit = st.number_input(t("time_limit", lang), min_value=1.0, value=20.0, step=5.0)
        go = st.form_submit_button(t("solve", lang))
    if not go:
        return
    rules = dataclasses.replace(params, min_voters=int(min_voters), max_voters=int(max_voters))
    changed = dataclasses.replace(scenario, config=dataclasses.replace(scenario.config, params=rules))
    plan = st.session_state.get("plan")
    existing, pins = None, ()
    if plan is not None:
        site_of = {a["area_id"]: a.get("site_id", "") for a in plan["areas"]}
        existing = {u: site_of[a] for u, a in plan["assignment"].items() if site_of.get(a)}
        pins = tuple((u, existing[u]) for u in sorted(st.session_state.get("pins", set())) if u in existing)
    options = SolveOptions(areas=int(areas) or None, max_travel_km=float(max_travel) or None, time_limit=float(limit),
                           pins=pins, open_sites=tuple(st.session_state.get("open_sites", [])),
                           closed_sites=tuple(st.session_state.get("closed_sites", [])), existing=existing,
                           keep_weight=float(keep))
    bar = st.progress(0.0, text=t("solving", lang))

    def progress(stage: str, fraction: float) -> None:
        bar.progress(min(1.0, max(0.0, fraction)), text=f"{t('solving', lang)} {stage_label(stage, lang)}")

    try:
        outcome = plan_scenario(changed, options, on_progress=progress)
    except InfeasibleError as exc:
        st.error(t("infeasible", lang))
        for finding in exc.findings:
            st.error(finding.format(lang))
        return
    except Exception as exc:  # a bad pin or site name comes back as a usage error
        st.error(str(exc))
        return
    bar.progress(1.0, text=t("solving", lang))
    st.session_state["plan"] = {"assignment": dict(outcome.plan.assignment),
                                "areas": [dict(a) for a in outcome.plan.areas], "report": dict(outcome.plan.report)}
    st.session_state["dirty"] = True
    report = outcome.plan.report
    st.success(plan_summary(report, lang))


def tradeoff_page(scenario, lang: str) -> None:
    from planner.tradeoff import tradeoff_curve

    limit = st.number_input(t("time_limit", lang), min_value=1.0, value=5.0, step=1.0, key="curve_limit")
    if st.button(t("compute", lang), key="curve_go") or "curve" in st.session_state:
        if "curve" not in st.session_state or st.session_state.get("curve_limit_used") != limit:
            bar = st.progress(0.0, text=t("solving", lang))
            curve = tradeoff_curve(scenario, time_limit=float(limit),
                                   on_progress=lambda count, done, total: bar.progress(done / total, text=f"{count}"))
            st.session_state["curve"], st.session_state["curve_limit_used"] = curve, limit
        curve = st.session_state["curve"]
        frame = pd.DataFrame(list(curve.rows))
        if frame.empty:
            st.warning(t("infeasible", lang))
            return
        chart = frame.set_index("areas")[["mean_km", "max_km"]].rename(
            columns={"mean_km": t("mean_km", lang), "max_km": t("max_km", lang)})
        st.subheader(t("curve", lang))
        st.line_chart(chart)
        st.dataframe(frame, hide_index=True)


def compare_page(scenario, versions, plan, lang: str) -> None:
    if len(versions) < 1:
        st.info(t("no_plan", lang))
        return
    choices = {f"{v.number}": v.plan for v in versions}
    choices[t("working", lang)] = plan
    keys = list(choices)
    left, right = st.columns(2)
    before = left.selectbox(t("before", lang), keys, index=0, key="cmp_before")
    after = right.selectbox(t("after", lang), keys, index=len(keys) - 1, key="cmp_after")
    distance, _ = geometry_of(ARGS.scenario, _stamp(ARGS.scenario))
    moved = editing.compare(scenario, choices[before], choices[after], distance)
    _map(scenario, choices[after], lang, [], "compare", moved=set(moved["unit_id"]))
    st.subheader(t("moved", lang))
    if moved.empty:
        st.info(t("no_moves", lang))
    else:
        st.dataframe(moved, hide_index=True, use_container_width=True)


def approve_page(scenario, store: PlanStore, lang: str) -> None:
    role = st.session_state["role"]
    number = st.session_state.get("base")
    if number is None:
        st.info(t("no_plan", lang))
        return
    version = store.version(scenario.config.commune_code, number)
    st.write(f"{t('version', lang)} {number}: **{t('state_' + version.state, lang)}**")
    approval = store.approval(scenario.config.commune_code, number) if version.state in ("approved", "exported") \
        else None
    if approval:
        st.success(t("approved_by", lang, who=approval["author"], at=f"{approval['at']:%H:%M %d/%m/%Y}",
                     comment=approval["comment"]))
    for comment in store.comments(scenario.config.commune_code, number):
        st.write(f"**{comment['author']}** ({comment['at']:%d/%m/%Y %H:%M}): {comment['text']}")
    text = st.text_area(t("comment", lang), key="comment_text")
    if st.button(t("add_comment", lang), disabled=not can(role, "comment"), key="comment_go") and text.strip():
        store.comment(scenario.config.commune_code, number, author=st.session_state["user"], text=text.strip())
        st.rerun()
    try:
        if version.state == "draft" and can(role, "edit") and st.button(t("propose", lang), key="propose_go"):
            store.transition(scenario.config.commune_code, number, "proposed", actor=st.session_state["user"])
            st.rerun()
        if version.state == "proposed" and st.button(t("approve", lang), disabled=not can(role, "approve"),
                                                     key="approve_go"):
            store.transition(scenario.config.commune_code, number, "approved", actor=st.session_state["user"],
                             comment=text.strip())
            st.rerun()
    except StoreError as exc:
        st.error(exc.vi if lang == "vi" else exc.en)


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return buffer.getvalue()


def downloads_page(scenario, plan, lang: str) -> None:
    from planner.checker import plan_from_value
    from planner.exports import ExportContext, export_plan

    if not can(st.session_state["role"], "download"):
        st.warning(t("not_allowed", lang))
        return
    files = plan_from_value(plan["assignment"], plan["areas"])
    st.subheader(t("exports", lang))
    if st.button(t("make_exports", lang), key="exports_go"):
        with tempfile.TemporaryDirectory() as folder:
            written = export_plan(ExportContext(scenario, files, st.session_state.get("base")), Path(folder) / "export")
            st.session_state["exports"] = [(p.name, p.read_bytes()) for p in written]
    for name, data in st.session_state.get("exports", []):
        st.download_button(name, data, file_name=name, key=f"dl_{name}")
    if can(st.session_state["role"], "voter_lists"):  # voter lists: planners only
        st.subheader(t("voter_lists", lang))
        if scenario.registry is None:
            st.info(t("no_registry", lang))
        elif st.button(t("make_lists", lang), key="lists_go"):
            from planner.voterexport import export_voter_documents

            bar = st.progress(0.0, text=t("voter_lists", lang))
            with tempfile.TemporaryDirectory() as folder:  # lists (XLSX, PDF, internal and posted) and cards
                export_voter_documents(scenario, files, Path(folder) / "voters",
                                       on_progress=lambda stage, fraction: bar.progress(fraction))
                st.session_state["lists_zip"] = _zip(Path(folder) / "voters")
        if "lists_zip" in st.session_state:
            st.download_button("danh-sach-cu-tri.zip", st.session_state["lists_zip"], file_name="danh-sach-cu-tri.zip",
                               key="dl_lists")


main()

"""From a validated scenario to a plan: geometry to arrays, the solver, and the plan's report."""

from __future__ import annotations

import datetime as dt
import platform
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

import solver
from geo.adjacency import adjacency_lists, rook_pairs, voronoi_cells
from geo.dissolve import dissolve
from geo.distance import STRAIGHT_LINE
from geo.roads import RoadSettings, road_joined_pairs
from planner.findings import Finding, InfeasibleError, ScenarioError, error, warning
from planner.plan import Plan
from planner.rules import ELECTORAL_LEVELS, RULES
from planner.scenario import Scenario
from planner.travel import compute_travel
from solver.problem import DEFAULT_AREA_COST_VOTER_KM, PlanningProblem, SolveResult
from solver.pairs import beyond_travel

ProgressCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class SolveOptions:
    """What the user asks of one solve; unset values come from the scenario."""

    areas: int | None = None
    max_travel_km: float | None = None
    time_limit: float = 60.0
    seed: int = 0
    method: str = "auto"
    area_cost: float | None = None
    today: dt.date | None = None
    pins: tuple[tuple[str, str], ...] = ()
    open_sites: tuple[str, ...] = ()
    closed_sites: tuple[str, ...] = ()
    existing: Mapping[str, str] | None = None
    keep_weight: float = 0.0
    travel: str | None = None
    contiguity: str | None = None
    threads: int | None = None


@dataclass(frozen=True)
class Geometry:
    """Geometric facts about the units the plan needs besides the solver arrays."""

    cells: dict[str, Any]
    distance: np.ndarray
    metric: str = STRAIGHT_LINE
    walk_min: np.ndarray | None = None
    motorbike_min: np.ndarray | None = None
    contiguity: str = "touching"
    warnings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class PlanOutcome:
    """A solved plan with the outlines of its areas and the solver's result."""

    plan: Plan
    outlines: gpd.GeoDataFrame
    result: SolveResult
    warnings: tuple[Finding, ...] = field(default_factory=tuple)


def group_label(codes: tuple[str, ...]) -> str:
    present = [c for c in codes if c]
    return " / ".join(present) if present else "(toàn xã)"


def unit_cells(scenario: Scenario) -> dict[str, Any]:
    """Polygons of the units (Voronoi cells when the scenario gives points)."""
    units = scenario.units
    geoms = list(units.geometry)
    if geoms and all(g.geom_type == "Point" for g in geoms):
        geoms = voronoi_cells(geoms)
    return dict(zip(units.index, geoms))


def build_problem(scenario: Scenario, options: SolveOptions) -> tuple[PlanningProblem, Geometry]:
    """The solver's arrays: loads, groups, adjacency (touching units plus links), distances."""
    units, sites = scenario.units, scenario.sites
    unit_ids = tuple(units.index)
    index = {u: i for i, u in enumerate(unit_ids)}
    cells = unit_cells(scenario)
    config = scenario.config.travel
    settings = RoadSettings(walk_kmh=config.walk_kmh, detour_factor=config.detour_factor,
                            cutoff_km=config.cutoff_km, snap_tolerance_m=config.snap_tolerance_m)
    travel = compute_travel(scenario, options.travel or config.metric, settings)
    contiguity = options.contiguity or config.contiguity
    pairs = rook_pairs([cells[u] for u in unit_ids])
    if contiguity == "roads" and travel.network is not None:
        pairs = road_joined_pairs(travel.network, [cells[u] for u in unit_ids], pairs)
    pairs += [(index[a], index[b]) for a, b in zip(scenario.links["unit_a"], scenario.links["unit_b"])]
    keys = [tuple(str(units.at[u, level]) for level in ELECTORAL_LEVELS) for u in unit_ids]
    labels = sorted(set(keys))
    group_of = {k: i for i, k in enumerate(labels)}
    site_ids = tuple(sites.index)
    distance = travel.distance
    params = scenario.params
    objective = scenario.config.objective
    problem = PlanningProblem(
        unit_ids=unit_ids,
        weights=scenario.unit_load().loc[list(unit_ids)].to_numpy(dtype=np.int64),
        sparse=units["sparse"].to_numpy(dtype=bool),
        group=np.array([group_of[k] for k in keys], dtype=int),
        group_labels=tuple(group_label(k) for k in labels),
        neighbours=adjacency_lists(len(unit_ids), pairs),
        site_ids=site_ids,
        site_unit=np.array([index[u] for u in sites["unit_id"]], dtype=int),
        capacity=sites["capacity"].to_numpy(dtype=np.int64),
        distance=distance,
        min_voters=params.min_voters,
        max_voters=params.max_voters,
        areas=options.areas if options.areas is not None else objective.areas,
        max_travel_km=options.max_travel_km if options.max_travel_km is not None else objective.max_travel_km,
        area_cost=_area_cost(options, objective),
        unit_names=tuple(f"{units.at[u, 'name']} ({u})" for u in unit_ids),
        **_locks(scenario, options, index, {s: j for j, s in enumerate(site_ids)}),
    )
    return problem, Geometry(cells=cells, distance=distance, metric=travel.metric, walk_min=travel.walk_min,
                             motorbike_min=travel.motorbike_min, contiguity=contiguity, warnings=travel.warnings)


def _area_cost(options: SolveOptions, objective: Any) -> float:
    if options.area_cost is not None:
        return options.area_cost
    if objective.area_cost is not None:
        return objective.area_cost
    return DEFAULT_AREA_COST_VOTER_KM


def _locks(scenario: Scenario, options: SolveOptions, unit_index: dict[str, int],
           site_index: dict[str, int]) -> dict[str, Any]:
    """Pins, forced sites and the existing plan as solver indices; unknown ids are usage errors."""
    problems: list[Finding] = []
    for unit_id, site_id in options.pins:
        if unit_id not in unit_index:
            problems.append(error("unknown_unit", field="--pin", feature_id=unit_id, ref=unit_id))
        if site_id not in site_index:
            problems.append(error("unknown_site", field="--pin", feature_id=site_id, ref=site_id))
    for flag, sites in (("--open", options.open_sites), ("--close", options.closed_sites)):
        for site_id in sites:
            if site_id not in site_index:
                problems.append(error("unknown_site", field=flag, feature_id=site_id, ref=site_id))
    previous: dict[int, int] = {}
    for unit_id, site_id in (options.existing or {}).items():
        if unit_id in unit_index and site_id in site_index:
            previous[unit_index[unit_id]] = site_index[site_id]
    if problems:
        raise ScenarioError(problems)
    return {
        "pinned": {unit_index[u]: site_index[s] for u, s in options.pins},
        "forced_open": frozenset(site_index[s] for s in options.open_sites)
        | frozenset(site_index[s] for _, s in options.pins),
        "forced_closed": frozenset(site_index[s] for s in options.closed_sites),
        "previous": previous,
        "keep_weight": options.keep_weight if previous else 0.0,
    }


def existing_sites(plan_folder: Any) -> dict[str, str]:
    """Unit -> polling site of an existing plan folder (for keep-what-exists re-planning)."""
    from planner.plan import read_plan

    from pathlib import Path

    if Path(plan_folder).is_file():  # an exported interchange file
        from planner.exports import read_interchange

        try:
            return read_interchange(Path(plan_folder))
        except (ValueError, KeyError, OSError) as exc:
            raise ScenarioError([error("unreadable_file", file=Path(plan_folder).name, detail=str(exc))])
    files, findings = read_plan(plan_folder)
    if files is None:
        raise ScenarioError(findings)
    site_of_area = dict(zip(files.areas["area_id"], files.areas["site_id"]))
    return {u: site_of_area.get(a, "") for u, a in zip(files.assignment["unit_id"], files.assignment["area_id"])
            if site_of_area.get(a)}


def plan_scenario(scenario: Scenario, options: SolveOptions = SolveOptions(),
                  on_progress: ProgressCallback | None = None) -> PlanOutcome:
    """Solve a scenario; raise InfeasibleError with the reasons when no valid plan exists."""
    problem, geometry = build_problem(scenario, options)
    result = solver.solve(problem, time_limit=options.time_limit, seed=options.seed, method=options.method,
                          on_progress=on_progress, threads=options.threads)
    if result.status == solver.STATUS_INFEASIBLE or (result.assignment < 0).any():
        raise InfeasibleError([error(d.code, rule=_rule_of(d.code), **d.params) for d in result.diagnostics])
    warnings = list(scenario.findings) + list(geometry.warnings) + _travel_bound_missed(problem, result)
    today = options.today or dt.date.today()
    if scenario.params.areas_deadline() < today <= scenario.params.election_date:
        warnings.append(warning("deadline_passed", rule="R6", today=today.isoformat(),
                                deadline=scenario.params.areas_deadline().isoformat()))
    plan, outlines = assemble_plan(scenario, problem, geometry, result, options, warnings)
    return PlanOutcome(plan, outlines, result, tuple(warnings))


def _travel_bound_missed(problem: PlanningProblem, result: SolveResult) -> list[Finding]:
    """A warning when voters are left beyond the travel bound: the solver returns such a plan (as
    not valid, status timeout) only when it found none within the bound in time."""
    if problem.max_travel_km is None:
        return []
    rows = np.arange(problem.n_units)
    km = problem.distance[rows, result.assignment]
    beyond = rows[beyond_travel(problem, rows, result.assignment)].tolist()
    if not beyond:
        return []
    worst = max(beyond, key=lambda u: km[u])
    return [warning("travel_bound_missed", feature_id=problem.unit_ids[worst], km=problem.max_travel_km,
                    units=len(beyond), voters=int(problem.weights[beyond].sum()), name=problem.name(worst),
                    worst=round(float(km[worst]), 2))]


def _rule_of(code: str) -> str:
    return {"infeasible_small_part": "R2", "infeasible_capacity": "R8", "infeasible_no_site": "R7",
            "infeasible_area_count": "R2"}.get(code, "")


def _area_times(geometry: Geometry, problem: PlanningProblem, result: SolveResult, rows: list[int],
                weights: np.ndarray) -> dict[str, float | None]:
    """Voter-weighted mean walking and motorbike minutes by road (None without roads)."""
    out: dict[str, float | None] = {"mean_walk_min": None, "mean_motorbike_min": None}
    if weights.sum() <= 0:
        return out
    sites = result.assignment[rows]
    for key, matrix in (("mean_walk_min", geometry.walk_min), ("mean_motorbike_min", geometry.motorbike_min)):
        if matrix is not None:
            out[key] = round(float((matrix[rows, sites] * weights).sum() / weights.sum()), 2)
    return out


def _weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    if len(values) == 0 or weights.sum() <= 0:
        return 0.0
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][np.searchsorted(cumulative, q - 1e-12)])


def assemble_plan(scenario: Scenario, problem: PlanningProblem, geometry: Geometry, result: SolveResult,
                  options: SolveOptions, warnings: list[Finding]) -> tuple[Plan, gpd.GeoDataFrame]:
    """Number the areas, add facilities' separate areas, compute travel figures and the report."""
    units, sites = scenario.units, scenario.sites
    site_of_unit = {problem.unit_ids[i]: problem.site_ids[s] for i, s in enumerate(result.assignment.tolist())}
    members: dict[str, list[str]] = {}
    for unit_id, site_id in site_of_unit.items():
        members.setdefault(site_id, []).append(unit_id)
    order = sorted(members, key=lambda s: (group_label(scenario.electoral_key(min(members[s]))), min(members[s])))
    load = scenario.unit_load()
    unit_km = {problem.unit_ids[i]: float(geometry.distance[i, s]) for i, s in enumerate(result.assignment.tolist())}
    index_of = {u: i for i, u in enumerate(problem.unit_ids)}

    def w_of(unit_list: list[str]) -> np.ndarray:
        return load.loc[unit_list].to_numpy(dtype=float)

    areas: list[dict[str, Any]] = []
    assignment: dict[str, str] = {}
    records = []
    number = 0
    for site_id in order:
        number += 1
        area_id = f"KV{number:02d}"
        unit_list = sorted(members[site_id])
        for u in unit_list:
            assignment[u] = area_id
        voters = int(load.loc[unit_list].sum())
        km = np.array([unit_km[u] for u in unit_list])
        times = _area_times(geometry, problem, result, [index_of[u] for u in unit_list], w_of(unit_list))
        w = load.loc[unit_list].to_numpy(dtype=float)
        has = w > 0
        mean = float((km * w).sum() / w.sum()) if w.sum() > 0 else 0.0
        areas.append({"area_id": area_id, "site_id": site_id, "kind": "regular", "facility_id": "",
                      "voters": voters})
        records.append({"area_id": area_id, "site_id": site_id, "kind": "regular", "facility_id": "",
                        "voters": voters, "site_name": sites.at[site_id, "name"],
                        "units": ", ".join(unit_list), "unit_names": ", ".join(units.loc[unit_list, "name"]),
                        "n_units": len(unit_list), "mean_km": round(mean, 3),
                        "p95_km": round(_weighted_percentile(km, w, 0.95), 3),
                        "max_km": round(float(km[has].max()) if has.any() else 0.0, 3),
                        **times, "metric": geometry.metric, "geometry": None})
    outline = dissolve(geometry.cells, {r["area_id"]: r["units"].split(", ") for r in records})
    for r in records:
        r["geometry"] = outline[r["area_id"]]
    specials = scenario.facilities[scenario.facilities["separate"]]
    for facility_id, row in specials.sort_index().iterrows():
        number += 1
        areas.append({"area_id": f"KV{number:02d}", "site_id": "", "kind": "special",
                      "facility_id": facility_id, "voters": int(row["voters"])})
    outlines = gpd.GeoDataFrame(records, geometry="geometry", crs=scenario.crs,
                                columns=["area_id", "site_id", "kind", "facility_id", "voters", "site_name",
                                         "units", "unit_names", "n_units", "mean_km", "p95_km", "max_km",
                                         "mean_walk_min", "mean_motorbike_min", "metric", "geometry"])
    report = build_report(scenario, problem, result, options, areas, records, warnings, geometry.metric,
                          geometry.contiguity)
    return Plan(assignment=assignment, areas=tuple(areas), report=report), outlines


def build_report(scenario: Scenario, problem: PlanningProblem, result: SolveResult, options: SolveOptions,
                 areas: list[dict[str, Any]], records: list[dict[str, Any]], warnings: list[Finding],
                 metric: str, contiguity: str = "touching") -> dict[str, Any]:
    weights = problem.weights.astype(float)
    rows = np.arange(problem.n_units)
    unit_km = problem.distance[rows, result.assignment]
    total_voters = float(weights.sum())
    import ortools

    return {
        "scenario": {"name": scenario.config.name, "commune_code": scenario.config.commune_code,
                     "election_date": scenario.params.election_date.isoformat(), "path": str(scenario.path)},
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "rules_checked": [{"rule": r.number, "title": r.title_vi, "title_en": r.title_en, "source": r.source}
                          for r in RULES.values() if r.hard and ("checker" in r.checked_by or "solver" in r.checked_by)],
        "parameters": {"min_voters": problem.min_voters, "max_voters": problem.max_voters,
                       "areas_requested": problem.areas, "max_travel_km": problem.max_travel_km,
                       "area_cost_voter_km": problem.area_cost if problem.areas is None else None,
                       "area_count_rule": _area_count_rule(problem),
                       "time_limit_s": options.time_limit, "seed": options.seed, "method": options.method,
                       "pins": [list(p) for p in options.pins], "open_sites": list(options.open_sites),
                       "closed_sites": list(options.closed_sites),
                       "keep_weight_voter_km": problem.keep_weight if problem.previous else None,
                       "units_moved_from_existing": _moved(problem, result) if problem.previous else None},
        "travel_metric": metric,
        "contiguity": contiguity,
        "objective": {"minimised": _minimised(problem), "value": round(result.objective, 3),
                      "travel_voter_km": round(float((unit_km * weights).sum()), 3),
                      "lower_bound": None if result.bound is None else round(result.bound, 3),
                      "gap": None if result.gap is None else round(result.gap, 6)},
        "solver": {"status": result.status, "method": result.method, "seconds": round(result.seconds, 3),
                   "ortools": ortools.__version__, "python": platform.python_version(), **dict(result.stats)},
        "totals": {"units": problem.n_units,
                   "voters": int(total_voters) + sum(int(a["voters"]) for a in areas if a["kind"] == "special"),
                   "regular_voters": int(total_voters),
                   "regular_areas": sum(1 for a in areas if a["kind"] == "regular"),
                   "special_areas": sum(1 for a in areas if a["kind"] == "special"),
                   "mean_km": round(float((unit_km * weights).sum() / total_voters), 3) if total_voters else 0.0,
                   "max_km": round(float(unit_km[weights > 0].max()), 3) if (weights > 0).any() else 0.0},
        "areas": [{k: v for k, v in r.items() if k != "geometry"} for r in records]
        + [dict(a) for a in areas if a["kind"] == "special"],
        "warnings": [w.to_dict() for w in warnings],
    }


def _moved(problem: PlanningProblem, result: SolveResult) -> int:
    return sum(1 for u, site in problem.previous.items() if int(result.assignment[u]) != site)


def _minimised(problem: PlanningProblem) -> str:
    text = "voter-weighted travel, voter-km one way"
    if problem.areas is None and problem.max_travel_km is None:
        text += f" + {problem.area_cost:g} voter-km per area"
    if problem.previous and problem.keep_weight > 0:
        text += f" + {problem.keep_weight:g} voter-km per unit moved from the existing plan"
    return text


def _area_count_rule(problem: PlanningProblem) -> str:
    if problem.areas is not None:
        return f"fixed: {problem.areas} regular areas"
    if problem.max_travel_km is not None:
        return f"fewest areas with every voter within {problem.max_travel_km} km, then least travel"
    return (f"least travel plus {problem.area_cost:g} voter-km per area (an election team of 11-21 people "
            "for ~2 days is ~30 person-days; 1 voter-km one way is ~1/20 person-day)")


def summary_table(outlines: gpd.GeoDataFrame) -> pd.DataFrame:
    """Areas, voters, site, mean and max travel: the table the CLI prints."""
    return outlines[["area_id", "voters", "site_id", "site_name", "n_units", "mean_km", "max_km"]].copy()

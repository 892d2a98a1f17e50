"""The plan checker: every hard rule re-checked from the files, independent of the solver.

Each rule is a small predicate over the scenario and the plan's tables that returns findings
naming the area, unit or site at fault and the R-number it applies. :func:`check_plan` runs them
all. Nothing here imports the solver: a plan is judged by what it says, not by how it was made.
"""

from __future__ import annotations

from typing import Callable, Iterable

import networkx as nx
import pandas as pd

from geo.adjacency import rook_pairs
from planner.findings import Finding, error, warning
from planner.plan import PlanFiles
from planner.rules import ELECTORAL_LEVELS
from planner.scenario import Scenario

ASSIGNMENT = "assignment.csv"
AREAS = "areas.csv"


class _View:
    """The plan's tables joined to the scenario, with the facts every predicate needs."""

    def __init__(self, scenario: Scenario, plan: PlanFiles):
        self.scenario = scenario
        self.plan = plan
        self.areas = plan.areas.drop_duplicates("area_id").set_index("area_id", drop=False)
        known = set(scenario.units.index)
        rows = plan.assignment[plan.assignment["unit_id"].isin(known)]
        self.members: dict[str, list[str]] = {}
        for unit_id, area_id in zip(rows["unit_id"], rows["area_id"]):
            self.members.setdefault(area_id, []).append(unit_id)
        self.load = scenario.unit_load()
        self.regular = self.areas[self.areas["kind"] == "regular"]

    def voters(self, area_id: str) -> int:
        return int(self.load.loc[self.members.get(area_id, [])].sum())


def check_coverage(view: _View) -> Iterable[Finding]:
    """Every unit in exactly one area, and only areas that exist (R13)."""
    units = view.scenario.units
    assignment = view.plan.assignment
    counts = assignment.groupby("unit_id")["area_id"].agg(list)
    for unit_id in units.index:
        areas = counts.get(unit_id, [])
        if not areas:
            yield error("unit_unassigned", file=ASSIGNMENT, feature_id=unit_id, field="area_id", rule="R13",
                        name=units.at[unit_id, "name"])
        elif len(areas) > 1:
            yield error("unit_assigned_twice", file=ASSIGNMENT, feature_id=unit_id, field="area_id", rule="R13",
                        name=units.at[unit_id, "name"], count=len(areas), areas=", ".join(areas))
    for unit_id in sorted(set(assignment["unit_id"]) - set(units.index)):
        yield error("unknown_unit", file=ASSIGNMENT, feature_id=unit_id, field="unit_id", ref=unit_id)
    for area_id in sorted(set(assignment["area_id"]) - set(view.areas.index)):
        yield error("unknown_area", file=ASSIGNMENT, feature_id=area_id, field="area_id", ref=area_id)
    duplicated = view.plan.areas["area_id"][view.plan.areas["area_id"].duplicated()]
    for area_id in sorted(set(duplicated)):
        yield error("duplicate_id", file=AREAS, feature_id=area_id, field="area_id", id=area_id,
                    count=int((view.plan.areas["area_id"] == area_id).sum()))
    for area_id, kind in zip(view.areas["area_id"], view.areas["kind"]):
        if kind not in ("regular", "special"):
            yield error("bad_area_kind", file=AREAS, feature_id=area_id, field="kind", kind=kind)
        elif kind == "regular" and not view.members.get(area_id):
            yield error("area_no_units", file=AREAS, feature_id=area_id, field="area_id", rule="R13")


def check_sites(view: _View) -> Iterable[Finding]:
    """One polling site per regular area, known, not shared, inside the area, with capacity (R7, R8)."""
    sites = view.scenario.sites
    used: dict[str, list[str]] = {}
    for area_id, site_id in zip(view.regular["area_id"], view.regular["site_id"]):
        if not site_id:
            yield error("area_no_site", file=AREAS, feature_id=area_id, field="site_id", rule="R7")
            continue
        if site_id not in sites.index:
            yield error("unknown_site", file=AREAS, feature_id=area_id, field="site_id", ref=site_id)
            continue
        used.setdefault(site_id, []).append(area_id)
        unit = sites.at[site_id, "unit_id"]
        if unit not in view.members.get(area_id, []):
            yield error("site_outside_area", file=AREAS, feature_id=area_id, field="site_id", rule="R7",
                        site=site_id, unit=unit)
        voters, capacity = view.voters(area_id), int(sites.at[site_id, "capacity"])
        if voters > capacity:
            yield error("site_over_capacity", file=AREAS, feature_id=area_id, field="site_id", rule="R8",
                        voters=voters, capacity=capacity, site=site_id)
    for site_id, areas in used.items():
        if len(areas) > 1:
            yield error("site_used_twice", file=AREAS, feature_id=site_id, field="site_id", rule="R7",
                        site=site_id, count=len(areas), areas=", ".join(areas))


def check_voter_bounds(view: _View) -> Iterable[Finding]:
    """Each regular area within [min, max] voters; fewer only where every unit is sparse (R2, R3)."""
    params = view.scenario.params
    sparse = view.scenario.units["sparse"]
    for area_id in view.regular["area_id"]:
        units = view.members.get(area_id, [])
        if not units:
            continue
        voters = view.voters(area_id)
        if voters > params.max_voters:
            yield error("area_too_many", file=AREAS, feature_id=area_id, field="voters", rule="R2",
                        voters=voters, max_voters=params.max_voters)
        if voters < params.min_voters:
            dense = [u for u in units if not bool(sparse.loc[u])]
            if dense:
                yield error("area_too_few", file=AREAS, feature_id=area_id, field="voters", rule="R2",
                            voters=voters, min_voters=params.min_voters, dense=", ".join(sorted(dense)[:10]))
            else:
                yield warning("area_sparse_small", file=AREAS, feature_id=area_id, field="voters", rule="R3",
                              voters=voters, min_voters=params.min_voters)


def check_contiguity(view: _View) -> Iterable[Finding]:
    """Each regular area's units form one connected piece: touching units or links."""
    scenario = view.scenario
    graph = _adjacency_graph(scenario)
    for area_id in view.regular["area_id"]:
        units = view.members.get(area_id, [])
        if len(units) < 2:
            continue
        pieces = sorted((sorted(c) for c in nx.connected_components(graph.subgraph(units))), key=lambda c: c[0])
        if len(pieces) > 1:
            shown = " | ".join(", ".join(p[:6]) + (" …" if len(p) > 6 else "") for p in pieces)
            yield error("area_not_contiguous", file=ASSIGNMENT, feature_id=area_id, field="area_id",
                        rule="R13", count=len(pieces), parts=shown)


def _adjacency_graph(scenario: Scenario) -> nx.Graph:
    from planner.pipeline import unit_cells

    cells = unit_cells(scenario)
    ids = list(scenario.units.index)
    graph = nx.Graph()
    graph.add_nodes_from(ids)
    graph.add_edges_from((ids[i], ids[j]) for i, j in rook_pairs([cells[u] for u in ids]))
    graph.add_edges_from(zip(scenario.links["unit_a"], scenario.links["unit_b"]))
    return graph


def check_nesting(view: _View) -> Iterable[Finding]:
    """All units of an area in the same electoral unit at every level (R1, R13)."""
    units = view.scenario.units
    for area_id in view.areas["area_id"]:
        members = view.members.get(area_id, [])
        for level in ELECTORAL_LEVELS:
            codes = sorted({str(c) for c in units.loc[members, level]}) if members else []
            if len(codes) > 1:
                yield error("area_crosses_eu", file=ASSIGNMENT, feature_id=area_id, field=level, rule="R1",
                            level=level, codes=", ".join(c or "—" for c in codes))


def check_facilities(view: _View) -> Iterable[Finding]:
    """Separate areas exactly for the facilities R4 permits and the scenario keeps (R4)."""
    facilities = view.scenario.facilities
    special = view.areas[view.areas["kind"] == "special"]
    by_facility: dict[str, list[str]] = {}
    for area_id, facility_id in zip(special["area_id"], special["facility_id"]):
        by_facility.setdefault(facility_id, []).append(area_id)
        if facility_id not in facilities.index:
            yield error("unknown_facility", file=AREAS, feature_id=area_id, field="facility_id", ref=facility_id)
            continue
        row = facilities.loc[facility_id]
        if not bool(row["separate"]):
            yield error("facility_area_not_allowed", file=AREAS, feature_id=area_id, field="facility_id", rule="R4",
                        name=row["name"], kind=row["kind"], voters=int(row["voters"]))
        if view.members.get(area_id):
            yield error("area_crosses_eu", file=ASSIGNMENT, feature_id=area_id, field="area_id", rule="R4",
                        level="special", codes=", ".join(view.members[area_id][:5]))
    for facility_id, row in facilities.iterrows():
        count = len(by_facility.get(facility_id, []))
        if bool(row["separate"]) and count == 0:
            yield error("facility_needs_area", file=AREAS, feature_id=facility_id, field="facility_id", rule="R4",
                        name=row["name"], kind=row["kind"])
        elif count > 1:
            yield error("facility_area_twice", file=AREAS, feature_id=facility_id, field="facility_id", rule="R4",
                        name=row["name"], count=count)


def check_voter_totals(view: _View) -> Iterable[Finding]:
    """The ``voters`` column of areas.csv equals the sum over the area."""
    facilities = view.scenario.facilities
    for area_id, kind, facility_id, declared in zip(view.areas["area_id"], view.areas["kind"],
                                                    view.areas["facility_id"], view.areas["voters"]):
        if kind == "special":
            if facility_id not in facilities.index:
                continue
            actual = int(facilities.at[facility_id, "voters"])
        elif kind == "regular":
            actual = view.voters(area_id)
        else:
            continue
        text = str(declared).strip()
        if not text.isdigit() or int(text) != actual:
            yield error("voters_total_wrong", file=AREAS, feature_id=area_id, field="voters", declared=text,
                        actual=actual)


CHECKS: tuple[Callable[[_View], Iterable[Finding]], ...] = (
    check_coverage, check_sites, check_voter_bounds, check_contiguity, check_nesting, check_facilities,
    check_voter_totals,
)


def check_plan(scenario: Scenario, plan: PlanFiles) -> list[Finding]:
    """Every violation of the contract's hard rules, and the sparse-area warnings."""
    view = _View(scenario, plan)
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(view))
    return findings


def plan_from_value(assignment: dict[str, str], areas: Iterable[dict]) -> PlanFiles:
    """A plan held in memory, in the form the checker reads from files (for editors and tests)."""
    frame = pd.DataFrame([{"unit_id": u, "area_id": a} for u, a in assignment.items()],
                         columns=["unit_id", "area_id"], dtype=object)
    area_rows = pd.DataFrame([{k: ("" if a.get(k) is None else str(a.get(k))) for k in
                               ("area_id", "site_id", "kind", "facility_id", "voters")} for a in areas],
                             columns=["area_id", "site_id", "kind", "facility_id", "voters"], dtype=object)
    return PlanFiles(frame, area_rows, {})

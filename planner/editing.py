"""Plans as values for the review app: edits that return a new plan, and comparisons.

A plan here is the stored body: ``{"assignment": {unit: area}, "areas": [...], "report": {...}}``.
Voter totals are recomputed from the assignment after every edit, never carried over.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from planner.checker import check_plan, plan_from_value
from planner.findings import Finding
from planner.scenario import Scenario


def recount(scenario: Scenario, plan: dict[str, Any]) -> dict[str, Any]:
    """The same plan with each area's voters summed again from its units."""
    load = scenario.unit_load()
    totals: dict[str, int] = {}
    for unit, area in plan["assignment"].items():
        totals[area] = totals.get(area, 0) + int(load.get(unit, 0))
    areas = []
    for area in plan["areas"]:
        area = dict(area)
        if area.get("kind") == "regular":
            area["voters"] = totals.get(area["area_id"], 0)
        areas.append(area)
    return {**plan, "areas": areas}


def move_unit(scenario: Scenario, plan: dict[str, Any], unit_id: str, to_area: str) -> dict[str, Any]:
    """A new plan with ``unit_id`` in ``to_area``; the original is untouched."""
    if unit_id not in plan["assignment"]:
        raise KeyError(unit_id)
    if to_area not in {a["area_id"] for a in plan["areas"] if a.get("kind") == "regular"}:
        raise KeyError(to_area)
    new = copy.deepcopy(plan)
    new["assignment"][unit_id] = to_area
    new["report"] = {**new.get("report", {}), "edited": True}
    return recount(scenario, new)


def neighbouring_areas(scenario: Scenario, plan: dict[str, Any], neighbours: dict[str, set[str]],
                       unit_id: str) -> list[str]:
    """Areas of the units touching ``unit_id``, other than its own (where it may be moved)."""
    own = plan["assignment"][unit_id]
    return sorted({plan["assignment"][n] for n in neighbours.get(unit_id, set()) if plan["assignment"][n] != own})


def check(scenario: Scenario, plan: dict[str, Any]) -> list[Finding]:
    return check_plan(scenario, plan_from_value(plan["assignment"], plan["areas"]))


def unit_travel(scenario: Scenario, plan: dict[str, Any], distance: np.ndarray) -> pd.Series:
    """Km from each unit to the polling site of its area."""
    site_of_area = {a["area_id"]: a.get("site_id", "") for a in plan["areas"]}
    unit_index = {u: i for i, u in enumerate(scenario.units.index)}
    site_index = {s: j for j, s in enumerate(scenario.sites.index)}
    values = {}
    for unit, area in plan["assignment"].items():
        site = site_of_area.get(area, "")
        values[unit] = float(distance[unit_index[unit], site_index[site]]) if site in site_index else np.nan
    return pd.Series(values, name="km")


def compare(scenario: Scenario, before: dict[str, Any], after: dict[str, Any], distance: np.ndarray) -> pd.DataFrame:
    """Units whose area or site changed, with the change in travel."""
    a, b = unit_travel(scenario, before, distance), unit_travel(scenario, after, distance)
    site_a = {a_["area_id"]: a_.get("site_id", "") for a_ in before["areas"]}
    site_b = {b_["area_id"]: b_.get("site_id", "") for b_ in after["areas"]}
    rows = []
    for unit in scenario.units.index:
        area_a, area_b = before["assignment"].get(unit, ""), after["assignment"].get(unit, "")
        if site_a.get(area_a) != site_b.get(area_b):
            rows.append({"unit_id": unit, "name": scenario.units.at[unit, "name"], "area_before": area_a,
                         "site_before": site_a.get(area_a, ""), "area_after": area_b,
                         "site_after": site_b.get(area_b, ""), "km_before": round(a[unit], 3),
                         "km_after": round(b[unit], 3), "change_km": round(b[unit] - a[unit], 3)})
    return pd.DataFrame(rows, columns=["unit_id", "name", "area_before", "site_before", "area_after", "site_after",
                                       "km_before", "km_after", "change_km"])

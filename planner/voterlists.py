"""Voter lists per polling area, from the registry and a plan (R20-R23, R29-R33).

Each eligible citizen lands on exactly one list: the separate area of the facility they are
registered in (when it has one), otherwise the area of their unit. Lists are ordered by unit
(hamlet order), then by given name; the card number is the sequence number (R29). Armed-forces
lists are confidential (R23): they exist only in the internal set of documents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from planner import eligibility
from planner.plan import PlanFiles
from planner.scenario import Scenario

LIST_COLUMNS = ("seq", "card_no", "full_name", "date_of_birth", "male", "female", "citizen_id", "permanent",
                "temporary", "ballot_na", "ballot_province", "ballot_commune", "note", "unit_id", "removed")

#: Headers of the list (2026 commune layout, rule book R31), Vietnamese and English.
HEADERS: dict[str, tuple[str, str]] = {
    "seq": ("STT", "No."), "card_no": ("Số thẻ", "Card no."), "full_name": ("Họ và tên", "Full name"),
    "date_of_birth": ("Ngày sinh", "Date of birth"), "male": ("Nam", "Male"), "female": ("Nữ", "Female"),
    "citizen_id": ("Số định danh cá nhân", "Personal ID"), "permanent": ("Thường trú", "Permanent residence"),
    "temporary": ("Tạm trú", "Temporary residence"), "ballot_na": ("Quốc hội", "National Assembly"),
    "ballot_province": ("HĐND tỉnh", "Province council"), "ballot_commune": ("HĐND xã", "Commune council"),
    "note": ("Ghi chú", "Notes"),
}


@dataclass(frozen=True)
class AreaList:
    """One polling area's voter list."""

    area_id: str
    number: int
    kind: str
    title: str
    site_id: str
    site_name: str
    facility_id: str
    facility_kind: str
    confidential: bool
    rows: pd.DataFrame

    def totals(self) -> dict[str, int]:
        """Footer totals (R30): all voters, men, women, and voters of each ballot."""
        rows = self.rows[~self.rows["removed"].astype(bool)]
        return {"voters": len(rows), "male": int(rows["male"].sum()), "female": int(rows["female"].sum()),
                "ballot_na": int(rows["ballot_na"].sum()), "ballot_province": int(rows["ballot_province"].sum()),
                "ballot_commune": int(rows["ballot_commune"].sum())}


@dataclass(frozen=True)
class VoterLists:
    lists: tuple[AreaList, ...]
    assessed: pd.DataFrame
    report: dict[str, Any]


def area_number(area_id: str) -> int:
    digits = "".join(ch for ch in area_id if ch.isdigit())
    return int(digits) if digits else 0


def _given_name(full_name: str) -> str:
    parts = full_name.split()
    return parts[-1] if parts else ""


def _display_date(text: str) -> str:
    parts = text.split("-")
    return "/".join(reversed(parts))


def build_lists(scenario: Scenario, plan: PlanFiles) -> VoterLists:
    """Every eligible voter on one area's list, with ballots and notes; plus the eligibility report."""
    if scenario.registry is None:
        raise ValueError("the scenario has no voters.csv registry")
    params = scenario.params
    facilities = scenario.facilities
    kinds = {str(f): str(k) for f, k in facilities["kind"].items()}
    assessed = eligibility.assess_registry(scenario.registry, params)
    assessed = eligibility.ballots(assessed, kinds, params)
    area_of_unit = dict(zip(plan.assignment["unit_id"], plan.assignment["area_id"]))
    special = plan.areas[plan.areas["kind"] == "special"]
    area_of_facility = dict(zip(special["facility_id"], special["area_id"]))
    voters = assessed[assessed["eligible"]].copy()
    facility = voters["facility_id"].fillna("").astype(str)
    voters["area_id"] = [area_of_facility.get(f) or area_of_unit.get(u, "")
                         for f, u in zip(facility, voters["unit_id"])]
    unit_names = scenario.units["name"].to_dict()
    commune = scenario.config.name
    lists = []
    for area in plan.areas.itertuples(index=False):
        members = voters[voters["area_id"] == area.area_id]
        facility_kind = kinds.get(area.facility_id, "") if area.kind == "special" else ""
        rows = _rows(members, unit_names, commune, soldiers=facility_kind == "armed_forces")
        site_name = str(scenario.sites.at[area.site_id, "name"]) if area.site_id in scenario.sites.index else ""
        title = (str(facilities.at[area.facility_id, "name"]) if area.kind == "special" and
                 area.facility_id in facilities.index else
                 ", ".join(unit_names[u] for u in sorted(plan.assignment.loc[plan.assignment["area_id"] == area.area_id,
                                                                           "unit_id"])))
        lists.append(AreaList(area.area_id, area_number(area.area_id), area.kind, title, area.site_id, site_name,
                              area.facility_id, facility_kind, facility_kind == "armed_forces", rows))
    report = eligibility.eligibility_report(assessed)
    report["duplicates_resolved"] = int((assessed["reason"] == eligibility.REASON_DUPLICATE).sum())
    report["listed"] = {lst.area_id: len(lst.rows) for lst in lists if not lst.confidential}
    return VoterLists(tuple(lists), assessed, report)


def _rows(members: pd.DataFrame, unit_names: dict[str, str], commune: str, soldiers: bool) -> pd.DataFrame:
    ordered = members.assign(_given=members["full_name"].map(_given_name)).sort_values(
        ["unit_id", "_given", "full_name", "citizen_id"], kind="stable")
    out = pd.DataFrame({
        "full_name": ordered["full_name"].to_numpy(),
        "date_of_birth": ordered["date_of_birth"].map(_display_date).to_numpy(),
        "male": (ordered["sex"].str.upper().isin(["M", "NAM"])).to_numpy(),
        "female": (ordered["sex"].str.upper().isin(["F", "NỮ", "NU"])).to_numpy(),
        "citizen_id": ordered["citizen_id"].to_numpy(),
        "permanent": [(commune if soldiers else unit_names.get(u, u)) if r == "permanent" else ""
                      for u, r in zip(ordered["unit_id"], ordered["residence"])],
        "temporary": [(commune if soldiers else unit_names.get(u, u)) if r == "temporary" else ""
                      for u, r in zip(ordered["unit_id"], ordered["residence"])],
        "ballot_na": ordered["ballot_na"].to_numpy(),
        "ballot_province": ordered["ballot_province"].to_numpy(),
        "ballot_commune": ordered["ballot_commune"].to_numpy(),
        "note": [_note(r, t) for r, t in zip(ordered["residence"], ordered.get("temp_registered", [""] * len(ordered)))],
        "unit_id": ordered["unit_id"].to_numpy(),
        "removed": False,
    })
    out.insert(0, "seq", range(1, len(out) + 1))
    out.insert(1, "card_no", out["seq"])  # the card number is the sequence number (R29)
    return out[list(LIST_COLUMNS)]


def _note(residence: str, registered: str) -> str:
    if residence == "temporary" and registered:
        return f"Tạm trú từ {_display_date(registered)}"  # R33: the levels depend on it
    return ""


def posting_date(election_date: dt.date, days_before: int) -> dt.date:
    return election_date - dt.timedelta(days=days_before)

"""Amending voter lists after posting: additions, removals, moves and vote-elsewhere certificates.

A changes file (CSV, UTF-8) has one request per line:
``action,citizen_id,full_name,date_of_birth,sex,unit_id,residence,facility_id,temp_registered,to_area,rule,reason,requested_at``.
``action`` is ``add``, ``remove``, ``move`` or ``certificate``; ``requested_at`` is local time
``YYYY-MM-DDTHH:MM``. Requests are accepted until 24 hours before voting opens (R26); after that
only late removals (R19) and vote-elsewhere certificates (R27) are, until voting opens. Posted
numbers never change: a removed voter keeps the line with a note, additions continue the
numbering after the last posted number (R32). Every request gets a line in the change log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from planner import eligibility
from planner.voterlists import AreaList, VoterLists, _display_date

CHANGE_COLUMNS = ("action", "citizen_id", "full_name", "date_of_birth", "sex", "unit_id", "residence",
                  "facility_id", "temp_registered", "to_area", "rule", "reason", "requested_at")
ACTIONS = ("add", "remove", "move", "certificate")


@dataclass(frozen=True)
class ChangeResult:
    line: int
    action: str
    citizen_id: str
    accepted: bool
    message_vi: str
    message_en: str
    from_area: str = ""
    to_area: str = ""


def voting_start(params: Any) -> dt.datetime:
    return dt.datetime.combine(params.election_date, params.voting_start)


def cutoff(params: Any) -> dt.datetime:
    """24 hours before voting opens: 07:00 on 14 March 2026 (R26)."""
    return voting_start(params) - dt.timedelta(hours=params.cutoff_hours_before_voting)


def apply_changes(lists: VoterLists, changes: pd.DataFrame, scenario: Any) -> tuple[VoterLists, list[ChangeResult]]:
    """Apply every request in order; refused ones change nothing and say why."""
    params = scenario.params
    areas = {a.area_id: a for a in lists.lists}
    rows = {a.area_id: a.rows.copy() for a in lists.lists}
    unit_area = {}
    for area in lists.lists:
        if area.kind == "regular":
            for unit in area.rows["unit_id"].unique():
                unit_area[unit] = area.area_id
    results = []
    for line, change in changes.iterrows():
        results.append(_apply_one(int(line), change, areas, rows, unit_area, scenario, params))
    amended = tuple(dataclasses.replace(a, rows=rows[a.area_id]) for a in lists.lists)
    return dataclasses.replace(lists, lists=amended), results


def _where(rows: dict[str, pd.DataFrame], citizen_id: str) -> tuple[str, int] | None:
    for area_id, frame in rows.items():
        hits = frame.index[(frame["citizen_id"] == citizen_id) & ~frame["removed"].astype(bool)]
        if len(hits):
            return area_id, int(hits[0])
    return None


def _refuse(line: int, change: pd.Series, vi: str, en: str) -> ChangeResult:
    return ChangeResult(line, str(change["action"]), str(change["citizen_id"]), False, vi, en)


def _apply_one(line: int, change: pd.Series, areas: dict[str, AreaList], rows: dict[str, pd.DataFrame],
               unit_area: dict[str, str], scenario: Any, params: Any) -> ChangeResult:
    action, cid = str(change["action"]).strip(), str(change["citizen_id"]).strip()
    rule, reason = str(change["rule"]).strip().upper(), str(change["reason"]).strip()
    if action not in ACTIONS:
        return _refuse(line, change, f"Thao tác {action!r} không hợp lệ ({', '.join(ACTIONS)})",
                       f"Action {action!r} is not one of {', '.join(ACTIONS)}")
    if not cid:
        return _refuse(line, change, "Thiếu số định danh cá nhân", "The citizen id is missing")
    try:
        when = dt.datetime.fromisoformat(str(change["requested_at"]).strip())
    except ValueError:
        return _refuse(line, change, f"Thời điểm yêu cầu {change['requested_at']!r} không hợp lệ (YYYY-MM-DDTHH:MM)",
                       f"Request time {change['requested_at']!r} is not valid (YYYY-MM-DDTHH:MM)")
    late_allowed = (action == "remove" and rule == "R19") or (action == "certificate" and rule in ("", "R27"))
    if when >= voting_start(params):
        return _refuse(line, change, f"Yêu cầu lúc {when:%H:%M %d/%m/%Y}, sau khi đã bắt đầu bỏ phiếu",
                       f"Requested at {when:%H:%M %d/%m/%Y}, after voting opened")
    if when > cutoff(params) and not late_allowed:
        return _refuse(line, change,
                       f"Yêu cầu lúc {when:%H:%M %d/%m/%Y}, sau hạn {cutoff(params):%H:%M %d/%m/%Y} "
                       "(24 giờ trước khi bắt đầu bỏ phiếu, R26); chỉ còn nhận xóa tên theo R19 và giấy chứng nhận "
                       "bỏ phiếu nơi khác (R27)",
                       f"Requested at {when:%H:%M %d/%m/%Y}, after the cut-off {cutoff(params):%H:%M %d/%m/%Y} "
                       "(24 hours before voting opens, R26); only R19 removals and R27 certificates are still taken")
    found = _where(rows, cid)
    if action == "add":
        if found is not None:
            return _refuse(line, change, f"Công dân đã có tên trong danh sách khu vực {found[0]} (R20)",
                           f"The citizen is already listed in area {found[0]} (R20)")
        return _add(line, change, areas, rows, unit_area, scenario, params, note_vi=f"Bổ sung: {reason}")
    if found is None:
        return _refuse(line, change, "Không tìm thấy công dân này trong danh sách", "The citizen is in no list")
    area_id, index = found
    if action == "remove":
        rows[area_id].at[index, "removed"] = True
        rows[area_id].at[index, "note"] = _join(rows[area_id].at[index, "note"], f"Xóa tên: {reason}")
        return ChangeResult(line, action, cid, True, f"Đã xóa tên khỏi khu vực {area_id}",
                            f"Removed from area {area_id}", from_area=area_id)
    if action == "certificate":
        rows[area_id].at[index, "note"] = _join(rows[area_id].at[index, "note"], "Bỏ phiếu ở nơi khác")
        return ChangeResult(line, action, cid, True, f"Ghi chú bỏ phiếu ở nơi khác tại khu vực {area_id} (R27)",
                            f"Marked as voting elsewhere in area {area_id} (R27)", from_area=area_id)
    target = str(change["to_area"]).strip()
    if target not in areas:
        return _refuse(line, change, f"Khu vực chuyển đến {target!r} không tồn tại", f"Target area {target!r} does not exist")
    if target == area_id:
        return _refuse(line, change, f"Công dân đã ở khu vực {target}", f"The citizen is already in area {target}")
    person = rows[area_id].loc[index].to_dict()
    rows[area_id].at[index, "removed"] = True
    rows[area_id].at[index, "note"] = _join(person["note"], f"Chuyển sang khu vực số {areas[target].number}")
    _append(rows, target, person, f"Chuyển từ khu vực số {areas[area_id].number}: {reason}")
    return ChangeResult(line, action, cid, True, f"Đã chuyển từ {area_id} sang {target}",
                        f"Moved from {area_id} to {target}", from_area=area_id, to_area=target)


def _join(note: str, extra: str) -> str:
    return f"{note}; {extra}" if note else extra


def _append(rows: dict[str, pd.DataFrame], area_id: str, person: dict[str, Any], note: str) -> None:
    frame = rows[area_id]
    number = int(frame["seq"].max()) + 1 if len(frame) else 1  # continue after the last number (R32)
    record = {**person, "seq": number, "card_no": number, "note": note, "removed": False}
    rows[area_id] = pd.concat([frame, pd.DataFrame([record])[frame.columns]], ignore_index=True)


def _add(line: int, change: pd.Series, areas: dict[str, AreaList], rows: dict[str, pd.DataFrame],
         unit_area: dict[str, str], scenario: Any, params: Any, note_vi: str) -> ChangeResult:
    record = {c: str(change.get(c, "") or "").strip() for c in eligibility.REGISTRY_COLUMNS}
    record["temp_registered"] = str(change.get("temp_registered", "") or "").strip()
    record["residence"] = record["residence"] or "permanent"
    one = pd.DataFrame([record])
    assessed = eligibility.assess_registry(one, params)
    if not bool(assessed.at[0, "eligible"]):
        why = assessed.at[0, "reason"]
        return _refuse(line, change, f"Không đủ điều kiện ghi tên: {why} (R15-R17)", f"Not eligible: {why} (R15-R17)")
    kinds = {str(f): str(k) for f, k in scenario.facilities["kind"].items()}
    with_ballots = eligibility.ballots(assessed, kinds, params).iloc[0]
    target = str(change.get("to_area", "") or "").strip() or unit_area.get(record["unit_id"], "")
    if target not in areas:
        return _refuse(line, change, f"Không xác định được khu vực cho đơn vị {record['unit_id']!r}",
                       f"No area for unit {record['unit_id']!r}")
    unit_name = str(scenario.units["name"].get(record["unit_id"], record["unit_id"]))
    person = {"full_name": record["full_name"], "date_of_birth": _display_date(record["date_of_birth"]),
              "male": record["sex"].upper() in ("M", "NAM"), "female": record["sex"].upper() in ("F", "NỮ", "NU"),
              "citizen_id": record["citizen_id"],
              "permanent": unit_name if record["residence"] == "permanent" else "",
              "temporary": unit_name if record["residence"] == "temporary" else "",
              "ballot_na": bool(with_ballots["ballot_na"]), "ballot_province": bool(with_ballots["ballot_province"]),
              "ballot_commune": bool(with_ballots["ballot_commune"]), "unit_id": record["unit_id"]}
    _append(rows, target, person, note_vi)
    return ChangeResult(line, "add", record["citizen_id"], True, f"Đã bổ sung vào khu vực {target}",
                        f"Added to area {target}", to_area=target)

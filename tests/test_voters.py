"""Voter lists from a registry: who lands on which list with which ballots, documents, amendments."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import basic_commune

from planner.plan import read_plan
from planner.validation import load_scenario
from planner.voterexport import export_voter_documents
from planner.voterlists import build_lists

HEADER = "citizen_id,full_name,date_of_birth,sex,unit_id,residence,status,facility_id,temp_registered\n"
REGISTRY = [
    # citizen_id, name, birth, sex, unit, residence, status, facility, temp_registered
    ("001", "Nguyễn Văn Sinh Đúng Ngày", "2008-03-15", "M", "U0000", "permanent", "", "", ""),
    ("002", "Trần Thị Sau Một Ngày", "2008-03-16", "F", "U0000", "permanent", "", "", ""),
    ("003", "Lê Văn Tháng", "2008-03", "M", "U0000", "permanent", "", "", ""),
    ("004", "Phạm Thị Năm", "2008", "F", "U0001", "permanent", "", "", ""),
    ("005", "Hoàng Văn Nhuận", "2008-02-29", "M", "U0001", "permanent", "", "", ""),
    ("006", "Vũ Văn Tước", "1970-01-01", "M", "U0001", "permanent", "deprived", "", ""),
    ("007", "Đỗ Văn Tử", "1970-01-01", "M", "U0001", "permanent", "death_sentence", "", ""),
    ("008", "Bùi Văn Tù", "1970-01-01", "M", "U0002", "permanent", "imprisoned", "", ""),
    ("009", "Ngô Thị Mất", "1970-01-01", "F", "U0002", "permanent", "incapacitated", "", ""),
    ("010", "Dương Văn Tạm Giam", "1975-05-05", "M", "U0101", "temporary", "", "F03", "2026-01-10"),
    ("011", "Đặng Văn Hai Nơi", "1980-01-01", "M", "U0100", "temporary", "", "", "2025-12-01"),
    ("011", "Đặng Văn Hai Nơi", "1980-01-01", "M", "U0203", "permanent", "", "", ""),
    ("012", "Hồ Thị Lâu", "1985-06-06", "F", "U0102", "temporary", "", "", "2025-03-15"),
    ("013", "Mai Văn Mới", "1985-06-06", "M", "U0102", "temporary", "", "", "2025-03-16"),
    ("014", "Quân Văn Lính", "2000-01-01", "M", "U0101", "temporary", "", "F01", "2025-09-01"),
    ("015", "Bệnh Thị Nhân", "1950-01-01", "F", "U0101", "permanent", "", "F02", ""),
    ("016", "=HYPERLINK(\"x\")", "1990-01-01", "M", "U0003", "permanent", "", "", ""),
]
FACILITIES = [
    {"row": 1, "col": 1, "facility_id": "F01", "name": "Đơn vị bộ đội C1", "kind": "armed_forces", "voters": 80},
    {"row": 1, "col": 1, "facility_id": "F02", "name": "Bệnh viện huyện", "kind": "hospital", "voters": 60},
    {"row": 1, "col": 1, "facility_id": "F03", "name": "Trại tạm giam", "kind": "detention", "voters": 40},
]


@pytest.fixture
def listed(tmp_path: Path, cli):
    scenario = basic_commune(facilities=FACILITIES).write(tmp_path / "scenario")
    with open(scenario / "voters.csv", "w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        csv.writer(handle, lineterminator="\n").writerows(REGISTRY)
    plan = tmp_path / "plan"
    code, _, err = cli("solve", scenario, "--out", plan, "--areas", "4", "-q")
    assert code == 0, err
    loaded = load_scenario(scenario)
    files, _ = read_plan(plan)
    return loaded, files, build_lists(loaded, files), tmp_path


def _where(lists, citizen_id: str) -> list[tuple[str, dict]]:
    return [(a.area_id, row) for a in lists.lists for row in a.rows.to_dict("records") if row["citizen_id"] == citizen_id]


def _reason(lists, citizen_id: str) -> set[str]:
    frame = lists.assessed
    return set(frame.loc[frame["citizen_id"] == citizen_id, "reason"])


def test_age_on_election_day_R15_R16(listed) -> None:
    _, _, lists, _ = listed
    assert len(_where(lists, "001")) == 1  # 18 exactly on election day
    assert not _where(lists, "002") and _reason(lists, "002") == {"under_age"}  # one day short
    assert len(_where(lists, "003")) == 1  # March 2008: counted from 1 March
    assert len(_where(lists, "004")) == 1  # 2008: counted from 1 January
    assert len(_where(lists, "005")) == 1  # 29 Feb 2008: 18 on 1 March 2026


def test_exclusions_R17(listed) -> None:
    _, _, lists, _ = listed
    for cid, status in (("006", "deprived"), ("007", "death_sentence"), ("008", "imprisoned"),
                        ("009", "incapacitated")):
        assert not _where(lists, cid) and _reason(lists, cid) == {status}


def test_pre_trial_detainee_votes_in_the_camp_area_without_commune_ballot_R17_R22(listed) -> None:
    _, files, lists, _ = listed
    [(area, row)] = _where(lists, "010")
    camp = files.areas.loc[files.areas["facility_id"] == "F03", "area_id"].item()
    assert area == camp
    assert (row["ballot_na"], row["ballot_province"], row["ballot_commune"]) == (True, True, False)


def test_listed_once_duplicates_resolved_R20(listed) -> None:
    _, files, lists, _ = listed
    places = _where(lists, "011")
    assert len(places) == 1
    area_of = dict(zip(files.assignment["unit_id"], files.assignment["area_id"]))
    assert places[0][0] == area_of["U0203"]  # the permanent residence wins
    assert lists.report["duplicates_resolved"] == 1


def test_temporary_residents_either_side_of_12_months_R22(listed) -> None:
    _, _, lists, _ = listed
    [(_, long)] = _where(lists, "012")
    [(_, short)] = _where(lists, "013")
    assert long["ballot_commune"] is True or long["ballot_commune"] == True  # noqa: E712 - numpy bool
    assert not short["ballot_commune"]
    assert short["ballot_na"] and short["ballot_province"]
    assert "15/03/2025" in long["note"]  # R33: the date the temporary residence began


def test_soldiers_listed_in_the_unit_area_with_commune_as_residence_R23(listed) -> None:
    loaded, files, lists, _ = listed
    [(area, row)] = _where(lists, "014")
    unit_area = next(a for a in lists.lists if a.area_id == area)
    assert unit_area.confidential and unit_area.facility_kind == "armed_forces"
    assert row["temporary"] == loaded.config.name  # never the unit's name
    assert not row["ballot_commune"]
    [(hospital_area, _)] = _where(lists, "015")
    assert next(a for a in lists.lists if a.area_id == hospital_area).facility_id == "F02"


def test_documents_internal_public_and_cards(listed) -> None:
    import openpyxl
    from pypdf import PdfReader

    loaded, files, lists, tmp = listed
    export = export_voter_documents(loaded, files, tmp / "voters", lists=lists)
    internal, public = tmp / "voters" / "internal", tmp / "voters" / "public"
    confidential = next(a for a in lists.lists if a.confidential)
    name = f"KV{confidential.number:02d}"
    assert (internal / f"{name}.pdf").exists() and not (public / f"{name}.pdf").exists()
    assert not (public / f"{name}.xlsx").exists()
    regular = next(a for a in lists.lists if a.kind == "regular" and any(a.rows["citizen_id"] == "016"))
    reg = f"KV{regular.number:02d}"
    book = openpyxl.load_workbook(internal / f"{reg}.xlsx")
    sheet = book.active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(row for row in values if row and row[0] == "STT")
    assert "Số định danh cá nhân" in header and "Họ và tên" in header
    hostile = next(c for row in sheet.iter_rows() for c in row if c.value == '=HYPERLINK("x")')
    assert hostile.data_type == "s"  # stays text, never a formula
    posted = [[c.value for c in row] for row in openpyxl.load_workbook(public / f"{reg}.xlsx").active.iter_rows()]
    assert "Số định danh cá nhân" not in next(row for row in posted if row and row[0] == "STT")
    assert not any("016" == v for row in posted for v in row)
    text = "".join(page.extract_text() for page in PdfReader(internal / f"{reg}.pdf").pages)
    assert "DANH SÁCH CỬ TRI" in text and f"Khu vực bỏ phiếu số {regular.number}" in text
    assert "Tổng số cử tri" in text
    cards = PdfReader(internal / "cards" / f"{reg}-the-cu-tri.pdf")
    assert len(cards.pages) == len(regular.rows)
    assert "THẺ CỬ TRI" in cards.pages[0].extract_text()
    import json

    def strings(node) -> set[str]:
        if isinstance(node, dict):
            return set(map(str, node)) | {s for v in node.values() for s in strings(v)}
        return {str(node)}

    report = strings(json.loads((tmp / "voters" / "eligibility.json").read_text(encoding="utf-8")))
    personal = {r[0] for r in REGISTRY} | {r[1] for r in REGISTRY} | {r[2] for r in REGISTRY}
    assert not report & personal  # counts only: no id, name or birth date
    assert export.files


def _changes(tmp: Path, rows: list[str]) -> Path:
    path = tmp / "changes.csv"
    path.write_text("action,citizen_id,full_name,date_of_birth,sex,unit_id,residence,facility_id,temp_registered,"
                    "to_area,rule,reason,requested_at\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_changes_until_the_cutoff_R26_R19_R27_R32(listed, cli) -> None:
    loaded, files, lists, tmp = listed
    [(area_001, row_001)] = _where(lists, "001")
    target = next(a.area_id for a in lists.lists if a.kind == "regular" and a.area_id != area_001)
    last = int(next(a for a in lists.lists if a.area_id == target).rows["seq"].max())
    changes = _changes(tmp, [
        "add,100,Trần Văn Về,1990-01-01,M,U0000,permanent,,,,R18,Về địa phương,2026-03-10T09:00",
        f"move,001,,,,,,,,{target},,Chuyển nơi ở,2026-03-11T09:00",
        "add,101,Lê Văn Muộn,1990-01-01,M,U0000,permanent,,,,,Muộn,2026-03-14T07:01",
        "remove,003,,,,,,,,,R19,Bị kết án,2026-03-14T20:00",
        "certificate,004,,,,,,,,,R27,Đi công tác,2026-03-14T21:00",
        "remove,005,,,,,,,,,R19,Quá giờ,2026-03-15T07:30",
        "add,004,Phạm Thị Năm,2008,F,U0001,permanent,,,,,Trùng,2026-03-01T09:00",
    ])
    code, _, err = cli("voters-change", loaded.path, tmp / "plan", changes, "--out", tmp / "amended",
                       "--format", "xlsx", "--lang", "en")
    assert code == 1 and "not an approved version" in err  # changes apply to an approved plan only
    assert not (tmp / "amended").exists()
    assert cli("propose", loaded.path, "1", "--by", "lap")[0] == 0
    assert cli("approve", loaded.path, "1", "--by", "Chủ tịch")[0] == 0
    code, out, _ = cli("voters-change", loaded.path, tmp / "plan", changes, "--out", tmp / "amended",
                       "--format", "xlsx", "--lang", "en")
    assert "Approved plan: version 1" in out
    assert code == 1  # some requests were refused
    with open(tmp / "amended" / "changes-log.csv", encoding="utf-8") as handle:
        log = {int(r["line"]): r for r in csv.DictReader(handle)}
    assert [log[k]["accepted"] for k in range(2, 9)] == ["yes", "yes", "no", "yes", "yes", "no", "no"]
    assert "cut-off" in log[4]["message_en"] and "R26" in log[4]["message_en"]
    assert "after voting opened" in log[7]["message_en"]
    assert "already listed" in log[8]["message_en"]
    import openpyxl

    number = int(target.replace("KV", ""))
    sheet = openpyxl.load_workbook(tmp / "amended" / "internal" / f"KV{number:02d}.xlsx").active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    moved = next(r for r in rows if r[2] == row_001["full_name"])
    assert moved[0] == last + 1  # numbering continues after the last posted number (R32)


def test_registry_from_excel_gives_the_same_counts(tmp_path: Path) -> None:
    import openpyxl

    scenario = basic_commune(facilities=FACILITIES).write(tmp_path / "csv")
    with open(scenario / "voters.csv", "w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        csv.writer(handle, lineterminator="\n").writerows(REGISTRY)
    excel = basic_commune(facilities=FACILITIES).write(tmp_path / "xlsx")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    for r, row in enumerate(REGISTRY, start=2):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c, value=value)
            cell.data_type = "s"  # as a clerk's text cells, ids with their leading zeros
    book.save(excel / "voters.xlsx")
    from_csv, from_xlsx = load_scenario(scenario), load_scenario(excel)
    assert from_xlsx.registry is not None
    assert from_csv.registry.reset_index(drop=True).equals(from_xlsx.registry.reset_index(drop=True))

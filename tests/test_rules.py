"""Each legal rule the software applies has a test naming its R-number."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

from planner.eligibility import assess_registry, coming_of_age, count_voters, parse_birth_date
from planner.messages import CATALOGUE
from planner.rules import RULES, LawParameters, facility_is_separate, facility_may_be_separate

PARAMS = LawParameters()  # election day 2026-03-15


def registry(*rows: dict) -> pd.DataFrame:
    base = {"citizen_id": "", "full_name": "Nguyễn Văn An", "date_of_birth": "1980-01-01", "sex": "M",
            "unit_id": "T01", "residence": "permanent", "status": "", "facility_id": ""}
    return pd.DataFrame([{**base, **r} for r in rows], dtype=object)


def reasons(*rows: dict) -> list[str]:
    return assess_registry(registry(*rows), PARAMS)["reason"].tolist()


def test_R15_eighteen_on_election_day() -> None:
    assert reasons({"citizen_id": "1", "date_of_birth": "2008-03-15"},
                   {"citizen_id": "2", "date_of_birth": "2008-03-16"},
                   {"citizen_id": "3", "date_of_birth": "1930-07-01"}) == ["", "under_age", ""]


def test_R16_partial_birth_dates() -> None:
    assert parse_birth_date("2008-03") == dt.date(2008, 3, 1)
    assert parse_birth_date("2008") == dt.date(2008, 1, 1)
    # born "March 2008": counted from 1 March, so 18 by 15 March 2026; "April 2008" is not
    assert reasons({"citizen_id": "1", "date_of_birth": "2008-03"},
                   {"citizen_id": "2", "date_of_birth": "2008-04"},
                   {"citizen_id": "3", "date_of_birth": "2008"},
                   {"citizen_id": "4", "date_of_birth": "2009"}) == ["", "under_age", "", "under_age"]
    assert parse_birth_date("2008-02-30") is None and parse_birth_date("15/03/2008") is None


def test_R16_29_february() -> None:
    assert coming_of_age(dt.date(2008, 2, 29), 18) == dt.date(2026, 3, 1)
    before = LawParameters(election_date=dt.date(2026, 2, 28))
    on = LawParameters(election_date=dt.date(2026, 3, 1))
    leapling = registry({"citizen_id": "1", "date_of_birth": "2008-02-29"})
    assert assess_registry(leapling, before)["reason"].tolist() == ["under_age"]
    assert assess_registry(leapling, on)["reason"].tolist() == [""]


def test_R17_exclusions_and_who_is_not_excluded() -> None:
    rows = [{"citizen_id": str(i), "status": s} for i, s in
            enumerate(["deprived", "death_sentence", "imprisoned", "incapacitated", ""])]
    assert reasons(*rows) == ["deprived", "death_sentence", "imprisoned", "incapacitated", ""]
    # pre-trial detainees in a detention camp, and temporary residents, are voters
    assert reasons({"citizen_id": "9", "facility_id": "F03"},
                   {"citizen_id": "8", "residence": "temporary"}) == ["", ""]


def test_R20_each_citizen_listed_once() -> None:
    frame = assess_registry(registry(
        {"citizen_id": "7", "unit_id": "T01", "residence": "temporary"},
        {"citizen_id": "7", "unit_id": "T02", "residence": "permanent"},
        {"citizen_id": "5", "unit_id": "T03", "facility_id": ""},
        {"citizen_id": "5", "unit_id": "T03", "facility_id": "F01"}), PARAMS)
    assert frame["reason"].tolist() == ["duplicate", "", "duplicate", ""]
    assert frame.loc[0, "kept_row"] == 1 and frame.loc[2, "kept_row"] == 3  # permanent, then facility kept
    per_unit, per_facility = count_voters(frame)
    assert per_unit.to_dict() == {"T02": 1} and per_facility.to_dict() == {"F01": 1}


def test_R4_separate_areas_by_kind_and_size() -> None:
    for kind in ("armed_forces", "compulsory_education", "drug_rehab", "detention"):
        assert facility_may_be_separate(kind, 5, PARAMS)
    for kind in ("hospital", "maternity_home", "nursing_home", "disability_care", "elderly_care"):
        assert not facility_may_be_separate(kind, 49, PARAMS)
        assert facility_may_be_separate(kind, 50, PARAMS)
    assert not facility_may_be_separate("prison", 500, PARAMS)
    assert not facility_is_separate("hospital", 120, False, PARAMS)  # the scenario may decline (R4: permitted)
    assert facility_is_separate("hospital", 120, None, PARAMS)


def test_R2_defaults_are_the_law() -> None:
    assert (PARAMS.min_voters, PARAMS.max_voters) == (300, 4000)
    assert PARAMS.areas_deadline() == dt.date(2026, 1, 31)  # R6: 43 days before 15 March 2026


def test_rules_have_numbers_sources_and_both_languages() -> None:
    for number, rule in RULES.items():
        assert re.fullmatch(r"R\d+", number) and rule.number == number
        assert rule.title_vi and rule.title_en and rule.source


def test_every_message_code_used_is_in_the_catalogue() -> None:
    root = Path(__file__).parents[1]
    used = set()
    for folder in ("planner", "solver", "geo"):
        for path in (root / folder).glob("*.py"):
            text = path.read_text(encoding="utf-8")
            used |= set(re.findall(r'(?:error|warning|Diagnostic)\(\s*"([a-z_0-9]+)"', text))
    missing = sorted(used - set(CATALOGUE))
    assert not missing, missing
    for vi, en in CATALOGUE.values():
        assert vi and en and vi != en


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_messages_render_without_placeholders(lang: str) -> None:
    from planner.findings import error

    finding = error("unit_too_large", file="units.geojson", feature_id="T07", field="voters", rule="R13",
                    name="Thôn Đông", voters=5200, max_voters=4000)
    text = finding.format(lang)
    assert "T07" in text and "5200" in text and "{" not in text and "[R13]" in text

"""Who is a voter, from the registry (R15, R16, R17, R20).

Pure functions over a registry table of strings. Each person gets a decision (eligible or the
reason they are not), so counts per unit and per facility, and every duplicate resolution, can be
reported without writing personal data anywhere.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from planner.rules import EXCLUDING_STATUSES, LawParameters

REGISTRY_COLUMNS = ("citizen_id", "full_name", "date_of_birth", "sex", "unit_id", "residence",
                    "status", "facility_id")
RESIDENCES = ("permanent", "temporary")

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")

REASON_ELIGIBLE = ""
REASON_UNDER_AGE = "under_age"
REASON_DUPLICATE = "duplicate"
REASON_BAD_DATE = "bad_date"

#: Vietnamese and English labels of the reasons in eligibility reports.
REASON_LABELS = {
    "eligible": ("đủ điều kiện", "eligible"),
    REASON_UNDER_AGE: ("chưa đủ 18 tuổi (R15)", "under 18 (R15)"),
    REASON_DUPLICATE: ("trùng số định danh (R20)", "duplicate id (R20)"),
    REASON_BAD_DATE: ("ngày sinh sai", "bad birth date"),
    "deprived": ("bị tước quyền bầu cử (R17)", "deprived by a court (R17)"),
    "death_sentence": ("bị kết án tử hình (R17)", "sentenced to death (R17)"),
    "imprisoned": ("đang chấp hành án phạt tù (R17)", "serving a prison sentence (R17)"),
    "incapacitated": ("mất năng lực hành vi dân sự (R17)", "lost civil act capacity (R17)"),
}


def parse_birth_date(text: str) -> dt.date | None:
    """A birth date from ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``.

    An unknown day counts from the 1st of the month, an unknown month from 1 January (R16).
    Returns None when the text is not such a date.
    """
    match = _DATE_RE.match(text.strip())
    if not match:
        return None
    year, month, day = match.group(1), match.group(2), match.group(3)
    try:
        return dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None


def coming_of_age(birth: dt.date, years: int) -> dt.date:
    """The day a person born on ``birth`` completes ``years`` full solar years (R16).

    A 29 February birthday falls on 1 March in a common year (the usual reading; the rule
    book marks it unconfirmed).
    """
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return dt.date(birth.year + years, 3, 1)


def latest_eligible_birth(params: LawParameters) -> dt.date:
    """The latest birth date that still votes on election day (2008-03-15 for 2026)."""
    day = params.election_date
    try:
        return day.replace(year=day.year - params.min_age)
    except ValueError:  # election on 29 February: born 28 February is 18 that day, 29 Feb is not
        return dt.date(day.year - params.min_age, 2, 28)


def is_of_age(birth: dt.date, params: LawParameters) -> bool:
    """Aged ``min_age`` on election day (R15)."""
    return coming_of_age(birth, params.min_age) <= params.election_date


def parse_birth_dates(texts: pd.Series) -> pd.Series:
    """Vectorised :func:`parse_birth_date`: datetime64 values, NaT where the text is not a date."""
    parts = texts.fillna("").astype(str).str.strip().str.extract(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
    frame = pd.DataFrame({"year": pd.to_numeric(parts[0], errors="coerce"),
                          "month": pd.to_numeric(parts[1], errors="coerce").fillna(1),
                          "day": pd.to_numeric(parts[2], errors="coerce").fillna(1)})
    valid = frame["year"].notna()
    out = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns]")
    if valid.any():
        out[valid] = pd.to_datetime(frame[valid].astype(int), errors="coerce")
    return out


def assess_registry(registry: pd.DataFrame, params: LawParameters) -> pd.DataFrame:
    """Decide each row: ``eligible`` (bool) and ``reason`` ('' or why not).

    Reasons: ``bad_date``, ``under_age`` (R15, R16), an excluding status (R17), ``duplicate`` (R20:
    a citizen listed once; the row kept is the facility row, else the permanent residence,
    else the first in file order; ``kept_row`` names it).
    """
    frame = registry.copy()
    births = parse_birth_dates(frame["date_of_birth"])
    status = frame["status"].fillna("").astype(str).str.strip()
    latest = pd.Timestamp(latest_eligible_birth(params))
    reason = pd.Series(REASON_ELIGIBLE, index=frame.index, dtype=object)
    reason[births.isna()] = REASON_BAD_DATE
    reason[(reason == REASON_ELIGIBLE) & (births > latest)] = REASON_UNDER_AGE
    excluded = (reason == REASON_ELIGIBLE) & status.isin(EXCLUDING_STATUSES)
    reason[excluded] = status[excluded]
    frame["reason"] = reason
    frame["kept_row"] = -1
    candidates = frame[frame["reason"] == REASON_ELIGIBLE]
    ids = candidates["citizen_id"].astype(str)
    duplicated = ids[ids.duplicated(keep=False)]
    if len(duplicated):
        priority = (
            (candidates.loc[duplicated.index, "facility_id"].fillna("").astype(str) == "").astype(int) * 2
            + (candidates.loc[duplicated.index, "residence"].astype(str) != "permanent").astype(int)
        )
        order = pd.DataFrame({"cid": duplicated, "priority": priority,
                              "pos": np.arange(len(duplicated))}, index=duplicated.index)
        order = order.sort_values(["cid", "priority", "pos"], kind="stable")
        keepers = order.groupby("cid").head(1)
        keeper_of = dict(zip(keepers["cid"], keepers.index))
        losers = order.index.difference(keepers.index)
        frame.loc[losers, "reason"] = REASON_DUPLICATE
        frame.loc[losers, "kept_row"] = [keeper_of[c] for c in order.loc[losers, "cid"]]
    frame["eligible"] = frame["reason"] == REASON_ELIGIBLE
    return frame


def count_voters(assessed: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Eligible voters per unit (not in a facility) and per facility."""
    eligible = assessed[assessed["eligible"]]
    facility = eligible["facility_id"].fillna("").astype(str)
    per_unit = eligible[facility == ""].groupby("unit_id").size()
    per_facility = eligible[facility != ""].groupby("facility_id").size()
    return per_unit.astype(int), per_facility.astype(int)


#: Facility kinds whose voters take the National Assembly and provincial ballots only (R22).
NO_COMMUNE_BALLOT_FACILITIES = frozenset({"armed_forces", "detention", "compulsory_education", "drug_rehab"})


def months_before(day: dt.date, months: int) -> dt.date:
    """The same calendar day ``months`` earlier (clamped to the month's last day)."""
    import calendar

    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def ballots(assessed: pd.DataFrame, facility_kinds: dict[str, str], params: LawParameters) -> pd.DataFrame:
    """Which ballots each eligible voter receives (R22): National Assembly, province, commune.

    Everyone eligible votes for the National Assembly and the province. The commune ballot goes to
    permanent residents and to temporary residents registered at least ``temp_residence_full_months``
    before election day (the reference date is unconfirmed in the rule book; election day is used);
    soldiers at their garrison and people in detention or compulsory facilities do not get it.
    """
    frame = assessed.copy()
    eligible = frame["eligible"].astype(bool)
    frame["ballot_na"] = eligible
    frame["ballot_province"] = eligible
    threshold = months_before(params.election_date, params.temp_residence_full_months)
    registered = frame.get("temp_registered", pd.Series("", index=frame.index)).fillna("").astype(str)
    long_enough = registered.map(lambda s: bool(s) and _iso(s) is not None and _iso(s) <= threshold)
    resident = (frame["residence"] == "permanent") | ((frame["residence"] == "temporary") & long_enough)
    kinds = frame["facility_id"].fillna("").astype(str).map(lambda f: facility_kinds.get(f, ""))
    frame["ballot_commune"] = eligible & resident & ~kinds.isin(NO_COMMUNE_BALLOT_FACILITIES)
    return frame


def _iso(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def eligibility_report(assessed: pd.DataFrame) -> dict[str, object]:
    """Counts by reason per unit and in total; no names, ids or dates (safe to log and share)."""
    reasons = assessed["reason"].replace("", "eligible")
    per_unit = pd.crosstab(assessed["unit_id"], reasons)
    totals = reasons.value_counts().to_dict()
    return {"total": {str(k): int(v) for k, v in sorted(totals.items())},
            "per_unit": {str(u): {str(k): int(v) for k, v in row.items() if v} for u, row in per_unit.iterrows()},
            "rows": int(len(assessed))}

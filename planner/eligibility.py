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


def assess_registry(registry: pd.DataFrame, params: LawParameters) -> pd.DataFrame:
    """Decide each row: ``eligible`` (bool) and ``reason`` ('' or why not).

    Reasons: ``bad_date``, ``under_age`` (R15), an excluding status (R17), ``duplicate`` (R20:
    a citizen listed once; the row kept is the facility row, else the permanent residence,
    else the first in file order).
    """
    frame = registry.copy()
    births = frame["date_of_birth"].map(lambda s: parse_birth_date(str(s)))
    status = frame["status"].fillna("").astype(str).str.strip()
    reason = pd.Series(REASON_ELIGIBLE, index=frame.index, dtype=object)
    reason[births.isna()] = REASON_BAD_DATE
    of_age = births.map(lambda b: b is not None and is_of_age(b, params))
    reason[(reason == REASON_ELIGIBLE) & ~of_age.astype(bool)] = REASON_UNDER_AGE
    excluded = status.isin(EXCLUDING_STATUSES)
    reason[(reason == REASON_ELIGIBLE) & excluded] = status[(reason == REASON_ELIGIBLE) & excluded]
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

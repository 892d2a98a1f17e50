"""The legal rules the planner encodes, as data.

Each rule carries its number from the team's rule book (R1, R2, ...), a short title in
Vietnamese and English, its legal source and whether the software enforces it as a hard
constraint. Validation, the plan checker and the solver all read their parameters from
:class:`LawParameters`, so a scenario that overrides ``min_voters`` changes every one of them
at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class Rule:
    """One numbered rule of the election law as the software applies it."""

    number: str
    title_vi: str
    title_en: str
    source: str
    hard: bool
    checked_by: tuple[str, ...] = ()

    def title(self, lang: str = "vi") -> str:
        return self.title_vi if lang == "vi" else self.title_en


_RULES: tuple[Rule, ...] = (
    Rule("R1", "Khu vực bỏ phiếu nằm trong đơn vị bầu cử, dùng chung cho cả ba cuộc bầu cử",
         "Polling areas subdivide electoral units and serve all three elections",
         "Luật Bầu cử Điều 11 khoản 1", True, ("checker", "solver")),
    Rule("R2", "Mỗi khu vực bỏ phiếu có từ 300 đến 4.000 cử tri",
         "Each polling area has 300 to 4,000 voters",
         "Luật Bầu cử Điều 11 khoản 2", True, ("validation", "checker", "solver")),
    Rule("R3", "Miền núi, hải đảo, nơi dân cư không tập trung: được ít hơn 300 cử tri",
         "Mountainous, island and sparse places may have fewer than 300 voters",
         "Luật Bầu cử Điều 11 khoản 2", True, ("checker", "solver")),
    Rule("R4", "Khu vực bỏ phiếu riêng cho đơn vị vũ trang, bệnh viện, cơ sở chăm sóc (từ 50 cử tri), "
               "cơ sở giáo dục bắt buộc, cai nghiện bắt buộc, trại tạm giam",
         "Separate polling areas for armed forces, hospitals and care homes (50+ voters), "
         "compulsory education, compulsory rehab, pre-trial detention",
         "Luật Bầu cử Điều 11 khoản 3", True, ("validation", "checker", "solver")),
    Rule("R5", "UBND cấp xã quyết định khu vực bỏ phiếu", "The commune People's Committee decides",
         "Luật Bầu cử Điều 11 khoản 4 (sửa đổi 2025)", False),
    Rule("R6", "Khu vực bỏ phiếu xác định chậm nhất 43 ngày trước ngày bầu cử",
         "Polling areas fixed at least 43 days before election day",
         "Luật Bầu cử Điều 11 khoản 4, Điều 25 khoản 1", False, ("checker",)),
    Rule("R7", "Mỗi khu vực bỏ phiếu một Tổ bầu cử, một điểm bỏ phiếu",
         "One election team and one polling station per area",
         "Luật Bầu cử Điều 25", True, ("checker", "solver")),
    Rule("R8", "Điểm bỏ phiếu thuận tiện: nhà văn hóa, hội trường, trường học",
         "A convenient polling site: cultural house, hall, school",
         "Hướng dẫn HĐBCQG 2026 (chưa xác nhận)", True, ("validation", "checker", "solver")),
    Rule("R11", "Đơn vị bầu cử ba cấp: Quốc hội, HĐND tỉnh, HĐND xã",
         "Electoral units of three levels", "Luật Bầu cử Điều 10", True, ("checker", "solver")),
    Rule("R13", "Khu vực bỏ phiếu nằm trọn trong một đơn vị bầu cử mỗi cấp; thôn quá 4.000 cử tri phải tách",
         "A polling area lies inside one electoral unit of every level; a unit above the maximum must be split",
         "Luật Bầu cử Điều 10, 11 (suy ra)", True, ("validation", "checker", "solver")),
    Rule("R15", "Công dân đủ 18 tuổi tính đến ngày bầu cử", "Citizens aged 18 on election day",
         "Luật Bầu cử Điều 2", True, ("eligibility",)),
    Rule("R16", "Tính tuổi: không rõ ngày lấy ngày 01, không rõ tháng lấy tháng 01",
         "Age: unknown day counts from the 1st, unknown month from January",
         "Hỏi đáp HĐBCQG 2026", True, ("eligibility",)),
    Rule("R17", "Không ghi tên: bị tước quyền bầu cử, án tử hình, phạt tù không hưởng án treo, mất năng lực hành vi dân sự",
         "Excluded: deprived by court, death sentence, unsuspended prison, lost civil capacity",
         "Luật Bầu cử Điều 30 khoản 1", True, ("eligibility",)),
    Rule("R20", "Mỗi công dân chỉ được ghi tên vào một danh sách cử tri",
         "Each citizen is listed once", "Luật Bầu cử Điều 29", True, ("validation", "eligibility")),
    Rule("R23", "Số lượng, danh sách quân nhân được bảo mật", "Armed-forces counts and lists are confidential",
         "Thông tư 21/2025/TT-BNV", True, ("exports",)),
)

RULES: Mapping[str, Rule] = MappingProxyType({r.number: r for r in _RULES})

#: Facility kinds of R4 that may form a separate polling area whatever their size.
SEPARATE_ANY_SIZE = frozenset({"armed_forces", "compulsory_education", "drug_rehab", "detention"})
#: Facility kinds of R4 that may form a separate polling area from ``special_facility_min_voters``.
SEPARATE_FROM_MINIMUM = frozenset(
    {"hospital", "maternity_home", "nursing_home", "disability_care", "elderly_care"}
)
FACILITY_KINDS = SEPARATE_ANY_SIZE | SEPARATE_FROM_MINIMUM

#: Voter statuses that exclude a person from the list (R17).
EXCLUDING_STATUSES = frozenset({"deprived", "death_sentence", "imprisoned", "incapacitated"})

#: Electoral-unit levels, as unit property names (R11).
ELECTORAL_LEVELS: tuple[str, ...] = ("eu_na", "eu_province", "eu_commune")


@dataclass(frozen=True)
class LawParameters:
    """Parameters of the rules; defaults are the law's (rule book section 11)."""

    election_date: dt.date = dt.date(2026, 3, 15)
    min_voters: int = 300
    max_voters: int = 4000
    special_facility_min_voters: int = 50
    min_age: int = 18
    temp_residence_full_months: int = 12
    cutoff_hours_before_voting: int = 24
    voting_start: dt.time = dt.time(7, 0)
    areas_fixed_days_before: int = 43
    list_posting_days_before: int = 40
    extra: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    def areas_deadline(self) -> dt.date:
        """Last day polling areas may be fixed (R6)."""
        return self.election_date - dt.timedelta(days=self.areas_fixed_days_before)


def facility_may_be_separate(kind: str, voters: int, params: LawParameters) -> bool:
    """Whether the law permits a separate polling area for this facility (R4)."""
    if kind in SEPARATE_ANY_SIZE:
        return True
    if kind in SEPARATE_FROM_MINIMUM:
        return voters >= params.special_facility_min_voters
    return False


def facility_is_separate(kind: str, voters: int, requested: bool | None, params: LawParameters) -> bool:
    """Whether a facility gets its own area: permitted by R4 and not declined by the scenario."""
    permitted = facility_may_be_separate(kind, voters, params)
    if requested is None:
        return permitted
    return permitted and requested

"""Message catalogue: every finding code with its Vietnamese and English text.

Templates use ``str.format`` fields filled from the finding's parameters. A code missing here
is a programming error, caught by a test that renders every code used in the package.
"""

from __future__ import annotations

from typing import Any, Mapping

CATALOGUE: dict[str, tuple[str, str]] = {
    # --- loading -------------------------------------------------------------------------
    "scenario_not_found": ("Không tìm thấy kịch bản tại {path}",
                           "No scenario at {path}"),
    "missing_file": ("Thiếu tệp bắt buộc {name}",
                     "Required file {name} is missing"),
    "unreadable_file": ("Không đọc được tệp: {detail}",
                        "The file cannot be read: {detail}"),
    "not_utf8": ("Tệp không được mã hóa UTF-8 (byte không hợp lệ ở dòng {line}, vị trí {offset}); "
                 "hãy mở bằng Excel/LibreOffice và lưu lại dạng CSV UTF-8",
                 "The file is not UTF-8 (invalid byte on line {line}, offset {offset}); "
                 "open it in Excel/LibreOffice and save it again as CSV UTF-8"),
    "toml_invalid": ("Tệp TOML sai cú pháp: {detail}",
                     "The TOML file has a syntax error: {detail}"),
    "unknown_key": ("Khóa {key} không được dùng, bị bỏ qua",
                    "Key {key} is not used and was ignored"),
    "both_sources": ("Lớp {layer} có cả trong {file_a} và {file_b}; dùng {file_a}",
                     "Layer {layer} is in both {file_a} and {file_b}; using {file_a}"),
    "empty_layer": ("Tệp không có đối tượng nào",
                    "The file holds no feature"),
    "missing_field": ("Thiếu trường bắt buộc",
                      "A required field is missing"),
    "missing_column": ("Thiếu cột bắt buộc {column}",
                       "Required column {column} is missing"),
    "duplicate_id": ("Mã {id} xuất hiện {count} lần; mỗi mã phải là duy nhất",
                     "Id {id} appears {count} times; each id must be unique"),
    "voters_not_int": ("Số cử tri phải là số nguyên không âm viết liền, không dấu chấm/phẩy, nhận được {value!r}",
                       "Voters must be a non-negative whole number without separators, got {value!r}"),
    "capacity_not_int": ("Sức chứa phải là số nguyên dương viết liền, không dấu chấm/phẩy, nhận được {value!r}",
                         "Capacity must be a positive whole number without separators, got {value!r}"),
    "bad_bool": ("Giá trị {value!r} không phải đúng/sai (true/false)",
                 "Value {value!r} is not a boolean (true/false)"),
    "bad_value": ("Giá trị {value!r} không hợp lệ; cần {expected}",
                  "Value {value!r} is not valid; expected {expected}"),
    "bad_date": ("Ngày {value!r} không hợp lệ; cần dạng YYYY-MM-DD",
                 "Date {value!r} is not valid; expected YYYY-MM-DD"),
    "min_gt_max": ("Số cử tri tối thiểu {min_voters} lớn hơn tối đa {max_voters}",
                   "Minimum voters {min_voters} is greater than maximum {max_voters}"),
    "bad_areas": ("Số khu vực bỏ phiếu phải là số nguyên dương, nhận được {value!r}",
                  "The number of polling areas must be a positive integer, got {value!r}"),
    "geometry_empty": ("Hình học rỗng hoặc thiếu",
                       "The geometry is empty or missing"),
    "geometry_repaired": ("Hình học không hợp lệ ({reason}); đã tự sửa bằng make_valid, hãy kiểm tra lại",
                          "Invalid geometry ({reason}); repaired with make_valid, please review it"),
    "geometry_invalid": ("Hình học không hợp lệ ({reason}) và không tự sửa được; hãy vẽ lại",
                         "Invalid geometry ({reason}) that cannot be repaired; redraw it"),
    "geometry_type": ("Kiểu hình học {got}, cần {expected}",
                      "Geometry type {got}, expected {expected}"),
    "swapped_coordinates": ("Tọa độ ({x}, {y}) có vẻ bị đảo kinh độ và vĩ độ; GeoJSON ghi kinh độ trước",
                            "Coordinates ({x}, {y}) look like swapped latitude/longitude; GeoJSON puts longitude first"),
    "far_outside": ("Nằm cách phần còn lại của xã {distance_km} km; tọa độ có vẻ sai",
                    "Lies {distance_km} km from the rest of the commune; the coordinates look wrong"),
    "point_outside_units": ("Điểm nằm ngoài mọi đơn vị (cách đơn vị gần nhất {distance_m} m)",
                            "The point lies outside every unit ({distance_m} m from the nearest)"),
    "overlap": ("Chồng lấn với đơn vị {other} trên {area_m2} m²",
                "Overlaps unit {other} over {area_m2} m²"),
    "eu_missing": ("Thiếu mã đơn vị bầu cử cấp {level} trong khi các đơn vị khác có",
                   "The {level} electoral-unit code is missing while other units have one"),
    "crs_missing": ("Tọa độ ({x}, {y}) là mét của một hệ chiếu nhưng tệp không khai báo hệ tọa độ (crs); hãy xuất lại "
                    "GeoJSON kèm hệ tọa độ (ví dụ VN-2000 hoặc UTM) hoặc chuyển sang kinh độ/vĩ độ WGS 84",
                    "Coordinates ({x}, {y}) are projected metres but the file declares no CRS; export the GeoJSON "
                    "again with its CRS (e.g. VN-2000 or UTM) or in WGS 84 longitude/latitude"),
    "election_past": ("Ngày bầu cử {date} đã qua (hôm nay {today}); hãy kiểm tra lại scenario.election_date",
                      "Election day {date} is in the past (today {today}); check scenario.election_date"),
    "registry_duplicates": ("{count} số định danh xuất hiện nhiều lần; mỗi người chỉ được ghi tên một lần (R20): giữ "
                            "dòng của cơ sở, rồi nơi thường trú, rồi dòng đầu tiên; xem duplicates.csv khi lập danh sách",
                            "{count} citizen ids appear more than once; each person is listed once (R20): the facility "
                            "row is kept, else the permanent residence, else the first; see duplicates.csv in the lists"),
    "registry_id_format": ("{count} số định danh không đủ 12 chữ số (ví dụ dòng {first}: {value!r}); Excel có thể đã "
                           "bỏ số 0 ở đầu: định dạng cột là Văn bản (Text) rồi xuất lại",
                           "{count} citizen ids are not 12 digits (e.g. line {first}: {value!r}); Excel may have "
                           "dropped leading zeros: format the column as Text and export again"),
    "many_rows": ("{count} dòng có cùng lỗi, ví dụ: {message} (các dòng {lines})",
                  "{count} rows have the same problem, e.g.: {message_en} (lines {lines})"),
    "semicolon_csv": ("Tệp CSV dùng dấu chấm phẩy (;) để phân cách; đã đọc theo dấu chấm phẩy",
                      "The CSV file is separated by semicolons (;); it was read that way"),
    "unit_too_large": ("Đơn vị {name} có {voters} cử tri, vượt mức tối đa {max_voters} của một khu vực "
                       "bỏ phiếu: phải tách đơn vị này thành nhiều phần",
                       "Unit {name} has {voters} voters, more than the maximum {max_voters} of a polling "
                       "area: it must be split"),
    "unknown_unit": ("Tham chiếu đến đơn vị không tồn tại {ref}",
                     "Refers to unknown unit {ref}"),
    "unknown_facility": ("Tham chiếu đến cơ sở không tồn tại {ref}",
                         "Refers to unknown facility {ref}"),
    "unknown_facility_kind": ("Loại cơ sở {kind!r} không thuộc Điều 11 khoản 3; dùng một trong: {allowed}",
                              "Facility kind {kind!r} is not one of Art. 11(3); use one of: {allowed}"),
    "self_link": ("Liên kết một đơn vị với chính nó",
                  "The link joins a unit to itself"),
    "voters_missing": ("Thiếu số cử tri: không có trường voters và không có tệp voters.csv",
                       "No voter counts: no voters field and no voters.csv"),
    "voters_disagree": ("Số cử tri ghi {declared} khác số cử tri đủ điều kiện trong danh sách {counted}",
                        "Declared voters {declared} differ from eligible voters in the registry {counted}"),
    "facility_too_small": ("Cơ sở loại {kind} có {voters} cử tri (< {minimum}) nên không được lập khu vực "
                           "riêng; cử tri tính vào khu vực của đơn vị {unit}",
                           "Facility of kind {kind} has {voters} voters (< {minimum}), so it cannot have its "
                           "own area; its voters count in the area of unit {unit}"),
    "unit_island": ("Đơn vị {name} không giáp đơn vị nào và không có liên kết (links.csv): nó phải tự "
                    "thành một khu vực",
                    "Unit {name} touches no other unit and has no link (links.csv): it must form an "
                    "area of its own"),
    "travel_bound_missed": ("Chưa tìm được phương án trong giới hạn {km} km: {units} đơn vị ({voters} cử tri) "
                            "đi xa hơn, xa nhất là {name} ({worst} km); hãy cho thêm thời gian, thêm điểm bỏ phiếu "
                            "hoặc nới giới hạn",
                            "No plan within the {km} km travel bound was found: {units} units ({voters} voters) "
                            "travel farther, the farthest {name} ({worst} km); give more time, add polling sites "
                            "or relax the bound"),
    "deadline_passed": ("Phương án lập ngày {today}, sau hạn xác định khu vực bỏ phiếu {deadline}",
                        "The plan is made on {today}, after the deadline for fixing polling areas {deadline}"),
    "no_roads": ("Không có đường nào dùng được trong roads.geojson; tính theo đường chim bay thay cho {metric}",
                 "No usable road in roads.geojson; straight-line distance is used instead of {metric}"),
    "road_unreached": ("Không có đường tới đơn vị {name}; tính theo đường chim bay nhân {factor}",
                       "No road reaches unit {name}; straight line times {factor} is used"),
    "derived_point_dropped": ("Điểm {name} lấy từ OpenStreetMap nằm ngoài xã ({distance_m} m), bỏ qua",
                              "Site {name} from OpenStreetMap lies outside the commune ({distance_m} m) and was left out"),
    # --- infeasibility ---------------------------------------------------------------------
    "infeasible_small_part": ("Phần {part} của đơn vị bầu cử {eu} (các đơn vị {units}) có {voters} cử tri, "
                              "không thuộc vùng thưa dân, nên không khu vực nào đạt {min_voters}",
                              "Part {part} of electoral unit {eu} (units {units}) has {voters} voters, is "
                              "not sparse, so no area can reach {min_voters}"),
    "infeasible_no_site": ("Phần {part} của đơn vị bầu cử {eu} (các đơn vị {units}) không có điểm bỏ phiếu nào",
                           "Part {part} of electoral unit {eu} (units {units}) has no candidate polling site"),
    "infeasible_island": ("Đơn vị {name} (đơn vị bầu cử {eu}) không giáp đơn vị nào, không có liên kết (cầu, phà) "
                          "và không có điểm bỏ phiếu: hãy thêm dòng vào links.csv hoặc một điểm bỏ phiếu",
                          "Unit {name} (electoral unit {eu}) touches no unit, has no link (bridge, ferry) and no "
                          "polling site: add a row to links.csv or a polling site"),
    "infeasible_capacity": ("Đơn vị bầu cử {eu}: sức chứa các điểm bỏ phiếu thiếu {short} cử tri "
                            "({voters} cử tri, sức chứa tối đa {capacity})",
                            "Electoral unit {eu}: site capacity is short by {short} voters "
                            "({voters} voters, at most {capacity} capacity)"),
    "infeasible_area_count": ("Số khu vực yêu cầu {requested} không khả thi: cần từ {low} đến {high}",
                              "The requested number of areas {requested} is not feasible: it must be from "
                              "{low} to {high}"),
    "infeasible_area_count_detail": ("Không thể có đúng {requested} khu vực: cần ít nhất {low} (mỗi phần của đơn vị "
                                     "bầu cử có ít nhất một khu vực; {parts} phần) và nhiều nhất {high} (số điểm bỏ "
                                     "phiếu ở các thôn khác nhau: {sites}, và mức tối thiểu cử tri)",
                                     "Exactly {requested} areas is impossible: at least {low} are needed (each part of an "
                                     "electoral unit has one; {parts} parts) and at most {high} fit (sites in distinct "
                                     "units: {sites}, and the voter minimum)"),
    "pin_other_part": ("Không thể ghim đơn vị {unit} vào điểm {site}: đơn vị thuộc {eu_unit}, điểm thuộc {eu_site} "
                       "(hoặc không liền nhau); một khu vực không được vượt ra ngoài đơn vị bầu cử (R13)",
                       "Unit {unit} cannot be pinned to site {site}: the unit is in {eu_unit}, the site in {eu_site} "
                       "(or they are not connected); an area cannot leave its electoral unit (R13)"),
    "construction_area_count": ("Cách dựng nhanh chỉ đạt {reached} khu vực, không đúng {requested} khu vực yêu cầu; "
                                "điều này chưa chứng minh {requested} khu vực là không thể: hãy cho bộ giải thêm thời gian",
                                "The quick construction reached {reached} areas, not the {requested} asked; this does "
                                "not prove {requested} areas impossible: give the solver more time"),
    "infeasible_unit_no_area": ("Đơn vị {name} ({voters} cử tri, đơn vị bầu cử {eu}) không thể thuộc khu vực bỏ "
                                "phiếu nào: mọi khu vực liền kề chứa nó hoặc dưới {min_voters} cử tri, hoặc trên "
                                "{max_voters} cử tri, hoặc không có điểm bỏ phiếu đủ sức chứa; hãy thêm điểm "
                                "bỏ phiếu, liên kết (links.csv) hoặc đánh dấu vùng thưa dân",
                                "Unit {name} ({voters} voters, electoral unit {eu}) fits in no polling area: every "
                                "connected area holding it has fewer than {min_voters} voters, more than "
                                "{max_voters}, or no polling site able to hold it; add a polling site, a link "
                                "(links.csv) or mark the area sparse"),
    "infeasible_unit_no_site": ("Đơn vị {name} không tới được điểm bỏ phiếu nào trong đơn vị bầu cử {eu}",
                                "Unit {name} reaches no polling site within electoral unit {eu}"),
    "construction_failed": ("Không dựng được phương án hợp lệ cho đơn vị bầu cử {eu} (các đơn vị {units}); "
                            "hãy thêm điểm bỏ phiếu hoặc kiểm tra ràng buộc",
                            "No valid plan could be built for electoral unit {eu} (units {units}); add "
                            "candidate sites or review the constraints"),
    "infeasible_travel_unit": ("Đơn vị {name} không có điểm bỏ phiếu nào trong phạm vi {km} km (gần nhất {nearest} km)",
                               "Unit {name} has no polling site within {km} km (nearest {nearest} km)"),
    "infeasible_structure": ("Đơn vị bầu cử {eu} (các đơn vị {units}): không có cách chia liền mạch nào thỏa số cử tri "
                             "tối thiểu/tối đa và sức chứa điểm bỏ phiếu",
                             "Electoral unit {eu} (units {units}): no contiguous division meets the voter bounds "
                             "and site capacities"),
    "conflict_min_voters": ("Mâu thuẫn: mức tối thiểu {min_voters} cử tri mỗi khu vực trong đơn vị bầu cử {eu} "
                            "(các đơn vị {units})",
                            "Conflict: the minimum of {min_voters} voters per area in electoral unit {eu} "
                            "(units {units})"),
    "conflict_pin": ("Mâu thuẫn: đơn vị {unit} bị ghim vào điểm bỏ phiếu {site}",
                     "Conflict: unit {unit} is pinned to site {site}"),
    "conflict_open": ("Mâu thuẫn: điểm bỏ phiếu {site} bị buộc phải mở",
                      "Conflict: site {site} is forced open"),
    "conflict_area_count": ("Mâu thuẫn: số khu vực cố định {areas}",
                            "Conflict: the fixed number of areas {areas}"),
    "conflict_travel": ("Mâu thuẫn: quãng đường tối đa {km} km cho mọi cử tri",
                        "Conflict: the {km} km travel bound for every voter"),
    # --- plan checks -----------------------------------------------------------------------
    "plan_not_found": ("Không tìm thấy phương án tại {path}",
                       "No plan at {path}"),
    "unit_unassigned": ("Đơn vị {name} chưa được xếp vào khu vực nào",
                        "Unit {name} is in no area"),
    "unit_assigned_twice": ("Đơn vị {name} được xếp vào {count} khu vực: {areas}",
                            "Unit {name} is in {count} areas: {areas}"),
    "unknown_area": ("Khu vực {ref} không có trong areas.csv",
                     "Area {ref} is not in areas.csv"),
    "unknown_site": ("Điểm bỏ phiếu {ref} không có trong sites.geojson",
                     "Polling site {ref} is not in sites.geojson"),
    "area_no_site": ("Khu vực thường không có điểm bỏ phiếu",
                     "The regular area has no polling site"),
    "area_no_units": ("Khu vực không có đơn vị nào",
                      "The area has no unit"),
    "site_used_twice": ("Điểm bỏ phiếu {site} được dùng cho {count} khu vực: {areas}",
                        "Polling site {site} serves {count} areas: {areas}"),
    "area_too_few": ("Khu vực có {voters} cử tri, ít hơn tối thiểu {min_voters}, và không phải mọi đơn vị "
                     "đều thuộc vùng thưa dân (không thưa: {dense})",
                     "The area has {voters} voters, fewer than the minimum {min_voters}, and not all its "
                     "units are sparse (not sparse: {dense})"),
    "area_sparse_small": ("Khu vực có {voters} cử tri (< {min_voters}), được phép vì mọi đơn vị đều thuộc vùng "
                          "miền núi/hải đảo/thưa dân",
                          "The area has {voters} voters (< {min_voters}), allowed because all its units are "
                          "mountainous/island/sparse"),
    "area_too_many": ("Khu vực có {voters} cử tri, vượt tối đa {max_voters}",
                      "The area has {voters} voters, more than the maximum {max_voters}"),
    "area_not_contiguous": ("Khu vực bị chia thành {count} phần không liền nhau: {parts}",
                            "The area falls apart into {count} pieces: {parts}"),
    "area_crosses_eu": ("Khu vực trải qua nhiều đơn vị bầu cử cấp {level}: {codes}",
                        "The area spans several electoral units of level {level}: {codes}"),
    "site_outside_area": ("Điểm bỏ phiếu {site} không nằm trong khu vực (nằm ở đơn vị {unit})",
                          "Polling site {site} is not inside the area (it stands in unit {unit})"),
    "site_over_capacity": ("Khu vực có {voters} cử tri, vượt sức chứa {capacity} của điểm bỏ phiếu {site}",
                           "The area has {voters} voters, more than the capacity {capacity} of site {site}"),
    "facility_needs_area": ("Cơ sở {name} ({kind}) được lập khu vực bỏ phiếu riêng nhưng phương án không có",
                            "Facility {name} ({kind}) is entitled to a separate area but the plan has none"),
    "facility_area_not_allowed": ("Cơ sở {name} ({kind}, {voters} cử tri) không được lập khu vực riêng",
                                  "Facility {name} ({kind}, {voters} voters) may not have a separate area"),
    "facility_area_twice": ("Cơ sở {name} có {count} khu vực riêng",
                            "Facility {name} has {count} separate areas"),
    "voters_total_wrong": ("Số cử tri ghi {declared}, tổng thực tế {actual}",
                           "Declared voters {declared}, actual total {actual}"),
    "bad_area_kind": ("Loại khu vực {kind!r} không hợp lệ; cần regular hoặc special",
                      "Area kind {kind!r} is not valid; expected regular or special"),
}


#: The solver's progress stages (``on_progress`` of :func:`solver.solve`), as users read them.
STAGES: dict[str, tuple[str, str]] = {
    "construction": ("dựng phương án ban đầu", "building the starting plan"),
    "optimisation": ("tối ưu từng phần", "optimising part by part"),
    "search": ("tìm phương án tối ưu, thời gian đã dùng", "searching for the optimum, time used"),
}


def decimal(value: float, lang: str, digits: int = 2) -> str:
    """A decimal in the reader's convention: 0,80 in Vietnamese ("vi"), 0.80 in English."""
    text = f"{float(value):.{digits}f}"
    return text.replace(".", ",") if lang == "vi" else text


def stage_label(stage: str, lang: str) -> str:
    """A progress stage in ``lang`` ("vi" or "en"); an unknown stage keeps its own name."""
    vi, en = STAGES.get(stage, (stage, stage))
    return vi if lang == "vi" else en


def render(code: str, lang: str, params: Mapping[str, Any]) -> str:
    """The text of a finding in ``lang`` ('vi' or 'en')."""
    vi, en = CATALOGUE[code]
    template = en if lang == "en" else vi
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return f"{template} {dict(params)}"

"""Every label of the review app in Vietnamese (default) and English."""

from __future__ import annotations

from planner.messages import decimal

LABELS: dict[str, tuple[str, str]] = {
    "title": ("Lập khu vực bỏ phiếu", "Polling-area planner"),
    "language": ("Ngôn ngữ", "Language"),
    "sign_in": ("Đăng nhập", "Sign in"),
    "sign_out": ("Đăng xuất", "Sign out"),
    "user": ("Tên đăng nhập", "User name"),
    "password": ("Mật khẩu", "Password"),
    "bad_login": ("Sai tên đăng nhập hoặc mật khẩu", "Wrong user name or password"),
    "no_users": ("Chưa có người dùng. Tạo bằng: pollplan users add SCENARIO TÊN --role planner",
                 "No users yet. Create one with: pollplan users add SCENARIO NAME --role planner"),
    "role": ("Vai trò", "Role"),
    "role_planner": ("người lập phương án", "planner"),
    "role_reviewer": ("người thẩm định", "reviewer"),
    "role_viewer": ("người xem", "viewer"),
    "page": ("Trang", "Page"),
    "page_map": ("Bản đồ và khu vực", "Map and areas"),
    "page_edit": ("Chỉnh sửa", "Edit"),
    "page_replan": ("Lập lại phương án", "Re-plan"),
    "page_tradeoff": ("Số khu vực và quãng đường", "Areas and travel"),
    "page_compare": ("So sánh phiên bản", "Compare versions"),
    "page_approve": ("Ý kiến và phê duyệt", "Comments and approval"),
    "page_downloads": ("Tải xuống", "Downloads"),
    "version": ("Phiên bản", "Version"),
    "working": ("Bản đang sửa (chưa lưu)", "Working copy (unsaved)"),
    "state": ("Trạng thái", "State"),
    "state_draft": ("bản nháp", "draft"), "state_proposed": ("đề xuất", "proposed"),
    "state_approved": ("đã phê duyệt", "approved"), "state_exported": ("đã xuất", "exported"),
    "roads": ("Hiện đường giao thông", "Show roads"),
    "areas_table": ("Các khu vực bỏ phiếu", "Polling areas"),
    "col_area": ("Khu vực", "Area"), "col_voters": ("Cử tri", "Voters"), "col_site": ("Điểm bỏ phiếu", "Polling site"),
    "col_capacity": ("Sức chứa dùng", "Capacity used"), "col_mean": ("TB (km)", "Mean (km)"),
    "col_p95": ("P95 (km)", "P95 (km)"), "col_max": ("Tối đa (km)", "Max (km)"), "col_status": ("Quy định", "Rules"),
    "col_units": ("Thôn, tổ", "Units"),
    "ok": ("đạt", "ok"), "violations": ("Vi phạm quy định", "Rule violations"),
    "no_violations": ("Phương án đáp ứng mọi quy định đã kiểm tra.", "The plan meets every rule checked."),
    "warnings": ("Cảnh báo", "Warnings"),
    "unit": ("Thôn, tổ dân phố", "Unit"), "move_to": ("Chuyển sang khu vực", "Move to area"),
    "move": ("Chuyển", "Move"), "no_neighbour": ("Đơn vị này không giáp khu vực nào khác.",
                                                 "This unit touches no other area."),
    "pin": ("Ghim đơn vị vào khu vực hiện tại khi lập lại", "Pin the unit to its current area when re-planning"),
    "force_open": ("Buộc mở điểm bỏ phiếu", "Force sites open"),
    "force_closed": ("Buộc đóng điểm bỏ phiếu", "Force sites closed"),
    "save": ("Lưu thành phiên bản mới", "Save as a new version"),
    "saved": ("Đã lưu phiên bản số {n}", "Saved as version {n}"),
    "discard": ("Bỏ các thay đổi", "Discard changes"),
    "min_voters": ("Số cử tri tối thiểu", "Minimum voters"), "max_voters": ("Số cử tri tối đa", "Maximum voters"),
    "areas_fixed": ("Số khu vực (0 = tự quyết định)", "Number of areas (0 = decided)"),
    "max_travel": ("Quãng đường tối đa (km, 0 = không giới hạn)", "Travel bound (km, 0 = none)"),
    "keep_weight": ("Giữ như phương án hiện có (cử tri-km mỗi đơn vị bị chuyển)",
                    "Keep what exists (voter-km per moved unit)"),
    "time_limit": ("Thời gian tối đa (giây)", "Time limit (s)"),
    "solve": ("Lập lại phương án", "Re-plan"), "solving": ("Đang lập phương án…", "Planning…"),
    "infeasible": ("Không có phương án hợp lệ", "No valid plan exists"),
    "replanned": ("{areas} khu vực thường; đi lại trung bình {mean} km; kết quả {status}{gap}",
                  "{areas} regular areas; mean travel {mean} km; {status}{gap}"),
    "replanned_gap": ("; khoảng cách tối ưu ≤ {gap}%", "; optimality gap ≤ {gap}%"),
    "status_optimal": ("tối ưu (đã chứng minh)", "optimal (proven)"),
    "status_feasible": ("hợp lệ, chưa chứng minh tối ưu", "valid, not proven optimal"),
    "status_timeout": ("hết thời gian", "time limit reached"),
    "curve": ("Đường cân bằng", "Trade-off curve"), "compute": ("Tính", "Compute"),
    "mean_km": ("Đi lại trung bình (km)", "Mean travel (km)"), "max_km": ("Đi lại tối đa (km)", "Max travel (km)"),
    "areas_count": ("Số khu vực", "Areas"),
    "before": ("Phiên bản trước", "Before"), "after": ("Phiên bản sau", "After"),
    "moved": ("Đơn vị đổi điểm bỏ phiếu", "Units that change polling site"),
    "no_moves": ("Hai phiên bản giống nhau.", "The two versions are the same."),
    "comment": ("Ý kiến", "Comment"), "add_comment": ("Gửi ý kiến", "Add comment"),
    "propose": ("Đề xuất phê duyệt", "Propose for approval"),
    "approve": ("Phê duyệt phiên bản này", "Approve this version"),
    "approved_by": ("Đã phê duyệt bởi {who} lúc {at}: {comment}", "Approved by {who} at {at}: {comment}"),
    "not_allowed": ("Vai trò của bạn không được làm việc này.", "Your role may not do this."),
    "exports": ("Tệp xuất của phương án", "Plan exports"), "make_exports": ("Tạo tệp xuất", "Make the exports"),
    "voter_lists": ("Danh sách cử tri", "Voter lists"), "make_lists": ("Tạo danh sách cử tri", "Make the voter lists"),
    "no_registry": ("Kịch bản không có danh sách cư dân.", "The scenario has no registry."),
    "no_plan": ("Chưa có phương án; người lập phương án hãy lập lại phương án.",
                "No plan yet; a planner should re-plan."),
    "travel": ("Đi lại", "Travel"), "site": ("Điểm bỏ phiếu", "Polling site"), "facility": ("Cơ sở", "Facility"),
    "conflict": ("Xung đột phiên bản", "Version conflict"),
    "rendered": ("Bản đồ", "Map"),
    "choose": ("Chọn…", "Choose…"),
}


def t(key: str, lang: str, **params: object) -> str:
    vi, en = LABELS[key]
    text = vi if lang == "vi" else en
    return text.format(**params) if params else text


def plan_summary(report: dict, lang: str) -> str:
    """One line on a new plan's ``report.json`` in the reader's language: areas, mean travel,
    the solver's status and the optimality gap."""
    status = report["solver"]["status"]
    label = t(f"status_{status}", lang) if f"status_{status}" in LABELS else status
    gap = report["objective"]["gap"]
    return t("replanned", lang, areas=report["totals"]["regular_areas"],
             mean=decimal(report["totals"]["mean_km"], lang), status=label,
             gap=t("replanned_gap", lang, gap=decimal(100 * gap, lang)) if gap is not None else "")

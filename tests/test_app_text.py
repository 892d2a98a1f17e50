"""The review app's own sentences, checked without a browser."""

from __future__ import annotations

from dashboards.i18n import plan_summary


def test_replan_summary_reads_in_vietnamese_with_english_available() -> None:
    # after "Lập lại phương án" the app says what came out: no English status words, no raw fractions
    report = {"totals": {"regular_areas": 40, "mean_km": 0.5112}, "solver": {"status": "feasible"},
              "objective": {"gap": 0.114267}}
    assert plan_summary(report, "vi") == ("40 khu vực thường; đi lại trung bình 0,51 km; kết quả hợp lệ, chưa chứng "
                                          "minh tối ưu; khoảng cách tối ưu ≤ 11,43%")
    assert plan_summary(report, "en") == ("40 regular areas; mean travel 0.51 km; valid, not proven optimal; "
                                          "optimality gap ≤ 11.43%")
    proven = {**report, "solver": {"status": "optimal"}, "objective": {"gap": None}}
    assert plan_summary(proven, "vi").endswith("kết quả tối ưu (đã chứng minh)")


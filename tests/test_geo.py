"""Adjacency (rook contiguity with a snapping tolerance) and projection."""

from __future__ import annotations

from shapely.geometry import box

from geo.adjacency import rook_pairs
from geo.projection import utm_crs


def test_rook_not_queen() -> None:
    a, right, diagonal = box(0, 0, 100, 100), box(100, 0, 200, 100), box(100, 100, 200, 200)
    assert rook_pairs([a, right, diagonal]) == [(0, 1), (1, 2)]


def test_slivers_and_gaps_within_tolerance_still_touch() -> None:
    a = box(0, 0, 100, 100)
    assert rook_pairs([a, box(100.5, 0, 200, 100)]) == [(0, 1)]  # a 0.5 m digitising gap
    assert rook_pairs([a, box(99.6, 0, 200, 100)]) == [(0, 1)]  # a 0.4 m overlap
    assert rook_pairs([a, box(105, 0, 200, 100)]) == []  # 5 m apart: not neighbours


def test_utm_zone_for_vietnam() -> None:
    assert utm_crs(105.85, 21.03).to_epsg() == 32648  # Hà Nội
    assert utm_crs(107.58, 16.46).to_epsg() == 32648  # Huế
    assert utm_crs(108.22, 16.05).to_epsg() == 32649  # Đà Nẵng

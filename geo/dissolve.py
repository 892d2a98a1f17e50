"""Area outlines from unit geometries."""

from __future__ import annotations

from typing import Mapping, Sequence

from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from geo.adjacency import SNAP_TOLERANCE_M


def dissolve(geometries: Mapping[str, BaseGeometry], groups: Mapping[str, Sequence[str]]) -> dict[str, BaseGeometry]:
    """The union of each group's unit geometries, closing digitising gaps up to the snap tolerance."""
    out: dict[str, BaseGeometry] = {}
    for key, members in groups.items():
        parts = [geometries[m].buffer(SNAP_TOLERANCE_M / 2) for m in members]
        out[key] = unary_union(parts).buffer(-SNAP_TOLERANCE_M / 2) if parts else None
    return out

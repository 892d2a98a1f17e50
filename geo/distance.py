"""Travel distances between units and candidate polling sites."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from shapely.geometry.base import BaseGeometry

STRAIGHT_LINE = "straight_line"


def population_points(units: Sequence[BaseGeometry]) -> list[BaseGeometry]:
    """Where a unit's voters are taken to live: a point inside each unit."""
    return [g if g.geom_type == "Point" else g.representative_point() for g in units]


def straight_line_km(origins: Sequence[BaseGeometry], targets: Sequence[BaseGeometry]) -> np.ndarray:
    """Euclidean distances in km between points in a metric CRS, shape (len(origins), len(targets))."""
    a = np.array([(p.x, p.y) for p in origins], dtype=float).reshape(-1, 2)
    b = np.array([(p.x, p.y) for p in targets], dtype=float).reshape(-1, 2)
    diff = a[:, None, :] - b[None, :, :]
    return np.sqrt((diff ** 2).sum(axis=2)) / 1000.0

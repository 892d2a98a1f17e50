"""The validated scenario: what a commune plans with, in a metric CRS."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from planner.findings import Finding
from planner.rules import ELECTORAL_LEVELS, LawParameters


@dataclass(frozen=True)
class Objective:
    """What the planner asks for beyond the law: a fixed area count and a travel bound."""

    areas: int | None = None
    max_travel_km: float | None = None
    area_cost: float | None = None


@dataclass(frozen=True)
class TravelConfig:
    """``[travel]``: how travel is measured and what counts as neighbouring units (unset: defaults)."""

    metric: str | None = None
    contiguity: str = "touching"
    walk_kmh: float = 4.5
    detour_factor: float = 1.3
    cutoff_km: float | None = None
    snap_tolerance_m: float = 5.0


@dataclass(frozen=True)
class ScenarioConfig:
    """The contents of ``scenario.toml`` after validation."""

    name: str
    commune_code: str
    params: LawParameters
    objective: Objective = field(default_factory=Objective)
    travel: TravelConfig = field(default_factory=TravelConfig)


@dataclass(frozen=True)
class Scenario:
    """A validated commune.

    ``units`` is indexed by ``unit_id`` with columns name, voters (declared or counted from the
    registry), eu_na, eu_province, eu_commune ('' where absent), sparse, geometry (metric CRS).
    ``sites`` is indexed by ``site_id`` with name, capacity, kind, accessible, unit_id (the unit
    it stands in), geometry. ``facilities`` is indexed by ``facility_id`` with name, kind,
    voters, separate (resolved by R4), unit_id, geometry. ``links`` has unit_a, unit_b, kind.
    """

    path: Path
    config: ScenarioConfig
    crs: CRS
    units: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    links: pd.DataFrame
    roads: gpd.GeoDataFrame | None = None
    registry: pd.DataFrame | None = None
    findings: tuple[Finding, ...] = ()

    @property
    def params(self) -> LawParameters:
        return self.config.params

    def electoral_key(self, unit_id: str) -> tuple[str, ...]:
        """The unit's electoral-unit codes at every level (R11)."""
        row = self.units.loc[unit_id]
        return tuple(str(row[level]) for level in ELECTORAL_LEVELS)

    def attached_facility_voters(self) -> pd.Series:
        """Voters of facilities without a separate area, per unit they stand in (R4)."""
        attached = self.facilities[~self.facilities["separate"].astype(bool)]
        totals = attached.groupby("unit_id")["voters"].sum()
        return totals.reindex(self.units.index, fill_value=0).astype(int)

    def unit_load(self) -> pd.Series:
        """Voters each unit brings to its area: its own plus attached facilities'."""
        return (self.units["voters"].astype(int) + self.attached_facility_voters()).astype(int)

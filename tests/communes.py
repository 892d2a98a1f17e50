"""Tiny communes drawn as grids, written as real scenario folders for tests.

Each character of ``rows`` is one square unit (500 m); the character is its commune electoral
unit ('.' leaves a hole). Units are named ``U<row><col>`` (two digits each), e.g. ``U0102``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyproj import Transformer
from shapely.geometry import Point, box, mapping
import shapely

CELL_M = 500.0
ORIGIN = (580000.0, 2322000.0)  # UTM 48N, near Hà Nội
_TO_LONLAT = Transformer.from_crs(32648, 4326, always_xy=True)


def unit_id(r: int, c: int) -> str:
    return f"U{r:02d}{c:02d}"


def cell_box(r: int, c: int):
    x0 = ORIGIN[0] + c * CELL_M
    y0 = ORIGIN[1] - (r + 1) * CELL_M
    return box(x0, y0, x0 + CELL_M, y0 + CELL_M)


def cell_point(r: int, c: int, dx: float = 0.5, dy: float = 0.5) -> Point:
    x0 = ORIGIN[0] + c * CELL_M
    y0 = ORIGIN[1] - (r + 1) * CELL_M
    return Point(x0 + dx * CELL_M, y0 + dy * CELL_M)


def lonlat(geom):
    return shapely.transform(geom, lambda x, y: _TO_LONLAT.transform(x, y), interleaved=False)


@dataclass
class GridCommune:
    rows: list[str]
    voters: int | dict[tuple[int, int], int] = 500
    sites: list[tuple[int, int, int]] = field(default_factory=list)  # (row, col, capacity)
    sparse: set[tuple[int, int]] = field(default_factory=set)
    links: list[tuple[str, str, str]] = field(default_factory=list)
    facilities: list[dict[str, Any]] = field(default_factory=list)
    rules: dict[str, Any] = field(default_factory=dict)
    objective: dict[str, Any] = field(default_factory=dict)
    election_date: str = "2026-03-15"

    def cells(self) -> list[tuple[int, int, str]]:
        return [(r, c, ch) for r, row in enumerate(self.rows) for c, ch in enumerate(row) if ch != "."]

    def voters_of(self, r: int, c: int) -> int:
        return self.voters if isinstance(self.voters, int) else self.voters.get((r, c), 500)

    def unit_features(self) -> list[dict[str, Any]]:
        return [{"type": "Feature", "geometry": mapping(lonlat(cell_box(r, c))),
                 "properties": {"unit_id": unit_id(r, c), "name": f"Thôn {r}-{c}",
                                "voters": self.voters_of(r, c), "eu_na": "QH-01", "eu_province": "T-01",
                                "eu_commune": f"X-{ch}", "sparse": (r, c) in self.sparse}}
                for r, c, ch in self.cells()]

    def site_features(self) -> list[dict[str, Any]]:
        return [{"type": "Feature", "geometry": mapping(lonlat(cell_point(r, c, 0.5 + 0.1 * k, 0.5))),
                 "properties": {"site_id": f"S{i + 1:02d}", "name": f"Nhà văn hóa {r}-{c}", "capacity": cap,
                                "kind": "cultural_house"}}
                for i, (r, c, cap) in enumerate(self.sites)
                for k in [sum(1 for s in self.sites[:i] if s[:2] == (r, c))]]

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        toml = [f'[scenario]\nname = "Xã Thử Nghiệm"\ncommune_code = "99999"\nelection_date = "{self.election_date}"\n']
        if self.rules:
            toml.append("[rules]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in self.rules.items()))
        if self.objective:
            toml.append("[objective]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in self.objective.items()))
        (folder / "scenario.toml").write_text("\n".join(toml), encoding="utf-8")
        write_geojson(folder / "units.geojson", self.unit_features())
        write_geojson(folder / "sites.geojson", self.site_features())
        if self.facilities:
            feats = []
            for f in self.facilities:
                props = {k: v for k, v in f.items() if k not in ("row", "col")}
                feats.append({"type": "Feature", "geometry": mapping(lonlat(cell_point(f["row"], f["col"], 0.3, 0.3))),
                              "properties": props})
            write_geojson(folder / "facilities.geojson", feats)
        if self.links:
            with open(folder / "links.csv", "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["unit_a", "unit_b", "kind"])
                writer.writerows(self.links)
        return folder


def write_geojson(path: Path, features: list[dict[str, Any]], **extra: Any) -> None:
    doc = {"type": "FeatureCollection", **extra, "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def read_geojson(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))

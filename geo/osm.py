"""Reading an OpenStreetMap extract (``.osm`` XML or ``.osm.pbf``) offline with pyosmium.

Two things are taken from it: the road network (ways tagged ``highway``, with ``maxspeed`` as
speed and ``bridge``), and candidate polling sites (schools, kindergartens, colleges, community
centres, town halls and government offices, as points or building outlines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shapely.geometry import LineString, Point, Polygon

#: Highway values that are not roads people travel on to vote.
EXCLUDED_HIGHWAYS = frozenset({"proposed", "construction", "abandoned", "platform", "raceway", "bus_stop",
                               "elevator", "corridor"})

#: OSM tags of candidate polling sites: (key, value) -> (site kind, default capacity).
SITE_TAGS: dict[tuple[str, str], tuple[str, int]] = {
    ("amenity", "school"): ("school", 3000),
    ("amenity", "kindergarten"): ("school", 1500),
    ("amenity", "college"): ("school", 3000),
    ("amenity", "university"): ("school", 4000),
    ("amenity", "community_centre"): ("cultural_house", 1500),
    ("amenity", "townhall"): ("commune_hall", 4000),
    ("office", "government"): ("commune_hall", 2500),
    ("building", "school"): ("school", 3000),
}


@dataclass(frozen=True)
class OsmRoad:
    geometry: LineString
    highway: str
    speed_kmh: float | None
    bridge: bool
    osm_id: int


@dataclass(frozen=True)
class OsmSite:
    geometry: Point
    name: str
    kind: str
    capacity: int
    osm_id: str


def is_osm_extract(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".osm") or name.endswith(".osm.pbf") or name.endswith(".pbf")


def _speed(text: str | None) -> float | None:
    if not text:
        return None
    match = re.match(r"\s*(\d+(?:\.\d+)?)\s*(mph)?", text)
    if not match:
        return None
    value = float(match.group(1))
    return value * 1.609 if match.group(2) else value


def read_osm(path: Path) -> tuple[list[OsmRoad], list[OsmSite]]:
    """Roads and candidate sites of an extract, in WGS 84 longitude/latitude."""
    import osmium

    roads: list[OsmRoad] = []
    sites: list[OsmSite] = []
    processor = osmium.FileProcessor(str(path)).with_locations()
    for obj in processor:
        tags = {t.k: t.v for t in obj.tags}
        if obj.is_node():
            site = _site(tags)
            if site is not None:
                sites.append(OsmSite(Point(obj.location.lon, obj.location.lat), *site, osm_id=f"node/{obj.id}"))
            continue
        if not obj.is_way():
            continue
        coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
        if len(coords) < 2:
            continue
        highway = tags.get("highway")
        if highway and highway not in EXCLUDED_HIGHWAYS and tags.get("area") != "yes":
            roads.append(OsmRoad(LineString(coords), highway, _speed(tags.get("maxspeed")),
                                 tags.get("bridge", "no") not in ("no", ""), int(obj.id)))
        site = _site(tags)
        if site is not None and len(coords) >= 4 and coords[0] == coords[-1]:
            sites.append(OsmSite(Polygon(coords).representative_point(), *site, osm_id=f"way/{obj.id}"))
    return roads, sites


_LABELS = {"school": "Trường học", "cultural_house": "Nhà văn hóa", "commune_hall": "Trụ sở cơ quan"}


def _site(tags: dict[str, str]) -> tuple[str, str, int] | None:
    for key in ("amenity", "office", "building"):
        match = SITE_TAGS.get((key, tags.get(key, "")))
        if match is not None:
            kind, capacity = match
            name = tags.get("name:vi") or tags.get("name") or tags.get("name:en") or _LABELS[kind]
            return name, kind, capacity
    return None

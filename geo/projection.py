"""Choosing and applying the metric CRS a commune is computed in."""

from __future__ import annotations

from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry
import shapely

WGS84 = CRS.from_epsg(4326)


def utm_crs(lon: float, lat: float) -> CRS:
    """The WGS 84 UTM zone containing a point (metres; zone 48N or 49N for Vietnam)."""
    zone = int((lon + 180.0) // 6.0) + 1
    zone = min(max(zone, 1), 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def parse_crs(text: str | None) -> CRS:
    """The CRS a layer declares, WGS 84 when it declares none (the GeoJSON default)."""
    if not text:
        return WGS84
    return CRS.from_user_input(text)


def reproject(geometry: BaseGeometry, source: CRS, target: CRS) -> BaseGeometry:
    if source == target:
        return geometry
    transformer = Transformer.from_crs(source, target, always_xy=True)
    return shapely.transform(geometry, lambda x, y: transformer.transform(x, y), interleaved=False)


def to_lonlat(x: float, y: float, source: CRS) -> tuple[float, float]:
    if source.is_geographic and source.to_epsg() == 4326:
        return x, y
    transformer = Transformer.from_crs(source, WGS84, always_xy=True)
    return transformer.transform(x, y)

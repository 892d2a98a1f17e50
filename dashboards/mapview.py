"""The map of a plan, as a pure function returning a ``folium.Map`` that needs no internet.

Leaflet is served by the app itself (``dashboards/static/leaflet``); the base map is off unless a
tile URL is configured (a local tile server), and the map reads well without it: units are drawn
in their area's colour with boundaries, area labels carry the voter count, sites and facilities
are circle markers, rule violations are outlined in red.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import folium
import numpy as np

from dashboards.i18n import t
from geo.projection import WGS84
from planner.scenario import Scenario

LEAFLET_JS = "/app/static/leaflet/leaflet.js"
LEAFLET_CSS = "/app/static/leaflet/leaflet.css"
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7", "#9c755f", "#bab0ac",
           "#86bcb6", "#d37295", "#8cd17d", "#a0cbe8", "#ffbe7d", "#f1ce63", "#499894")


class OfflineMap(folium.Map):
    """A folium map whose only scripts and styles are Leaflet's, from the app's own server."""

    default_js = [("leaflet", LEAFLET_JS)]
    default_css = [("leaflet_css", LEAFLET_CSS)]


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def build_map(scenario: Scenario, plan: dict[str, Any], *, lang: str = "vi", unit_km: dict[str, float] | None = None,
              violating_areas: Iterable[str] = (), tiles: str | None = None, show_roads: bool = False,
              moved_units: Iterable[str] = ()) -> folium.Map:
    """The plan on a map: one polygon per unit, coloured by area; labels, sites, facilities, roads."""
    units = scenario.units.to_crs(WGS84)
    bounds = units.total_bounds
    span = max(bounds[2] - bounds[0], (bounds[3] - bounds[1]) * 1.6, 1e-4)
    zoom = int(max(8, min(18, np.floor(np.log2(800 / 256 * 360 / span)))))  # the whole commune in ~800 px
    fmap = OfflineMap(location=[(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2], tiles=None,
                      zoom_start=zoom, control_scale=True, prefer_canvas=False)
    if tiles:
        folium.TileLayer(tiles=tiles, attr="local tiles", name="basemap").add_to(fmap)
    fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    regular = [a for a in plan["areas"] if a.get("kind") == "regular"]
    colour = {a["area_id"]: _colour(k) for k, a in enumerate(regular)}
    bad = set(violating_areas)
    moved = set(moved_units)
    features = []
    for unit_id, row in units.iterrows():
        area = plan["assignment"].get(unit_id, "")
        km = (unit_km or {}).get(unit_id)
        geometry = row.geometry.simplify(0.00002, preserve_topology=True)
        features.append({"type": "Feature", "geometry": json.loads(_round(geometry)),
                         "properties": {"unit": f"{row['name']} ({unit_id})", "area": area,
                                        "voters": int(scenario.unit_load().get(unit_id, 0)),
                                        "travel": "" if km is None or np.isnan(km) else f"{km:.2f} km",
                                        "fill": colour.get(area, "#cccccc"), "bad": area in bad,
                                        "moved": unit_id in moved}})
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name=t("unit", lang),
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "fillOpacity": 0.55,
                                  "color": "#d62728" if f["properties"]["bad"] else
                                  ("#111111" if f["properties"]["moved"] else "#333333"),
                                  "weight": 4 if f["properties"]["bad"] or f["properties"]["moved"] else 1,
                                  "className": "unit-polygon"},
        tooltip=folium.GeoJsonTooltip(fields=["unit", "area", "voters", "travel"],
                                      aliases=[t("unit", lang), t("col_area", lang), t("col_voters", lang),
                                               t("travel", lang)]),
    ).add_to(fmap)
    load = scenario.unit_load()
    for area in regular:
        members = [u for u, a in plan["assignment"].items() if a == area["area_id"]]
        if not members:
            continue
        point = units.loc[members].union_all().representative_point()
        voters = int(load.loc[members].sum())
        label = f"{area['area_id']}<br>{voters:,}".replace(",", "." if lang == "vi" else ",")
        folium.Marker([point.y, point.x], icon=folium.DivIcon(
            html=f'<div class="area-label" style="font:bold 11px sans-serif;color:#111;'
                 f'text-shadow:0 0 3px #fff;white-space:nowrap">{label}</div>', icon_size=(60, 24),
            icon_anchor=(30, 12))).add_to(fmap)
    open_sites = {a.get("site_id") for a in regular}
    sites = scenario.sites.to_crs(WGS84)
    for site_id, row in sites.iterrows():
        used = site_id in open_sites
        folium.CircleMarker([row.geometry.y, row.geometry.x], radius=7 if used else 4, weight=2,
                            color="#000000" if used else "#555555", fill=True,
                            fill_color="#ffffff" if used else "#bbbbbb", fill_opacity=1,
                            tooltip=f"{t('site', lang)}: {row['name']} ({site_id}), {int(row['capacity'])}",
                            class_name="site-marker").add_to(fmap)
    facilities = scenario.facilities.to_crs(WGS84)
    for facility_id, row in facilities.iterrows():
        folium.CircleMarker([row.geometry.y, row.geometry.x], radius=6, weight=3, color="#7b1fa2", fill=True,
                            fill_color="#e1bee7", fill_opacity=1,
                            tooltip=f"{t('facility', lang)}: {row['name']} ({facility_id})").add_to(fmap)
    if scenario.roads is not None and len(scenario.roads):
        roads = folium.FeatureGroup(name=t("roads", lang), show=show_roads)
        folium.GeoJson(json.loads(scenario.roads.to_crs(WGS84)[["highway", "geometry"]].to_json()),
                       style_function=lambda f: {"color": "#6d4c41", "weight": 2, "opacity": 0.8,
                                                 "className": "road-line"}).add_to(roads)
        roads.add_to(fmap)
        folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap


def _round(geometry: Any) -> str:
    import shapely

    return shapely.to_geojson(shapely.set_precision(geometry, 1e-6))

"""Deterministic generator of realistic synthetic Vietnamese communes.

The generator writes a complete scenario folder in the layout of
``SCENARIO-FORMAT.md``: ``scenario.toml``, ``units.geojson``, ``sites.geojson``,
``facilities.geojson``, ``links.csv``, ``roads.geojson`` and (optionally)
``voters.csv``.  The same ``kind``, ``seed`` and ``n_units`` always give
byte-identical files: one ``numpy.random.default_rng(seed)`` drives everything,
every list is sorted, longitudes/latitudes are rounded to 6 decimals and no
timestamp is written.

Three kinds of commune exist:

``rural``
    a xã near Huế, about 6 x 5 km, 46 thôn/xóm, a river with two bridges and a
    river islet hamlet reached by ferry, 5 commune electoral units.
``urban``
    a phường near Hà Nội, about 2.5 x 2 km, 60 tổ dân phố, a river with two
    bridges and an island (bãi giữa) reached by ferry, 6 electoral units.
``mountain``
    a highland xã near Hà Giang, about 15 x 12 km, 36 bản/thôn (all sparse), a
    stream with two bridges, a border-guard post and a care home, 4 electoral
    units.

Geometry is built in metres in the UTM zone of the commune (EPSG:32648 for
102-108°E, EPSG:32649 for 108-114°E) and converted to WGS 84 at the end.

Usage::

    python -m pollplan_data.generator OUT --kind rural --seed 0 [--units N]
        [--no-registry] [--overwrite]
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta

import networkx as nx
import numpy as np
import shapely
from pyproj import Transformer
from shapely import STRtree
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from shapely.geometry.polygon import orient
from shapely.ops import substring

__all__ = [
    "DEMO_COMMAND",
    "DEMO_KIND",
    "DEMO_SEED",
    "DEMO_UNITS",
    "KINDS",
    "ELECTION_DATE",
    "LAST_ELIGIBLE_BIRTH",
    "SCENARIO_FILES",
    "generate_commune",
    "main",
]

#: How the committed demo commune ``data/demo`` was made.
DEMO_KIND = "rural"
DEMO_SEED = 2026
DEMO_UNITS: int | None = None  # the kind's default (46 mainland thôn + 1 islet)
DEMO_COMMAND = "python -m pollplan_data.generator data/demo --kind rural --seed 2026 --overwrite"

ELECTION_DATE = date(2026, 3, 15)
#: Born on or before this day => 18 on election day (R15).
LAST_ELIGIBLE_BIRTH = date(2008, 3, 15)
#: Temporary residents registered before this day have >= 12 months (R22).
TEMP_12_MONTHS = date(2025, 3, 15)

#: Files the generator writes (and removes first when overwriting).
SCENARIO_FILES = (
    "scenario.toml",
    "units.geojson",
    "sites.geojson",
    "facilities.geojson",
    "links.csv",
    "roads.geojson",
    "voters.csv",
)

EXCLUDED_STATUSES = ("deprived", "death_sentence", "imprisoned", "incapacitated")


# --------------------------------------------------------------------------
# Parameters per kind
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class KindParams:
    kind: str
    lon: float
    lat: float
    width: float  # m, west-east extent of the outline
    height: float  # m, south-north extent
    n_units: int  # default number of mainland units
    id_prefix: str
    voters_lo: int
    voters_hi: int
    voters_mean: float  # target mean voters per mainland unit
    beta_a: float
    beta_b: float
    sparse_all: bool
    river_width: float
    river_amp: float  # fraction of height
    river_offset: float  # fraction of height (max |offset| of the river)
    seed_river_margin: float
    seed_edge_margin: float
    island: tuple[float, float, float, float] | None  # (Lw, Rw, Li, Ri)
    island_voters: tuple[int, int]
    bridge_min_sep: float
    bridge_end: float  # m from the water's edge to a bridge end
    n_eu: int
    n_schools: int
    province: str  # 2-digit code for electoral-unit codes
    cccd_province: str  # 3-digit citizen-id birthplace code
    commune_prefix: str  # "Xã" / "Phường"
    commune_names: tuple[str, ...]
    extra_road_p: float
    facility_kinds: tuple[str, ...]
    min_site_inside: float = 30.0


KINDS: dict[str, KindParams] = {
    "rural": KindParams(
        kind="rural", lon=107.55, lat=16.50, width=6000, height=5000, n_units=46,
        id_prefix="T", voters_lo=120, voters_hi=700, voters_mean=305, beta_a=1.4, beta_b=3.4,
        sparse_all=False, river_width=70, river_amp=0.10, river_offset=0.12,
        seed_river_margin=120, seed_edge_margin=70, island=(700, 230, 460, 100),
        island_voters=(60, 200), bridge_min_sep=1500, bridge_end=20, n_eu=5, n_schools=4,
        province="46", cccd_province="046", commune_prefix="Xã",
        commune_names=("Phong Hòa", "Phú Vinh", "Quảng Lợi", "Hương Thọ", "Vinh Xuân",
                       "Điền Lộc", "Phong Thu", "Hương Phong", "Quảng Thành", "Phú Mậu"),
        extra_road_p=0.35,
        facility_kinds=("hospital", "armed_forces", "detention", "elderly_care"),
    ),
    "urban": KindParams(
        kind="urban", lon=105.84, lat=21.03, width=2500, height=2000, n_units=60,
        id_prefix="TDP", voters_lo=250, voters_hi=1400, voters_mean=700, beta_a=1.8, beta_b=2.6,
        sparse_all=False, river_width=80, river_amp=0.08, river_offset=0.18,
        seed_river_margin=70, seed_edge_margin=40, island=(420, 175, 260, 75),
        island_voters=(60, 200), bridge_min_sep=1000, bridge_end=15, n_eu=6, n_schools=5,
        province="01", cccd_province="001", commune_prefix="Phường",
        commune_names=("Hồng Hà", "Phúc Tân", "Bạch Đằng", "Thanh Lương", "Ngọc Thụy",
                       "Phúc Xá", "Chương Dương", "Long Biên Hạ"),
        extra_road_p=0.6,
        facility_kinds=("hospital", "armed_forces", "detention", "elderly_care"),
    ),
    "mountain": KindParams(
        kind="mountain", lon=105.40, lat=23.10, width=15000, height=12000, n_units=36,
        id_prefix="B", voters_lo=40, voters_hi=350, voters_mean=150, beta_a=1.5, beta_b=2.2,
        sparse_all=True, river_width=40, river_amp=0.12, river_offset=0.12,
        seed_river_margin=250, seed_edge_margin=150, island=None,
        island_voters=(0, 0), bridge_min_sep=3000, bridge_end=20, n_eu=4, n_schools=3,
        province="08", cccd_province="002", commune_prefix="Xã",
        commune_names=("Sủng Là", "Lũng Phìn", "Xín Cái", "Sà Phìn", "Thài Phìn Tủng",
                       "Má Lé", "Lũng Táo"),
        extra_road_p=0.12,
        facility_kinds=("armed_forces", "elderly_care"),
        min_site_inside=40.0,
    ),
}

FACILITY_VOTERS = {
    "hospital": (80, 150),
    "armed_forces": (100, 250),
    "detention": (40, 90),
    "elderly_care": (20, 45),
}

# --------------------------------------------------------------------------
# Name parts
# --------------------------------------------------------------------------

RURAL_FIRST = (
    "An", "Bình", "Bàu", "Cổ", "Đông", "Tây", "Nam", "Bắc", "Phước", "Phú", "Lại", "Vĩnh",
    "Mỹ", "Thanh", "Hòa", "Xuân", "Trung", "Thượng", "Hạ", "Tân", "Kim", "Lương", "Đại",
    "Phong", "La", "Quảng", "Hương", "Thủy", "Diên", "Triều", "Vân", "Liễu", "Nguyệt",
    "Dương", "Khánh", "Bồn", "Hà", "Thuận", "Long", "Minh",
)
RURAL_SECOND = (
    "Hòa", "Yên", "Thế", "Sen", "Lộc", "Xuân", "Thọ", "Phú", "Lợi", "An", "Điền", "Trung",
    "Mỹ", "Hưng", "Thạnh", "Linh", "Đông", "Lâm", "Khê", "Trì", "Phước", "Ninh", "Vinh",
    "Hải", "Sơn", "Thủy", "Cư", "Hội", "Lập", "Bình", "Thành", "Tứ", "Giang", "Đức", "Lai",
)
RURAL_XOM = (
    "Cồn", "Bàu", "Giữa", "Đình", "Chợ", "Bến", "Trại", "Đồng", "Rú", "Cát", "Vườn",
    "Đò", "Bãi", "Miếu", "Giếng",
)
RURAL_ISLAND = ("Cồn Hến", "Cồn Tè", "Cồn Nổi", "Cồn Mây", "Cồn Dã Viên", "Cồn Bãi Giữa")
URBAN_ISLAND = ("Bãi Giữa", "Bãi Nổi", "Bãi Cát", "Bãi Sen")
MOUNTAIN_FIRST = (
    "Nà", "Lũng", "Khuổi", "Pác", "Phìn", "Sà", "Séo", "Lao", "Sủng", "Mã", "Tả", "Xín",
    "Lùng", "Thèn", "Chải", "Há", "Sảng", "Pài", "Mỏ", "Cốc", "Nặm", "Bó", "Khâu", "Pù",
)
MOUNTAIN_SECOND = (
    "Lạn", "Cú", "Chải", "Phìn", "Cáy", "Sán", "Tủng", "Chá", "Pả", "Chư", "Súng", "Hồ",
    "Lìn", "Thầu", "Mìn", "Páo", "Ván", "Nhìu", "Làng", "Phàng", "Sài", "Vài", "Tà",
    "Cuổng", "Pin",
)

SURNAMES_KINH = (
    ("Nguyễn", 38.0), ("Trần", 11.0), ("Lê", 9.5), ("Phạm", 7.0), ("Hoàng", 4.0),
    ("Huỳnh", 1.5), ("Phan", 4.5), ("Vũ", 2.5), ("Võ", 2.0), ("Đặng", 2.0), ("Bùi", 2.0),
    ("Đỗ", 1.4), ("Hồ", 1.5), ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5), ("Trương", 1.0),
    ("Đinh", 0.8), ("Lâm", 0.5), ("Mai", 0.6), ("Cao", 0.5), ("Lương", 0.5), ("Đoàn", 0.6),
    ("Thái", 0.4), ("Hà", 0.5), ("Châu", 0.3), ("Tôn Thất", 0.4), ("Nguyễn Phước", 0.2),
)
SURNAMES_HIGHLAND = (
    ("Giàng", 10.0), ("Sùng", 8.0), ("Vàng", 8.0), ("Thào", 7.0), ("Ly", 6.0), ("Lò", 4.0),
    ("Mua", 4.0), ("Hầu", 3.0), ("Lầu", 3.0), ("Chảo", 3.0), ("Triệu", 3.0), ("Hoàng", 6.0),
    ("Nông", 5.0), ("Ma", 3.0), ("Lục", 2.0), ("Nguyễn", 6.0), ("Sình", 2.0), ("Cháng", 2.0),
)
MIDDLE_M = (
    ("Văn", 30.0), ("Hữu", 5.0), ("Đức", 6.0), ("Minh", 7.0), ("Quang", 5.0), ("Công", 4.0),
    ("Đình", 4.0), ("Xuân", 3.0), ("Thanh", 4.0), ("Ngọc", 3.0), ("Quốc", 4.0), ("Trọng", 3.0),
    ("Anh", 3.0), ("Bảo", 3.0), ("Gia", 3.0), ("Hoàng", 3.0), ("Tuấn", 2.0), ("Duy", 3.0),
)
MIDDLE_F = (
    ("Thị", 40.0), ("Ngọc", 6.0), ("Thu", 5.0), ("Thanh", 5.0), ("Phương", 4.0), ("Minh", 4.0),
    ("Bảo", 3.0), ("Khánh", 3.0), ("Hoài", 3.0), ("Diệu", 2.0), ("Mai", 3.0), ("Kim", 4.0),
    ("Thùy", 4.0), ("Hồng", 3.0), ("Bích", 3.0), ("Tôn Nữ", 1.0),
)
GIVEN_M = (
    "An", "Bình", "Cường", "Dũng", "Hùng", "Hải", "Hiếu", "Hoàng", "Huy", "Khánh", "Long",
    "Minh", "Nam", "Phong", "Phúc", "Quân", "Sơn", "Tâm", "Thắng", "Thành", "Toàn", "Trung",
    "Tuấn", "Việt", "Vinh", "Đạt", "Đức", "Kiên", "Lâm", "Lộc", "Nghĩa", "Nhân", "Quý",
    "Tài", "Thịnh", "Tiến", "Trí", "Tùng", "Bảo", "Khoa", "Duy", "Hưng", "Hậu", "Lực",
    "Mạnh", "Nhật", "Quang", "Tín", "Thuận", "Vũ", "Hòa", "Khải", "Phát", "Sang", "Tú",
)
GIVEN_F = (
    "Anh", "Ngọc", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hồng", "Hương",
    "Huyền", "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Nga", "Nhung", "Oanh", "Phượng",
    "Quỳnh", "Thảo", "Thủy", "Trang", "Tuyết", "Vân", "Yến", "Xuân", "Hiền", "Lệ", "Nhi",
    "Phương", "Thanh", "Thúy", "Trinh", "Uyên", "Vy", "Diệp", "Hạ", "Khánh", "Lài", "Mơ",
    "Na", "Sen", "Thơm", "Tâm", "Hòa", "Ly",
)
SECOND_MIDDLE_F = ("Bích", "Thu", "Kim", "Ngọc", "Minh", "Thanh", "Mỹ", "Diệu", "Hồng")
HIGHLAND_MIDDLE_M = (("A", 5.0), ("Mí", 4.0), ("Seo", 4.0), ("Văn", 5.0), ("Chúng", 2.0), ("Mý", 2.0))
HIGHLAND_GIVEN_M = (
    "Páo", "Chứ", "Lử", "Dính", "Sính", "Tủa", "Chá", "Vư", "Nhà", "Sử", "Pó", "Lềnh",
    "Chính", "Dế", "Chơ", "Súng", "Tỉnh", "Sèo", "Phử", "Giàng", "Khai", "Lù",
)
HIGHLAND_GIVEN_F = (
    "Mai", "Dợ", "Máy", "Súa", "Mỷ", "Pà", "Chu", "Ly", "Sía", "Dí", "Cở", "Sung", "Di",
    "Mò", "Xúa", "Mẩy", "Dung", "Say",
)
# Birthplace codes of the 12-digit citizen id (most people born locally).
OTHER_PROVINCE_CODES = ("001", "004", "031", "038", "040", "042", "044", "045", "048", "079")

SCHOOL_PATRONS = ("Nguyễn Tri Phương", "Phan Bội Châu", "Lê Quý Đôn", "Trần Quốc Toản",
                  "Kim Đồng", "Võ Thị Sáu", "Nguyễn Du", "Chu Văn An")


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _weighted(rng: np.random.Generator, items, size=None):
    names = [n for n, _ in items]
    w = np.array([x for _, x in items], dtype=float)
    idx = rng.choice(len(names), size=size, p=w / w.sum())
    if size is None:
        return names[int(idx)]
    return [names[int(i)] for i in idx]


def _utm_epsg(lon: float, lat: float) -> int:
    zone = int(math.floor((lon + 180.0) / 6.0)) + 1
    return (32600 if lat >= 0 else 32700) + zone


def _shared_length(a, b, tol: float = 0.5) -> float:
    return a.boundary.intersection(b.boundary.buffer(tol)).length


def _random_points_in(rng, geom, n: int, batch: int = 256) -> list[Point]:
    """n uniform random points in geom (rejection sampling on its bbox)."""
    minx, miny, maxx, maxy = geom.bounds
    out: list[Point] = []
    tries = 0
    shapely.prepare(geom)
    while len(out) < n:
        xs = rng.uniform(minx, maxx, batch)
        ys = rng.uniform(miny, maxy, batch)
        ok = shapely.contains_xy(geom, xs, ys)
        for x, y in zip(xs[ok], ys[ok]):
            out.append(Point(float(x), float(y)))
            if len(out) == n:
                break
        tries += 1
        if tries > 2000:
            raise RuntimeError("cannot sample points in geometry")
    return out


class _Retry(Exception):
    """Internal: the random draw did not give a usable layout; draw again."""


# --------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------


@dataclass
class _Unit:
    idx: int
    poly: Polygon
    bank: int  # 0 / 1 (mainland), 2 = island
    centre: Point  # road node ("village centre")
    unit_id: str = ""
    name: str = ""
    voters: int = 0
    sparse: bool = False
    eu: int = -1


@dataclass
class _Bridge:
    a: int  # unit index on bank 0
    b: int  # unit index on bank 1
    end_a: Point
    end_b: Point
    s: float  # position along the river line


@dataclass
class _Geo:
    outline: Polygon
    river_line: LineString
    river_poly: object
    units: list[_Unit]
    bridges: list[_Bridge]
    island: int | None = None
    ferry_to: int | None = None
    island_track: LineString | None = None
    adjacency: dict = field(default_factory=dict)  # (i, j) -> shared length, i < j


def _make_outline(rng, p: KindParams) -> Polygon:
    m = 56
    base = np.linspace(0.0, 2 * math.pi, m, endpoint=False)
    th = base + rng.uniform(-0.35, 0.35, m) * (2 * math.pi / m)
    a, b, e = p.width / 2, p.height / 2, 3.0
    c, s = np.abs(np.cos(th)), np.abs(np.sin(th))
    r0 = 1.0 / ((c / a) ** e + (s / b) ** e) ** (1.0 / e)
    noise = np.zeros(m)
    for k in range(2, 8):
        noise += rng.uniform(0.02, 0.075) / math.sqrt(k - 1) * np.cos(k * th + rng.uniform(0, 2 * math.pi))
    noise += rng.normal(0.0, 0.018, m)
    r = r0 * (1.0 + noise)
    pts = np.column_stack([r * np.cos(th), r * np.sin(th)])
    poly = Polygon(pts)
    if not poly.is_valid:
        raise _Retry("outline")
    return poly


def _make_river(rng, p: KindParams) -> LineString:
    W, H = p.width, p.height
    xs = np.arange(-0.9 * W, 0.9 * W + 1e-9, max(20.0, W / 300))
    y0 = rng.uniform(-p.river_offset, p.river_offset) * H
    tilt = math.tan(rng.uniform(-0.2, 0.2))
    a1 = p.river_amp * H * rng.uniform(0.7, 1.2)
    l1 = W * rng.uniform(0.8, 1.3)
    a2 = 0.3 * p.river_amp * H * rng.uniform(0.6, 1.2)
    l2 = W * rng.uniform(0.28, 0.45)
    f1, f2 = rng.uniform(0, 2 * math.pi, 2)
    ys = y0 + tilt * xs + a1 * np.sin(2 * math.pi * xs / l1 + f1) + a2 * np.sin(2 * math.pi * xs / l2 + f2)
    return LineString(np.column_stack([xs, ys]))


def _best_candidate_seeds(rng, region, n: int, k: int = 8) -> list[Point]:
    cand = _random_points_in(rng, region, n * k)
    seeds: list[Point] = [cand[0]]
    xy = np.array([[c.x, c.y] for c in cand])
    chosen = np.zeros(len(cand), dtype=bool)
    chosen[0] = True
    dmin = np.hypot(xy[:, 0] - xy[0, 0], xy[:, 1] - xy[0, 1])
    for i in range(1, n):
        block = np.arange(i * k, (i + 1) * k)
        j = int(block[np.argmax(dmin[block])])
        chosen[j] = True
        seeds.append(cand[j])
        dmin = np.minimum(dmin, np.hypot(xy[:, 0] - xy[j, 0], xy[:, 1] - xy[j, 1]))
    return seeds


def _centre_of(poly) -> Point:
    for d in (60.0, 40.0, 25.0, 10.0, 0.0):
        inner = poly.buffer(-d) if d else poly
        if not inner.is_empty:
            return inner.point_on_surface()
    return poly.point_on_surface()


def _build_geometry(rng, p: KindParams, n_units: int) -> _Geo:
    for _attempt in range(200):
        try:
            return _try_geometry(rng, p, n_units)
        except _Retry:
            continue
    raise RuntimeError("could not build a commune layout; try another seed")


def _try_geometry(rng, p: KindParams, n_units: int) -> _Geo:
    outline = _make_outline(rng, p)
    river_line = _make_river(rng, p)
    crossings = shapely.get_parts(outline.boundary.intersection(river_line))
    if len(crossings) != 2:
        raise _Retry("river must cross the outline exactly twice")
    river_poly = river_line.buffer(p.river_width / 2, quad_segs=6)

    inside = river_line.intersection(outline)
    if inside.geom_type != "LineString":
        raise _Retry("river leaves the commune")
    s_in = river_line.project(Point(inside.coords[0]))
    s_out = river_line.project(Point(inside.coords[-1]))
    if s_in > s_out:
        s_in, s_out = s_out, s_in

    island_poly = None
    s_island = None
    if p.island is not None:
        lw, rw, li, ri = p.island
        span = s_out - s_in
        s_island = s_in + span * rng.uniform(0.35, 0.65)
        widen = substring(river_line, s_island - lw / 2, s_island + lw / 2).buffer(rw, quad_segs=8)
        if not outline.buffer(-150).contains(widen):
            raise _Retry("islet too close to the edge")
        island_poly = substring(river_line, s_island - li / 2, s_island + li / 2).buffer(ri, quad_segs=8)
        island_poly = island_poly.simplify(2.0)
        river_poly = river_poly.union(widen)

    land = outline.difference(river_poly)
    banks = [g for g in shapely.get_parts(land) if g.area > 1000.0]
    if len(banks) != 2:
        raise _Retry("river must split the commune in two")
    banks.sort(key=lambda g: -g.centroid.y)  # bank 0 = north
    total = sum(g.area for g in banks)
    if min(g.area for g in banks) < 0.25 * total:
        raise _Retry("unbalanced banks")

    region = outline.buffer(-p.seed_edge_margin).difference(river_poly.buffer(p.seed_river_margin))
    seeds = _best_candidate_seeds(rng, region, n_units)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(MultiPoint(seeds), extend_to=outline.buffer(p.width))
    )
    # one noding of all linework so that neighbours share identical vertices
    lines = list(shapely.boundary(cells)) + [land.boundary]
    noded = shapely.union_all(lines)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    seed_arr = np.array(seeds, dtype=object)
    cell_of_seed = {}
    tree = STRtree(cells)
    for i, sd in enumerate(seed_arr):
        hits = tree.query(sd, predicate="intersects")
        cell_of_seed[int(hits[0])] = i
    pieces: dict[int, list] = {i: [] for i in range(n_units)}
    shapely.prepare(land)
    for f in faces:
        if f.area < 1e-6:
            continue
        rp = f.point_on_surface()
        if not land.contains(rp):
            continue
        hits = tree.query(rp, predicate="intersects")
        if len(hits) == 0:
            continue
        pieces[cell_of_seed[int(hits[0])]].append(f)
    polys: dict[int, object] = {}
    for i in range(n_units):
        if not pieces[i]:
            raise _Retry("empty cell")
        polys[i] = shapely.union_all(pieces[i])

    # every unit one Polygon: merge stray pieces into the neighbour sharing the
    # longest boundary (same bank by construction), drop isolated slivers
    for _round in range(10):
        changed = False
        for i in range(n_units):
            parts = sorted(shapely.get_parts(polys[i]), key=lambda g: -g.area)
            if len(parts) <= 1:
                continue
            changed = True
            polys[i] = parts[0]
            for piece in parts[1:]:
                best, best_len = None, 1.0
                for j in range(n_units):
                    if j == i or not polys[j].intersects(piece.buffer(0.5)):
                        continue
                    ln = _shared_length(piece, polys[j])
                    if ln > best_len:
                        best, best_len = j, ln
                if best is not None:
                    polys[best] = shapely.union_all([polys[best], piece])
        if not changed:
            break
    else:
        raise _Retry("cannot make single polygons")
    for i in range(n_units):
        g = polys[i]
        if g.geom_type != "Polygon" or not g.is_valid or len(g.interiors) > 0:
            raise _Retry("bad unit polygon")
        if g.area < 0.2 * total / n_units:
            raise _Retry("unit too small")

    units: list[_Unit] = []
    for i in range(n_units):
        g = orient(polys[i], 1.0)
        bank = 0 if g.representative_point().within(banks[0]) else 1
        units.append(_Unit(idx=i, poly=g, bank=bank, centre=_centre_of(g)))
    if len({u.bank for u in units}) != 2 or min(sum(u.bank == b for u in units) for b in (0, 1)) < 3:
        raise _Retry("too few units on a bank")

    # adjacency (rook, positive shared length)
    adjacency: dict[tuple[int, int], float] = {}
    ptree = STRtree([u.poly for u in units])
    for u in units:
        for j in ptree.query(u.poly, predicate="dwithin", distance=1.0):
            j = int(j)
            if j <= u.idx:
                continue
            ln = _shared_length(u.poly, units[j].poly)
            if ln > 1.0:
                if units[j].bank != u.bank:
                    raise _Retry("units touch across the river")
                adjacency[(u.idx, j)] = ln
    g = nx.Graph()
    g.add_nodes_from(range(n_units))
    g.add_edges_from(adjacency)
    for b in (0, 1):
        sub = g.subgraph([u.idx for u in units if u.bank == b])
        if not nx.is_connected(sub):
            raise _Retry("a bank is not connected")

    bridges = _place_bridges(rng, p, river_line, river_poly, units, s_in, s_out, s_island)

    geo = _Geo(outline=orient(outline, 1.0), river_line=river_line, river_poly=river_poly,
               units=units, bridges=bridges, adjacency=adjacency)

    if island_poly is not None:
        idx = len(units)
        isl = orient(island_poly, 1.0)
        track = substring(river_line, s_island - 0.38 * p.island[2], s_island + 0.38 * p.island[2])
        track = track.simplify(3.0)
        centre = river_line.interpolate(s_island)
        coords = [c for c in track.coords]
        # make the track pass through the islet's centre (its road node)
        k = int(np.argmin([math.hypot(x - centre.x, y - centre.y) for x, y in coords]))
        coords[k] = (centre.x, centre.y)
        track = LineString(coords)
        if not isl.buffer(-5).contains(track):
            raise _Retry("islet track")
        units.append(_Unit(idx=idx, poly=isl, bank=2, centre=centre))
        geo.island = idx
        geo.island_track = track
        dists = [isl.distance(u.poly) for u in units[:-1]]
        if min(dists) < 40.0:
            raise _Retry("islet too close to the bank")
        geo.ferry_to = int(np.argmin(dists))
    return geo


def _place_bridges(rng, p, river_line, river_poly, units, s_in, s_out, s_island) -> list[_Bridge]:
    span = s_out - s_in
    margin = min(300.0, 0.12 * span)
    step = max(25.0, span / 200)
    cand_s = np.arange(s_in + margin, s_out - margin, step)
    if s_island is not None:
        lw, rw, _li, _ri = p.island
        cand_s = cand_s[np.abs(cand_s - s_island) > lw / 2 + rw + 250]
    polys = [u.poly for u in units]
    tree = STRtree(polys)
    h = p.river_width / 2 + p.bridge_end

    def bridge_at(s: float) -> _Bridge | None:
        c = river_line.interpolate(s)
        t0 = river_line.interpolate(max(0.0, s - 10))
        t1 = river_line.interpolate(s + 10)
        tx, ty = t1.x - t0.x, t1.y - t0.y
        nrm = math.hypot(tx, ty)
        nx_, ny_ = -ty / nrm, tx / nrm
        e1 = Point(c.x + nx_ * h, c.y + ny_ * h)
        e2 = Point(c.x - nx_ * h, c.y - ny_ * h)
        ends = []
        for e in (e1, e2):
            hits = [int(j) for j in tree.query(e, predicate="intersects")]
            hits = [j for j in hits if polys[j].buffer(-4).contains(e)]
            if len(hits) != 1:
                return None
            ends.append((hits[0], e))
        (ia, ea), (ib, eb) = ends
        if units[ia].bank == units[ib].bank:
            return None
        if units[ia].bank == 1:
            (ia, ea), (ib, eb) = (ib, eb), (ia, ea)
        seg = LineString([ea, eb])
        # the bridge crosses water only, once
        if seg.difference(river_poly).length > 2 * p.bridge_end + 2:
            return None
        for iu, e in ((ia, ea), (ib, eb)):
            conn = LineString([units[iu].centre, e])
            if conn.length > 1 and (conn.intersects(river_poly.buffer(-0.5))
                                    or not polys[iu].buffer(1.0).contains(conn)):
                return None
        return _Bridge(a=ia, b=ib, end_a=ea, end_b=eb, s=float(s))

    lo = cand_s[cand_s < s_in + 0.45 * span]
    hi = cand_s[cand_s > s_in + 0.55 * span]
    lo = list(rng.permutation(lo))
    hi = list(rng.permutation(hi))
    first = [b for b in (bridge_at(s) for s in lo[:40]) if b is not None]
    second = [b for b in (bridge_at(s) for s in hi[:40]) if b is not None]
    for b1 in first:
        for b2 in second:
            if abs(b1.s - b2.s) < p.bridge_min_sep:
                continue
            d = b1.end_a.distance(b2.end_a)
            if d < p.bridge_min_sep:
                continue
            if {b1.a, b1.b} & {b2.a, b2.b}:
                continue
            return sorted([b1, b2], key=lambda b: b.s)
    raise _Retry("no bridge places")


# --------------------------------------------------------------------------
# Units: ids, names, voters
# --------------------------------------------------------------------------


def _unit_names(rng, p: KindParams, n: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    if p.kind == "urban":
        return [f"Tổ dân phố {i + 1}" for i in range(n)]
    while len(names) < n:
        if p.kind == "rural":
            if rng.random() < 0.13:
                nm = "Xóm " + RURAL_XOM[int(rng.integers(len(RURAL_XOM)))]
            else:
                a = RURAL_FIRST[int(rng.integers(len(RURAL_FIRST)))]
                b = RURAL_SECOND[int(rng.integers(len(RURAL_SECOND)))]
                if a == b:
                    continue
                nm = f"Thôn {a} {b}"
        else:
            a = MOUNTAIN_FIRST[int(rng.integers(len(MOUNTAIN_FIRST)))]
            b = MOUNTAIN_SECOND[int(rng.integers(len(MOUNTAIN_SECOND)))]
            if a == b:
                continue
            pre = "Bản" if rng.random() < 0.6 else "Thôn"
            nm = f"{pre} {a} {b}"
        key = nm.split(" ", 1)[1]
        if key in seen:
            continue
        seen.add(key)
        names.append(nm)
    return names


def _draw_voters(rng, p: KindParams, n: int) -> list[int]:
    lo, hi = p.voters_lo, p.voters_hi
    raw = rng.beta(p.beta_a, p.beta_b, n)
    big = rng.random(n) < 0.07  # a few large villages
    raw = np.where(big, rng.uniform(0.6, 1.0, n), raw)
    v = lo + (hi - lo) * raw
    target = p.voters_mean * n * rng.uniform(0.93, 1.07)
    # scale the part above the minimum so that the total hits the target,
    # without leaving [lo, hi]
    for _ in range(30):
        excess = v - lo
        need = target - n * lo
        if excess.sum() <= 0:
            break
        v = np.clip(lo + excess * (need / excess.sum()), lo, hi)
        if abs(v.sum() - target) < 1:
            break
    return [int(x) for x in np.round(v)]


def _assign_ids(p: KindParams, geo: _Geo) -> None:
    mainland = [u for u in geo.units if u.bank != 2]
    band = math.sqrt(geo.outline.area / max(1, len(mainland))) * 1.1
    ymax = geo.outline.bounds[3]
    order = sorted(mainland, key=lambda u: (int((ymax - u.centre.y) // band), u.centre.x, u.centre.y))
    n_total = len(geo.units)
    width = max(2, len(str(n_total)))
    for k, u in enumerate(order):
        u.unit_id = f"{p.id_prefix}{k + 1:0{width}d}"
    if geo.island is not None:
        geo.units[geo.island].unit_id = f"{p.id_prefix}{len(order) + 1:0{width}d}"


# --------------------------------------------------------------------------
# Electoral units (commune People's Council)
# --------------------------------------------------------------------------


def _grow_eus(rng, units: list[_Unit], graph: nx.Graph, k: int) -> None:
    nodes = sorted(graph.nodes)
    pos = {i: (units[i].centre.x, units[i].centre.y) for i in nodes}
    vot = {i: units[i].voters for i in nodes}
    cx = float(np.mean([pos[i][0] for i in nodes]))
    cy = float(np.mean([pos[i][1] for i in nodes]))
    far = max(nodes, key=lambda i: (math.hypot(pos[i][0] - cx, pos[i][1] - cy), i))
    seeds = [far]
    while len(seeds) < k:
        nxt = max((i for i in nodes if i not in seeds),
                  key=lambda i: (min(math.hypot(pos[i][0] - pos[s][0], pos[i][1] - pos[s][1]) for s in seeds), i))
        seeds.append(nxt)
    assign = {s: e for e, s in enumerate(seeds)}
    tot = [vot[s] for s in seeds]
    while len(assign) < len(nodes):
        grown = False
        for e in sorted(range(k), key=lambda e: (tot[e], e)):
            frontier = sorted({v for u, ee in assign.items() if ee == e for v in graph[u] if v not in assign})
            if not frontier:
                continue
            sx, sy = pos[seeds[e]]
            v = min(frontier, key=lambda v: (math.hypot(pos[v][0] - sx, pos[v][1] - sy), v))
            assign[v] = e
            tot[e] += vot[v]
            grown = True
            break
        if not grown:
            raise _Retry("graph not connected for electoral units")
    # balance by moving boundary units while each EU stays connected
    mean = sum(tot) / k
    for _ in range(20 * len(nodes)):
        best = None
        for u in nodes:
            a = assign[u]
            for v in graph[u]:
                b = assign[v]
                if b == a:
                    continue
                old = (tot[a] - mean) ** 2 + (tot[b] - mean) ** 2
                new = (tot[a] - vot[u] - mean) ** 2 + (tot[b] + vot[u] - mean) ** 2
                gain = old - new
                if gain <= 1e-9 or (best is not None and gain <= best[0]):
                    continue
                rest = [w for w in nodes if assign[w] == a and w != u]
                if not rest or not nx.is_connected(graph.subgraph(rest)):
                    continue
                best = (gain, u, a, b)
        if best is None:
            break
        _gain, u, a, b = best
        assign[u] = b
        tot[a] -= vot[u]
        tot[b] += vot[u]
    # number the EUs in reading order (north-west first)
    keyed = []
    for e in range(k):
        mem = [i for i in nodes if assign[i] == e]
        mx = float(np.mean([pos[i][0] for i in mem]))
        my = float(np.mean([pos[i][1] for i in mem]))
        keyed.append((-round(my, -2), mx, e))
    order = [e for _, _, e in sorted(keyed)]
    renum = {e: r for r, e in enumerate(order)}
    for i in nodes:
        units[i].eu = renum[assign[i]]


# --------------------------------------------------------------------------
# Roads
# --------------------------------------------------------------------------


@dataclass
class _Road:
    coords: list[tuple[float, float]]
    highway: str
    bridge: bool = False
    speed: int | None = None


def _build_roads(rng, p: KindParams, geo: _Geo) -> list[_Road]:
    units = geo.units
    mainland = [u for u in units if u.bank != 2]
    river_in = geo.river_poly.buffer(-0.5)
    cand = nx.Graph()
    cand.add_nodes_from(u.idx for u in mainland)
    paths: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for (i, j), ln in sorted(geo.adjacency.items()):
        if ln < 15.0:
            continue
        a, b = units[i], units[j]
        shared = a.poly.boundary.intersection(b.poly.boundary.buffer(0.5))
        shared = shapely.line_merge(shapely.union_all(
            [g for g in shapely.get_parts(shared) if g.geom_type in ("LineString", "MultiLineString")]))
        parts = sorted(shapely.get_parts(shared), key=lambda g: -g.length)
        if not parts:
            continue
        m = parts[0].interpolate(0.5, normalized=True)
        s1 = LineString([a.centre, m])
        s2 = LineString([m, b.centre])
        if s1.intersects(river_in) or s2.intersects(river_in):
            continue
        if not (a.poly.buffer(1.0).contains(s1) and b.poly.buffer(1.0).contains(s2)):
            continue
        coords = [(a.centre.x, a.centre.y), (m.x, m.y), (b.centre.x, b.centre.y)]
        paths[(i, j)] = coords
        cand.add_edge(i, j, weight=s1.length + s2.length, kind="road")
    for k, br in enumerate(geo.bridges):
        w = (units[br.a].centre.distance(br.end_a) + br.end_a.distance(br.end_b)
             + br.end_b.distance(units[br.b].centre))
        key = (min(br.a, br.b), max(br.a, br.b))
        cand.add_edge(*key, weight=w, kind="bridge", bridge=k)
    if not nx.is_connected(cand):
        raise _Retry("road candidates not connected")

    # main road: west-east across the larger bank
    bank_area = {b: sum(u.poly.area for u in mainland if u.bank == b) for b in (0, 1)}
    main_bank = max((0, 1), key=lambda b: (bank_area[b], -b))
    side = [u for u in mainland if u.bank == main_bank]
    west = min(side, key=lambda u: (u.centre.x, u.idx)).idx
    east = max(side, key=lambda u: (u.centre.x, -u.idx)).idx
    sub = cand.subgraph([u.idx for u in side]).copy()
    sub.remove_edges_from([e for e in sub.edges if cand.edges[e]["kind"] == "bridge"])
    try:
        main_path = nx.shortest_path(sub, west, east, weight="weight")
    except nx.NetworkXNoPath as exc:
        raise _Retry("main road") from exc
    main_edges = {(min(a, b), max(a, b)) for a, b in zip(main_path, main_path[1:])}

    # spanning tree that keeps the main road and both bridges
    forced = set(main_edges) | {(min(br.a, br.b), max(br.a, br.b)) for br in geo.bridges}
    uf = nx.utils.UnionFind(cand.nodes)
    chosen: list[tuple[int, int]] = []
    for e in sorted(forced):
        uf.union(*e)
        chosen.append(e)
    tree_edges = set(chosen)
    rest = sorted(((d["weight"], min(a, b), max(a, b)) for a, b, d in cand.edges(data=True)
                   if d["kind"] == "road"))
    extras = []
    for w, a, b in rest:
        if (a, b) in tree_edges:
            continue
        if uf[a] != uf[b]:
            uf.union(a, b)
            tree_edges.add((a, b))
        else:
            extras.append((a, b))
    for e in extras:
        if rng.random() < p.extra_road_p:
            tree_edges.add(e)

    median_v = float(np.median([u.voters for u in mainland]))
    roads: list[_Road] = []
    main_hw = "secondary" if p.kind == "mountain" else "primary"
    main_speed = 50 if p.kind == "mountain" else 60
    bridge_keys = {(min(br.a, br.b), max(br.a, br.b)): k for k, br in enumerate(geo.bridges)}
    for e in sorted(tree_edges):
        a, b = e
        if e in bridge_keys:
            k = bridge_keys[e]
            br = geo.bridges[k]
            hw = "secondary" if k == 0 else "tertiary"
            spd = 40 if k == 0 else None
            ua, ub = units[br.a], units[br.b]
            if ua.centre.distance(br.end_a) > 0.5:
                roads.append(_Road([(ua.centre.x, ua.centre.y), (br.end_a.x, br.end_a.y)], hw, speed=spd))
            roads.append(_Road([(br.end_a.x, br.end_a.y), (br.end_b.x, br.end_b.y)], hw, True, spd))
            if ub.centre.distance(br.end_b) > 0.5:
                roads.append(_Road([(br.end_b.x, br.end_b.y), (ub.centre.x, ub.centre.y)], hw, speed=spd))
            continue
        coords = paths[e]
        if e in main_edges:
            roads.append(_Road(coords, main_hw, speed=main_speed))
            continue
        va, vb = units[a].voters, units[b].voters
        if p.kind == "mountain":
            if e in extras:
                hw = "track"
            else:
                hw = "tertiary" if min(va, vb) >= median_v else "track"
        elif e in extras:
            hw = "track" if (p.kind == "rural" and rng.random() < 0.3) else "residential"
        else:
            hw = "tertiary" if min(va, vb) >= median_v else "residential"
        spd = 20 if hw == "track" and rng.random() < 0.5 else None
        roads.append(_Road(coords, hw, speed=spd))
    if geo.island_track is not None:
        roads.append(_Road([tuple(c) for c in geo.island_track.coords], "track", speed=15))
    return roads


# --------------------------------------------------------------------------
# Sites and facilities
# --------------------------------------------------------------------------


@dataclass
class _Point:
    ident: str
    name: str
    kind: str
    unit: int
    pt: Point
    capacity: int = 0
    accessible: bool = True
    voters: int = 0


def _place_point(rng, poly, centre: Point, taken: list[Point], inside: float) -> Point:
    inner = poly.buffer(-inside)
    if inner.is_empty:
        inner = poly.buffer(-inside / 2)
    near = inner.intersection(centre.buffer(max(80.0, 0.35 * math.sqrt(poly.area))))
    for region in (near, inner):
        if region.is_empty or region.area < 1.0:
            continue
        for pt in _random_points_in(rng, region, 60):
            if pt.distance(centre) < 15.0:
                continue
            if all(pt.distance(t) >= 40.0 for t in taken):
                return Point(round(pt.x, 2), round(pt.y, 2))
    return inner.representative_point()


def _short(name: str) -> tuple[str, str]:
    """'Thôn Đông Hòa' -> ('thôn', 'Đông Hòa'); 'Tổ dân phố 12' -> ('tổ dân phố', '12')."""
    for pre in ("Tổ dân phố", "Thôn", "Xóm", "Bản"):
        if name.startswith(pre + " "):
            return pre.lower(), name[len(pre) + 1:]
    return "", name


def _make_facilities(rng, p: KindParams, geo: _Geo, commune: str, taken: list[Point]) -> list[_Point]:
    units = geo.units
    mainland = [u for u in units if u.bank != 2]
    used: set[int] = set()
    out: list[_Point] = []
    bridge_units = {br.a for br in geo.bridges} | {br.b for br in geo.bridges}
    for k, kind in enumerate(p.facility_kinds):
        pool = [u for u in mainland if u.idx not in used and u.idx not in bridge_units]
        if kind == "armed_forces" and p.kind == "mountain":
            # border-guard post towards the edge of the commune
            c = geo.outline.centroid
            pool.sort(key=lambda u: (-u.centre.distance(c), u.idx))
            u = pool[int(rng.integers(min(4, len(pool))))]
        else:
            u = pool[int(rng.integers(len(pool)))]
        used.add(u.idx)
        lo, hi = FACILITY_VOTERS[kind]
        v = int(rng.integers(lo, hi + 1))
        short = _short(u.name)[1]
        if kind == "hospital":
            name = f"Bệnh viện Đa khoa khu vực {commune}"
        elif kind == "armed_forces":
            name = (f"Đồn Biên phòng {short}" if p.kind == "mountain"
                    else f"Tiểu đoàn {int(rng.integers(2, 9))} (đơn vị vũ trang đóng quân tại {commune})")
        elif kind == "detention":
            name = "Trại tạm giam Công an tỉnh (phân trại " + short + ")"
        else:
            name = f"Cơ sở chăm sóc người cao tuổi {short}"
        pt = _place_point(rng, u.poly, u.centre, taken, p.min_site_inside)
        taken.append(pt)
        out.append(_Point(ident=f"F{k + 1:02d}", name=name, kind=kind, unit=u.idx, pt=pt, voters=v))
    return out


def _make_sites(rng, p: KindParams, geo: _Geo, commune: str, hall_unit: int,
                facilities: list[_Point], taken: list[Point]) -> list[_Point]:
    units = geo.units
    mainland = [u for u in units if u.bank != 2]
    placed: list[tuple[int, str, str, int, bool]] = []  # (unit, kind, name, capacity, accessible)
    has_site: set[int] = set()

    def add(u: _Unit, kind: str, name: str, cap: int, acc: bool) -> None:
        placed.append((u.idx, kind, name, cap, acc))
        has_site.add(u.idx)

    prefix_word = {"rural": "xã", "mountain": "xã", "urban": "phường"}[p.kind]
    add(units[hall_unit], "commune_hall", f"Trụ sở UBND {prefix_word} {commune}", 4000, True)
    # schools: the most populous unit of each EU in turn, one per unit
    by_eu: dict[int, list[_Unit]] = {}
    for u in mainland:
        by_eu.setdefault(u.eu, []).append(u)
    queues = {e: sorted(us, key=lambda u: (-u.voters, u.unit_id)) for e, us in by_eu.items()}
    eus = sorted(by_eu, key=lambda e: (-sum(u.voters for u in by_eu[e]), e))
    schools: list[_Unit] = []
    r = 0
    while len(schools) < p.n_schools and r < 10 * len(eus):
        e = eus[r % len(eus)]
        r += 1
        q = [u for u in queues[e] if u.idx not in has_site and u not in schools]
        if q:
            schools.append(q[0])
            has_site.add(q[0].idx)
    n_primary = (len(schools) + 1) // 2
    patrons = list(rng.permutation(len(SCHOOL_PATRONS)))
    for k, u in enumerate(schools):
        if k < n_primary:
            name = f"Trường Tiểu học {commune}" + (f" số {k + 1}" if n_primary > 1 else "")
        elif k == n_primary:
            name = f"Trường THCS {commune}"
        else:
            name = f"Trường THCS {SCHOOL_PATRONS[int(patrons[k % len(patrons)])]}"
        add(u, "school", name, int(rng.integers(30, 41)) * 100, bool(rng.random() < 0.85))

    def cultural(u: _Unit) -> None:
        pre, short = _short(u.name)
        label = f"Nhà văn hóa {pre} {short}" if pre else f"Nhà văn hóa {short}"
        add(u, "cultural_house", label, int(rng.integers(15, 26)) * 100, bool(rng.random() < 0.7))

    for u in sorted(units, key=lambda u: u.unit_id):
        if u.idx in has_site:
            continue
        if u.voters >= 300 or u.bank == 2:
            cultural(u)
    target = int(round(0.6 * len(units)))
    others = [u for u in sorted(units, key=lambda u: u.unit_id) if u.idx not in has_site]
    n_cult = sum(1 for s in placed if s[1] == "cultural_house")
    for j in rng.permutation(len(others)):
        if n_cult >= target:
            break
        cultural(others[int(j)])
        n_cult += 1
    # enough capacity and sites in every commune electoral unit
    fac_v: dict[int, int] = {}
    for f in facilities:
        fac_v[units[f.unit].eu] = fac_v.get(units[f.unit].eu, 0) + f.voters
    for e in sorted(by_eu):
        members = [u for u in units if u.eu == e]
        demand = sum(u.voters for u in members) + fac_v.get(e, 0)
        while True:
            mine = [s for s in placed if units[s[0]].eu == e]
            cap = sum(s[3] for s in mine)
            if cap >= 1.5 * demand and len(mine) >= math.ceil(demand / 2500) + 1:
                break
            free = sorted((u for u in members if u.idx not in has_site and u.bank != 2),
                          key=lambda u: (-u.voters, u.unit_id))
            if not free:
                raise _Retry("not enough room for polling sites")
            cultural(free[0])

    placed.sort(key=lambda s: (units[s[0]].unit_id, s[1]))
    out: list[_Point] = []
    for k, (ui, kind, name, cap, acc) in enumerate(placed):
        u = units[ui]
        pt = _place_point(rng, u.poly, u.centre, taken, p.min_site_inside)
        taken.append(pt)
        out.append(_Point(ident=f"S{k + 1:03d}", name=name, kind=kind, unit=ui, pt=pt,
                          capacity=cap, accessible=acc))
    return out


# --------------------------------------------------------------------------
# Voter registry
# --------------------------------------------------------------------------


@dataclass
class _Person:
    dob: date
    sex: str
    status: str = ""
    unit: str = ""
    facility: str = ""
    residence: str = "permanent"
    temp_registered: date | None = None
    dob_text: str = ""
    surname: str = ""
    full_name: str = ""
    citizen_id: str = ""


def _days(d0: date, d1: date) -> int:
    return (d1 - d0).days


def _rand_date(rng, d0: date, d1: date) -> date:
    """Uniform date in [d0, d1]."""
    return d0 + timedelta(days=int(rng.integers(0, _days(d0, d1) + 1)))


def _adult_dob(rng, lo_age: float, hi_age: float, a: float = 1.3, b: float = 2.2) -> date:
    age = lo_age + (hi_age - lo_age) * rng.beta(a, b)
    d = ELECTION_DATE - timedelta(days=int(age * 365.2425))
    if d > LAST_ELIGIBLE_BIRTH - timedelta(days=1):
        d = LAST_ELIGIBLE_BIRTH - timedelta(days=1 + int(rng.integers(0, 300)))
    return d


def _minor_dob(rng) -> date:
    return _rand_date(rng, LAST_ELIGIBLE_BIRTH + timedelta(days=1), ELECTION_DATE - timedelta(days=1))


def _name(rng, p: KindParams, sex: str, year: int, surname: str) -> str:
    highland = p.kind == "mountain" and surname in {s for s, _ in SURNAMES_HIGHLAND[:11]}
    if highland:
        if sex == "M":
            mid = _weighted(rng, HIGHLAND_MIDDLE_M)
            given = HIGHLAND_GIVEN_M[int(rng.integers(len(HIGHLAND_GIVEN_M)))]
        else:
            mid = "Thị"
            given = HIGHLAND_GIVEN_F[int(rng.integers(len(HIGHLAND_GIVEN_F)))]
        return f"{surname} {mid} {given}"
    old = year < 1985
    if sex == "M":
        mid = "Văn" if (old and rng.random() < 0.45) else _weighted(rng, MIDDLE_M)
        given = GIVEN_M[int(rng.integers(len(GIVEN_M)))]
        if mid == given:
            mid = "Văn"
        return f"{surname} {mid} {given}"
    if old and rng.random() < 0.55:
        mid = "Thị"
    else:
        mid = _weighted(rng, MIDDLE_F)
    given = GIVEN_F[int(rng.integers(len(GIVEN_F)))]
    if mid == "Thị" and rng.random() < 0.25:
        mid = "Thị " + SECOND_MIDDLE_F[int(rng.integers(len(SECOND_MIDDLE_F)))]
    if mid.endswith(given):
        mid = "Thị"
    return f"{surname} {mid} {given}"


def _surnames(p: KindParams):
    if p.kind == "mountain":
        return SURNAMES_HIGHLAND
    return SURNAMES_KINH


def _is_eligible(pr: _Person) -> bool:
    return pr.status == "" and pr.dob <= LAST_ELIGIBLE_BIRTH


def _make_registry(rng, p: KindParams, units: list[_Unit], facilities: list[_Point]) -> list[_Person]:
    people: list[_Person] = []
    surnames = _surnames(p)
    n_excl = 0

    def excluded_status() -> str:
        nonlocal n_excl
        n_excl += 1
        if n_excl <= len(EXCLUDED_STATUSES):  # one of each first, for test coverage
            return EXCLUDED_STATUSES[n_excl - 1]
        return _weighted(rng, (("imprisoned", 45.0), ("incapacitated", 35.0),
                               ("deprived", 17.0), ("death_sentence", 0.3)))

    for u in sorted(units, key=lambda u: u.unit_id):
        e = u.voters
        m = int(round(e * rng.uniform(0.25, 0.30)))
        x = int(rng.binomial(e, 0.01)) if e > 0 else 0
        cats = np.array(["E"] * e + ["M"] * m + ["X"] * x)
        cats = cats[rng.permutation(len(cats))]
        members: list[_Person] = []
        for c in cats:
            sex = "M" if rng.random() < 0.495 else "F"
            if c == "E":
                pr = _Person(dob=_adult_dob(rng, 18.02, 96.0), sex=sex)
            elif c == "M":
                pr = _Person(dob=_minor_dob(rng), sex=sex)
            else:
                pr = _Person(dob=_adult_dob(rng, 20.0, 75.0, 1.5, 1.8), sex=sex, status=excluded_status())
            pr.unit = u.unit_id
            members.append(pr)
        # households of 1-7 people sharing a family name, eldest first
        k = 0
        while k < len(members):
            size = int(rng.choice([1, 2, 3, 4, 5, 6, 7], p=[0.08, 0.17, 0.22, 0.25, 0.16, 0.08, 0.04]))
            hh = sorted(members[k:k + size], key=lambda pr: (pr.dob, pr.sex))
            fam = _weighted(rng, surnames)
            for j, pr in enumerate(hh):
                # the head's spouse (second adult of the other sex) keeps her/his own family name
                if j == 1 and pr.sex != hh[0].sex and pr.dob <= LAST_ELIGIBLE_BIRTH:
                    pr.surname = _weighted(rng, surnames)
                else:
                    pr.surname = fam
                people.append(pr)
            k += size

    fac_sorted = sorted(facilities, key=lambda f: f.ident)
    unit_id_of = {u.idx: u.unit_id for u in units}
    for f in fac_sorted:
        extra: list[_Person] = []
        core: list[_Person] = []
        for _ in range(f.voters):
            if f.kind == "armed_forces":
                sex = "M" if rng.random() < 0.96 else "F"
                pr = _Person(dob=_adult_dob(rng, 18.3, 45.0, 1.1, 4.0), sex=sex)
            elif f.kind == "elderly_care":
                pr = _Person(dob=_adult_dob(rng, 62.0, 98.0, 1.6, 1.6), sex="M" if rng.random() < 0.4 else "F")
            elif f.kind == "detention":
                pr = _Person(dob=_adult_dob(rng, 18.2, 60.0, 1.4, 2.5), sex="M" if rng.random() < 0.9 else "F")
            else:
                pr = _Person(dob=_adult_dob(rng, 18.1, 92.0, 1.5, 1.5), sex="M" if rng.random() < 0.5 else "F")
            core.append(pr)
        if f.kind == "hospital":
            for _ in range(int(rng.integers(2, 7))):
                extra.append(_Person(dob=_minor_dob(rng), sex="M" if rng.random() < 0.5 else "F"))
            for _ in range(int(rng.integers(1, 3))):
                extra.append(_Person(dob=_adult_dob(rng, 30, 90), sex="M" if rng.random() < 0.5 else "F",
                                     status="incapacitated"))
        elif f.kind == "elderly_care":
            for _ in range(int(rng.integers(1, 4))):
                extra.append(_Person(dob=_adult_dob(rng, 70, 98), sex="M" if rng.random() < 0.4 else "F",
                                     status="incapacitated"))
        elif f.kind == "detention":
            for _ in range(int(rng.integers(1, 4))):
                extra.append(_Person(dob=_adult_dob(rng, 20, 55), sex="M", status="imprisoned"))
        group = core + extra
        group.sort(key=lambda pr: (pr.dob, pr.sex))
        for pr in group:
            pr.unit = unit_id_of[f.unit]
            pr.facility = f.ident
            pr.surname = _weighted(rng, surnames)
            pr.residence = "temporary"
            if f.kind == "armed_forces":
                pr.temp_registered = _rand_date(rng, date(2023, 9, 1), date(2026, 2, 28))
            elif f.kind == "detention":
                pr.temp_registered = _rand_date(rng, date(2025, 6, 1), date(2026, 3, 1))
            elif f.kind == "hospital":
                pr.temp_registered = _rand_date(rng, date(2026, 1, 5), date(2026, 3, 10))
            else:
                pr.temp_registered = _rand_date(rng, date(2014, 1, 1), date(2025, 12, 31))
            if pr.temp_registered < pr.dob:
                pr.temp_registered = pr.dob + timedelta(days=1)
            people.append(pr)

    # temporary residents among the unit residents (~8 %, half >= 12 months)
    plain = [pr for pr in people if not pr.facility]
    for pr in plain:
        if rng.random() < 0.08:
            pr.residence = "temporary"
            if rng.random() < 0.5:
                d = _rand_date(rng, date(2012, 1, 1), TEMP_12_MONTHS - timedelta(days=1))
            else:
                d = _rand_date(rng, TEMP_12_MONTHS + timedelta(days=1), date(2026, 3, 1))
            if d < pr.dob:
                d = min(pr.dob + timedelta(days=30 + int(rng.integers(0, 300))), date(2026, 3, 1))
                if d < pr.dob:
                    pr.residence = "permanent"
                    continue
            pr.temp_registered = d

    # exact edge cases (categories unchanged)
    elig = [pr for pr in plain if _is_eligible(pr)]
    minors = [pr for pr in plain if pr.status == "" and pr.dob > LAST_ELIGIBLE_BIRTH]
    picks = rng.permutation(len(elig))
    for j in picks[:3]:
        elig[int(j)].dob = LAST_ELIGIBLE_BIRTH  # eligible, turns 18 on election day
    elig[int(picks[3])].dob = date(2008, 2, 29)  # leap day, eligible
    elig[int(picks[4])].dob = date(2008, 3, 14)
    for j in rng.permutation(len(minors))[:3]:
        minors[int(j)].dob = LAST_ELIGIBLE_BIRTH + timedelta(days=1)  # one day short
    temps = [pr for pr in plain if pr.residence == "temporary" and pr.dob < date(2024, 1, 1)]
    if len(temps) >= 2:
        tp = rng.permutation(len(temps))
        temps[int(tp[0])].temp_registered = TEMP_12_MONTHS - timedelta(days=1)
        temps[int(tp[1])].temp_registered = TEMP_12_MONTHS + timedelta(days=1)

    # dates of birth as text: ~2 % YYYY-MM, ~1 % YYYY, only far from the 18th birthday
    special = {LAST_ELIGIBLE_BIRTH, LAST_ELIGIBLE_BIRTH + timedelta(days=1), date(2008, 2, 29), date(2008, 3, 14)}
    for pr in people:
        pr.dob_text = pr.dob.isoformat()
        if pr.dob in special or 2006 <= pr.dob.year <= 2009:
            continue
        r = rng.random()
        if r < 0.01:
            pr.dob_text = f"{pr.dob.year:04d}"
            pr.dob = date(pr.dob.year, 1, 1)
        elif r < 0.03:
            pr.dob_text = f"{pr.dob.year:04d}-{pr.dob.month:02d}"
            pr.dob = date(pr.dob.year, pr.dob.month, 1)
        if pr.temp_registered is not None and pr.temp_registered < pr.dob:
            pr.temp_registered = pr.dob + timedelta(days=1)

    for pr in people:
        if pr.temp_registered is not None and pr.temp_registered <= pr.dob:
            pr.temp_registered = pr.dob + timedelta(days=1)

    # names and 12-digit citizen ids: birthplace code, century/sex digit, year, serial
    used: set[str] = set()
    for pr in people:
        pr.full_name = _name(rng, p, pr.sex, pr.dob.year, pr.surname)
        prov = p.cccd_province if rng.random() < 0.88 else OTHER_PROVINCE_CODES[int(rng.integers(len(OTHER_PROVINCE_CODES)))]
        century = 0 if pr.dob.year < 2000 else 2
        digit = century + (0 if pr.sex == "M" else 1)
        while True:
            cid = f"{prov}{digit}{pr.dob.year % 100:02d}{int(rng.integers(0, 1_000_000)):06d}"
            if cid not in used:
                used.add(cid)
                pr.citizen_id = cid
                break
    return people


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


class _Projector:
    def __init__(self, p: KindParams, rng):
        self.lon = p.lon + float(rng.uniform(-0.01, 0.01))
        self.lat = p.lat + float(rng.uniform(-0.01, 0.01))
        self.epsg = _utm_epsg(self.lon, self.lat)
        fwd = Transformer.from_crs(4326, self.epsg, always_xy=True)
        e0, n0 = fwd.transform(self.lon, self.lat)
        self.e0, self.n0 = float(round(e0)), float(round(n0))
        self.inv = Transformer.from_crs(self.epsg, 4326, always_xy=True)

    def lonlat(self, xs, ys):
        lon, lat = self.inv.transform(np.asarray(xs, float) + self.e0, np.asarray(ys, float) + self.n0)
        return np.round(lon, 6), np.round(lat, 6)

    def coords(self, seq) -> list[list[float]]:
        arr = np.asarray(seq, dtype=float)
        lon, lat = self.lonlat(arr[:, 0], arr[:, 1])
        out: list[list[float]] = []
        for x, y in zip(lon.tolist(), lat.tolist()):
            pt = [x, y]
            if not out or out[-1] != pt:
                out.append(pt)
        return out

    def polygon(self, poly: Polygon) -> list:
        rings = [self.coords(poly.exterior.coords)]
        rings += [self.coords(r.coords) for r in poly.interiors]
        return rings

    def point(self, pt: Point) -> list[float]:
        return self.coords([(pt.x, pt.y)])[0]


def _feature(geom: dict, props: dict) -> str:
    return json.dumps({"type": "Feature", "properties": props, "geometry": geom},
                      ensure_ascii=False, separators=(",", ":"))


def _write_fc(path: pathlib.Path, features: list[str], name: str) -> None:
    head = json.dumps({"type": "FeatureCollection", "name": name}, ensure_ascii=False)[:-1]
    body = ",\n".join(features)
    text = head + ', "features": [\n' + body + "\n]}\n"
    path.write_text(text, encoding="utf-8", newline="\n")


def _csv_line(values) -> str:
    out = []
    for v in values:
        s = "" if v is None else str(v)
        if any(ch in s for ch in ',"\n'):
            s = '"' + s.replace('"', '""') + '"'
        out.append(s)
    return ",".join(out) + "\n"


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def generate_commune(
    out_dir: pathlib.Path,
    *,
    kind: str = "rural",
    seed: int = 0,
    n_units: int | None = None,
    with_registry: bool = True,
    overwrite: bool = False,
) -> pathlib.Path:
    """Write a synthetic commune scenario folder and return its path.

    ``kind`` is ``"rural"``, ``"urban"`` or ``"mountain"``; ``n_units`` is the
    number of mainland units (thôn / tổ dân phố / bản; default 46 / 60 / 36);
    rural and urban communes get one more unit, the island hamlet.  With
    ``with_registry`` the person-level ``voters.csv`` is written and every
    ``voters`` property equals its count of eligible persons.  An existing
    non-empty ``out_dir`` is refused unless ``overwrite`` is true, in which
    case the scenario files listed in :data:`SCENARIO_FILES` are replaced and
    any other file is left alone.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {sorted(KINDS)}")
    p = KINDS[kind]
    n = p.n_units if n_units is None else int(n_units)
    if n < 8:
        raise ValueError("n_units must be at least 8")
    if n > 400:
        raise ValueError("n_units must be at most 400")
    out = pathlib.Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not overwrite:
            raise FileExistsError(f"{out} is not empty (use overwrite=True / --overwrite)")

    master = np.random.default_rng(seed)
    r_geo, r_units, r_roads, r_sites, r_reg, r_meta = master.spawn(6)
    proj = _Projector(p, r_meta)
    commune = p.commune_names[int(r_meta.integers(len(p.commune_names)))]
    commune_code = {"rural": 19800, "urban": 100, "mountain": 700}[kind] + int(r_meta.integers(1, 199))
    eu_na = f"QH-{p.province}-{int(r_meta.integers(1, 6)):02d}"
    eu_prov = f"HDT-{p.province}-{int(r_meta.integers(1, 30)):02d}"

    for _attempt in range(50):
        try:
            geo = _build_geometry(r_geo, p, n)
            units = geo.units
            _assign_ids(p, geo)
            ordered = sorted(units, key=lambda u: u.unit_id)
            mainland = [u for u in ordered if u.bank != 2]
            names = _unit_names(r_units, p, len(mainland))
            for u, nm in zip(mainland, names):
                u.name = nm
            vs = _draw_voters(r_units, p, len(mainland))
            for u, v in zip(mainland, vs):
                u.voters = v
                u.sparse = p.sparse_all
            if geo.island is not None:
                isl = units[geo.island]
                pool = RURAL_ISLAND if kind == "rural" else URBAN_ISLAND
                nm = pool[int(r_units.integers(len(pool)))]
                isl.name = f"Xóm {nm}" if kind == "rural" else f"Tổ dân phố {nm}"
                lo, hi = p.island_voters
                isl.voters = int(r_units.integers(lo, hi + 1))
                isl.sparse = True

            # electoral units over touching + bridge adjacency
            graph = nx.Graph()
            graph.add_nodes_from(u.idx for u in mainland)
            graph.add_edges_from(geo.adjacency)
            graph.add_edges_from((br.a, br.b) for br in geo.bridges)
            total = sum(u.voters for u in mainland)
            k = p.n_eu
            while k > 1 and (total / k < (1400 if kind != "mountain" else 700) or len(mainland) < 3 * k):
                k -= 1
            _grow_eus(r_units, units, graph, k)
            if geo.island is not None:
                units[geo.island].eu = units[geo.ferry_to].eu
            for e in range(k):
                ev = sum(u.voters for u in units if u.eu == e)
                if kind != "mountain" and ev < 1200 and k > 1:
                    raise _Retry("electoral unit too small")

            roads = _build_roads(r_roads, p, geo)

            # commune hall: on the main road, near the middle of the commune
            main_units = set()
            for rd in roads:
                if rd.highway in ("primary",) or (kind == "mountain" and rd.highway == "secondary" and not rd.bridge):
                    for c in (rd.coords[0], rd.coords[-1]):
                        for u in mainland:
                            if abs(u.centre.x - c[0]) < 1e-6 and abs(u.centre.y - c[1]) < 1e-6:
                                main_units.add(u.idx)
            cen = geo.outline.centroid
            hall_pool = [u for u in mainland if u.idx in main_units] or mainland
            hall = min(hall_pool, key=lambda u: (u.centre.distance(cen), u.unit_id)).idx

            taken: list[Point] = []
            facilities = _make_facilities(r_sites, p, geo, commune, taken)
            sites = _make_sites(r_sites, p, geo, commune, hall, facilities, taken)
            break
        except _Retry:
            continue
    else:
        raise RuntimeError("could not generate a commune; try another seed")

    people = _make_registry(r_reg, p, units, facilities) if with_registry else []
    if with_registry:
        # the voters properties are the counts of the registry (they already agree)
        cnt: dict[str, int] = {}
        fcnt: dict[str, int] = {}
        for pr in people:
            if _is_eligible(pr):
                if pr.facility:
                    fcnt[pr.facility] = fcnt.get(pr.facility, 0) + 1
                else:
                    cnt[pr.unit] = cnt.get(pr.unit, 0) + 1
        for u in units:
            assert cnt.get(u.unit_id, 0) == u.voters, (u.unit_id, cnt.get(u.unit_id), u.voters)
        for f in facilities:
            assert fcnt.get(f.ident, 0) == f.voters, (f.ident, fcnt.get(f.ident), f.voters)

    for u in units:
        if u.voters > 4000:
            raise AssertionError("unit above 4000 voters")

    # ---- write ----------------------------------------------------------
    out.mkdir(parents=True, exist_ok=True)
    if overwrite:
        for fn in SCENARIO_FILES:
            (out / fn).unlink(missing_ok=True)

    eu_codes = {e: f"X-{e + 1:02d}" for e in sorted({u.eu for u in units})}
    label = "Phường" if kind == "urban" else "Xã"
    toml = (
        f"# Synthetic commune made by pollplan_data.generator (kind={kind}, seed={seed}"
        + (f", units={n_units}" if n_units is not None else "")
        + "). Not real data.\n"
        "[scenario]\n"
        f"name = {_toml_str(f'{label} {commune} (mô phỏng)')}\n"
        f'commune_code = "{commune_code:05d}"\n'
        f'election_date = "{ELECTION_DATE.isoformat()}"\n'
        "\n[rules]\n"
        "min_voters = 300\n"
        "max_voters = 4000\n"
    )
    (out / "scenario.toml").write_text(toml, encoding="utf-8", newline="\n")

    feats = []
    for u in sorted(units, key=lambda u: u.unit_id):
        props = {
            "unit_id": u.unit_id,
            "name": u.name,
            "voters": u.voters,
            "eu_na": eu_na,
            "eu_province": eu_prov,
            "eu_commune": eu_codes[u.eu],
            "sparse": bool(u.sparse),
        }
        feats.append(_feature({"type": "Polygon", "coordinates": proj.polygon(u.poly)}, props))
    _write_fc(out / "units.geojson", feats, "units")

    feats = []
    for s in sites:
        props = {"site_id": s.ident, "name": s.name, "capacity": s.capacity, "kind": s.kind,
                 "accessible": bool(s.accessible)}
        feats.append(_feature({"type": "Point", "coordinates": proj.point(s.pt)}, props))
    _write_fc(out / "sites.geojson", feats, "sites")

    feats = []
    for f in facilities:
        props = {"facility_id": f.ident, "name": f.name, "kind": f.kind, "voters": f.voters}
        feats.append(_feature({"type": "Point", "coordinates": proj.point(f.pt)}, props))
    _write_fc(out / "facilities.geojson", feats, "facilities")

    links = []
    for br in geo.bridges:
        a, b = sorted([units[br.a].unit_id, units[br.b].unit_id])
        links.append((a, b, "bridge"))
    if geo.island is not None:
        a, b = sorted([units[geo.island].unit_id, units[geo.ferry_to].unit_id])
        links.append((a, b, "ferry"))
    links.sort()
    with open(out / "links.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write(_csv_line(["unit_a", "unit_b", "kind"]))
        for row in links:
            fh.write(_csv_line(row))

    feats = []
    rank = {"primary": 0, "secondary": 1, "tertiary": 2, "residential": 3, "track": 4}
    road_rows = []
    for rd in roads:
        coords = proj.coords(rd.coords)
        road_rows.append((rank[rd.highway], coords, rd))
    road_rows.sort(key=lambda t: (t[0], t[1]))
    for _r, coords, rd in road_rows:
        props: dict = {"highway": rd.highway}
        if rd.speed is not None:
            props["speed_kmh"] = rd.speed
        props["bridge"] = bool(rd.bridge)
        feats.append(_feature({"type": "LineString", "coordinates": coords}, props))
    _write_fc(out / "roads.geojson", feats, "roads")

    if with_registry:
        with open(out / "voters.csv", "w", encoding="utf-8", newline="") as fh:
            fh.write(_csv_line(["citizen_id", "full_name", "date_of_birth", "sex", "unit_id",
                                "residence", "status", "facility_id", "temp_registered"]))
            for pr in people:
                fh.write(_csv_line([
                    pr.citizen_id, pr.full_name, pr.dob_text, pr.sex, pr.unit, pr.residence,
                    pr.status, pr.facility,
                    pr.temp_registered.isoformat() if pr.temp_registered else "",
                ]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pollplan_data.generator",
        description="Write a deterministic synthetic Vietnamese commune scenario folder.",
    )
    ap.add_argument("out", type=pathlib.Path, help="scenario folder to create")
    ap.add_argument("--kind", choices=sorted(KINDS), default="rural")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--units", type=int, default=None,
                    help="number of mainland units (default: 46 rural, 60 urban, 36 mountain)")
    ap.add_argument("--no-registry", action="store_true", help="do not write voters.csv")
    ap.add_argument("--overwrite", action="store_true", help="replace the scenario files of a non-empty folder")
    args = ap.parse_args(argv)
    try:
        path = generate_commune(args.out, kind=args.kind, seed=args.seed, n_units=args.units,
                                with_registry=not args.no_registry, overwrite=args.overwrite)
    except (FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

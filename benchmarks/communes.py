"""Generated communes for the benchmark, and the "one area per village" baseline of manual practice.

The communes come from ``pollplan_data.generator`` (kinds rural, urban, mountain) and go through
the planner's own path (``load_scenario`` then ``build_problem``), so the benchmark solves exactly
what a user's scenario would produce. Everything is written to a temporary folder; nothing is
kept in the repository.

The 1,000-block urban ward: the generator makes at most 400 units, so we generate the default
urban ward (60 tổ dân phố + the river island, about 40,000 voters) and split each unit into
blocks (clipped Voronoi cells of well-spread points, a few Lloyd steps) until there are exactly
1,000 blocks; voters are shared out by block area with some noise, links (bridges, ferry) are
moved to the facing blocks. Then only 60 candidate sites are kept, the 60 best spread
(farthest-point order from the site nearest the centre of all sites).

The baseline mimics how areas are drawn by hand: every unit (village) with a site is its own
area at its nearest in-unit site; units without a site join the touching area whose site is
nearest (growing outwards, nearest first, within the electoral group, while capacity allows);
then areas below the minimum (unless all their units are sparse) merge into the touching area
that adds the least travel. Our plan is solved with the same number of areas, so the travel
saved is a like-for-like comparison (same number of polling stations to staff).
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from benchmarks.checks import check_assignment
from benchmarks.instances import Instance
from solver.parts import precheck, split_parts
from solver.problem import PlanningProblem, travel_objective

FAMILY = "communes"
OBJECTIVE_NOTE = ("voter-km: sum of voters x straight-line km from each unit's population point to its "
                  "site; the number of areas is fixed to the baseline's")


@dataclass(frozen=True)
class CommuneSpec:
    """How to generate one commune: generator kind, seed and number of mainland units."""

    name: str
    kind: str
    seed: int
    n_units: int | None  # None: the kind's default


#: Communes of 30-80 units (rural and urban get one more unit, the river islet).
COMMUNES: tuple[CommuneSpec, ...] = (
    CommuneSpec("rural-30", "rural", 1, 30),
    CommuneSpec("mountain-36", "mountain", 1, None),
    CommuneSpec("urban-40", "urban", 2, 40),
    CommuneSpec("rural-46-demo", "rural", 2026, None),  # the committed demo commune
    CommuneSpec("mountain-60", "mountain", 2, 60),
    CommuneSpec("urban-60", "urban", 1, None),
    CommuneSpec("rural-79", "rural", 3, 79),
)
QUICK_COMMUNES = ("rural-30", "mountain-36")

WARD_NAME = "urban-ward-1000"
WARD_BLOCKS = 1000
WARD_SITES = 60
WARD_SEED = 7


@dataclass(frozen=True)
class Baseline:
    """The manual-practice plan: its assignment, areas, travel and whether it keeps every rule."""

    assignment: np.ndarray
    areas: int
    travel: float
    violations: tuple[str, ...]


@dataclass(frozen=True)
class CommuneCase:
    """A generated commune ready to solve (``instance.problem.areas`` = the baseline's count)."""

    instance: Instance
    baseline: Baseline
    notes: str


# --------------------------------------------------------------------------------------------
# generation
# --------------------------------------------------------------------------------------------

def _scenario_problem(folder: Path) -> PlanningProblem:
    """The planner's own path: validate the folder, then build the solver arrays."""
    from planner.pipeline import SolveOptions, build_problem
    from planner.validation import load_scenario

    scenario = load_scenario(folder)
    problem, _ = build_problem(scenario, SolveOptions())
    return problem


def generate_problem(spec: CommuneSpec, workdir: Path) -> PlanningProblem:
    """Generate the commune into ``workdir/<name>`` and return its PlanningProblem."""
    from pollplan_data.generator import generate_commune

    folder = workdir / spec.name
    generate_commune(folder, kind=spec.kind, seed=spec.seed, n_units=spec.n_units, with_registry=False,
                     overwrite=True)
    return _scenario_problem(folder)


def _split_counts(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers >= 1 proportional to ``weights`` summing to ``total`` (largest remainder)."""
    n = len(weights)
    share = weights / weights.sum() * (total - n)
    counts = np.floor(share).astype(int) + 1
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    for i in order[: total - int(counts.sum())]:
        counts[i] += 1
    return counts


def _share(weights: np.ndarray, total: int) -> np.ndarray:
    """Non-negative integers proportional to ``weights`` summing to ``total`` (largest remainder)."""
    share = weights / weights.sum() * total
    counts = np.floor(share).astype(int)
    order = np.argsort(-(share - counts), kind="stable")
    for i in order[: total - int(counts.sum())]:
        counts[i] += 1
    return counts


def _blocks_of(polygon, k: int, rng: np.random.Generator) -> list:
    """Split a polygon into ``k`` connected pieces: clipped Voronoi cells after a few Lloyd steps."""
    import shapely
    from shapely.geometry import MultiPoint, Point

    if k <= 1:
        return [polygon]
    minx, miny, maxx, maxy = polygon.bounds
    seeds: list = []
    while len(seeds) < k:
        xs = rng.uniform(minx, maxx, 4 * k)
        ys = rng.uniform(miny, maxy, 4 * k)
        seeds.extend(p for p in (Point(x, y) for x, y in zip(xs, ys)) if polygon.contains(p))
    seeds = seeds[:k]
    cells: list = []
    for _ in range(4):  # Lloyd iterations: even, compact blocks
        regions = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=polygon)
        cells = []
        for seed in seeds:
            region = next(r for r in regions.geoms if r.covers(seed))
            cells.append(region.intersection(polygon))
        seeds = [c.centroid if c.centroid.within(polygon) else c.representative_point() for c in cells]
    return _connected_pieces(cells)


def _connected_pieces(cells: list) -> list:
    """Make every cell one polygon: stray pieces join the touching cell with the longest border."""
    from shapely.ops import unary_union

    main: list = []
    strays: list[tuple[int, Any]] = []
    for index, cell in enumerate(cells):
        parts = [g for g in getattr(cell, "geoms", [cell]) if g.geom_type == "Polygon" and g.area > 0]
        parts.sort(key=lambda g: -g.area)
        main.append(parts[0])
        strays.extend((index, g) for g in parts[1:])
    for _, piece in strays:
        best = max(range(len(main)), key=lambda i: main[i].buffer(0.01).intersection(piece.boundary).length)
        main[best] = unary_union([main[best], piece])
    return main


def make_ward(workdir: Path, *, blocks: int = WARD_BLOCKS, seed: int = WARD_SEED) -> Path:
    """Write the 1,000-block urban ward scenario into ``workdir/ward`` (see the module docstring)."""
    import geopandas as gpd
    import pandas as pd
    from pollplan_data.generator import generate_commune

    source = workdir / "ward-source"
    generate_commune(source, kind="urban", seed=seed, n_units=None, with_registry=False, overwrite=True)
    target = workdir / "ward"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("scenario.toml", "sites.geojson", "facilities.geojson", "roads.geojson"):
        shutil.copy(source / name, target / name)
    units = gpd.read_file(source / "units.geojson")
    metric = units.estimate_utm_crs()
    projected = units.to_crs(metric)
    rng = np.random.default_rng(seed)
    counts = _split_counts(projected["voters"].to_numpy(dtype=float), blocks)
    rows = []
    block_ids: dict[str, list[tuple[str, Any]]] = {}
    for (_, unit), k in zip(projected.iterrows(), counts.tolist()):
        pieces = _blocks_of(unit.geometry, int(k), rng)
        areas = np.array([p.area for p in pieces]) * rng.lognormal(0.0, 0.3, len(pieces))
        voters = _share(areas, int(unit["voters"]))
        for index, (piece, count) in enumerate(zip(pieces, voters.tolist())):
            block_id = f"{unit['unit_id']}-{index + 1:02d}"
            block_ids.setdefault(unit["unit_id"], []).append((block_id, piece))
            rows.append({"unit_id": block_id, "name": f"{unit['name']}, khối {index + 1}", "voters": int(count),
                         "eu_na": unit["eu_na"], "eu_province": unit["eu_province"],
                         "eu_commune": unit["eu_commune"], "sparse": bool(unit["sparse"]), "geometry": piece})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=metric).to_crs(4326)
    features = [{"type": "Feature", "properties": {k: r[k] for k in ("unit_id", "name", "voters", "eu_na",
                                                                     "eu_province", "eu_commune", "sparse")},
                 "geometry": json.loads(gpd.GeoSeries([r.geometry], crs=4326).to_json())["features"][0]["geometry"]}
                for _, r in frame.iterrows()]
    (target / "units.geojson").write_text(json.dumps({"type": "FeatureCollection", "name": "units",
                                                      "features": features}, ensure_ascii=False))
    links = pd.read_csv(source / "links.csv", dtype=str)
    unit_geom = dict(zip(projected["unit_id"], projected.geometry))

    def facing(unit_id: str, other: str) -> str:
        return min(block_ids[unit_id], key=lambda b: b[1].distance(unit_geom[other]))[0]

    links["unit_a"], links["unit_b"] = ([facing(a, b) for a, b in zip(links["unit_a"], links["unit_b"])],
                                        [facing(b, a) for a, b in zip(links["unit_a"], links["unit_b"])])
    links.to_csv(target / "links.csv", index=False)
    return target


def spread_sites(xy: np.ndarray, count: int) -> list[int]:
    """``count`` well-spread site indices: farthest-point order from the site nearest the centre."""
    if count >= len(xy):
        return list(range(len(xy)))
    first = int(np.argmin(((xy - xy.mean(axis=0)) ** 2).sum(axis=1)))
    return _farthest_first(first, lambda i: np.sqrt(((xy - xy[i]) ** 2).sum(axis=1)), count)


def _farthest_first(first: int, distance_from: Callable[[int], np.ndarray], count: int) -> list[int]:
    """``count`` indices, sorted: ``first``, then each time the one farthest from all chosen so far."""
    chosen = [first]
    nearest = distance_from(first).copy()
    while len(chosen) < count:
        pick = int(np.argmax(nearest))  # first index among ties
        chosen.append(pick)
        nearest = np.minimum(nearest, distance_from(pick))
    return sorted(chosen)


def keep_sites(problem: PlanningProblem, keep: list[int]) -> PlanningProblem:
    """The same problem with only the candidate sites ``keep`` (no locks are carried over)."""
    return dataclasses.replace(
        problem, site_ids=tuple(problem.site_ids[j] for j in keep), site_unit=problem.site_unit[keep],
        capacity=problem.capacity[keep], distance=problem.distance[:, keep], pinned={},
        forced_open=frozenset(), forced_closed=frozenset(), previous={})


def ward_problem(workdir: Path) -> tuple[PlanningProblem, str]:
    """The 1,000-block ward restricted to its 60 best-spread sites, and notes on how it was made."""
    from planner.validation import load_scenario

    folder = make_ward(workdir)
    problem = _scenario_problem(folder)
    scenario = load_scenario(folder)
    xy = np.column_stack([scenario.sites.geometry.x.to_numpy(), scenario.sites.geometry.y.to_numpy()])
    keep = spread_sites(xy, WARD_SITES)
    restricted = keep_sites(problem, keep)
    notes = (f"default urban ward (seed {WARD_SEED}) split into {problem.n_units} blocks (generator caps "
             f"n_units at 400); {len(keep)} of {problem.n_sites} sites kept (farthest-point spread)")
    if precheck(restricted, split_parts(restricted)):
        restricted = dataclasses.replace(restricted, group=np.zeros(restricted.n_units, dtype=int),
                                         group_labels=("all",))
        notes += "; some electoral unit had no kept site, so all blocks were put in one group"
    return restricted, notes


# --------------------------------------------------------------------------------------------
# the manual-practice baseline
# --------------------------------------------------------------------------------------------

def baseline_plan(problem: PlanningProblem) -> Baseline:
    """One area per village with a site, the others attached, the small ones merged (module docstring)."""
    n = problem.n_units
    cap = np.minimum(problem.capacity, problem.max_voters).astype(np.int64)
    weights = problem.weights.astype(np.int64)
    assignment = np.full(n, -1, dtype=int)
    sites_in: dict[int, list[int]] = {}
    for j, u in enumerate(problem.site_unit.tolist()):
        sites_in.setdefault(int(u), []).append(j)
    load: dict[int, int] = {}
    for u, sites in sites_in.items():
        best = min(sites, key=lambda j: (problem.distance[u, j], j))
        assignment[u] = best
        load[best] = int(weights[u])
    _grow(problem, assignment, load, cap, respect_capacity=True)
    _grow(problem, assignment, load, cap, respect_capacity=False)
    _merge_small(problem, assignment, load, cap)
    if (assignment < 0).any():
        return Baseline(assignment, len(set(assignment[assignment >= 0].tolist())), float("nan"),
                        (f"{int((assignment < 0).sum())} units reach no area",))
    areas = len(set(assignment.tolist()))
    fixed = dataclasses.replace(problem, areas=areas)
    return Baseline(assignment, areas, travel_objective(problem, assignment),
                    tuple(check_assignment(fixed, assignment)))


def _grow(problem: PlanningProblem, assignment: np.ndarray, load: dict[int, int], cap: np.ndarray, *,
          respect_capacity: bool) -> None:
    """Attach unassigned units to touching areas of their group, nearest site first."""
    heap: list[tuple[float, int, int]] = []

    def push_neighbours(u: int) -> None:
        site = int(assignment[u])
        for v in problem.neighbours[u]:
            if assignment[v] < 0 and problem.group[v] == problem.group[u]:
                heapq.heappush(heap, (float(problem.distance[v, site]), v, site))

    for u in np.flatnonzero(assignment >= 0).tolist():
        push_neighbours(u)
    while heap:
        _, v, site = heapq.heappop(heap)
        if assignment[v] >= 0:
            continue
        if respect_capacity and load[site] + int(problem.weights[v]) > int(cap[site]):
            continue
        assignment[v] = site
        load[site] += int(problem.weights[v])
        push_neighbours(v)


def _merge_small(problem: PlanningProblem, assignment: np.ndarray, load: dict[int, int], cap: np.ndarray) -> None:
    """Merge each area below the minimum (not all sparse) into the touching area adding least travel."""
    while True:
        members: dict[int, list[int]] = {}
        for u, s in enumerate(assignment.tolist()):
            if s >= 0:
                members.setdefault(s, []).append(u)
        small = sorted((load[s], s) for s, units in members.items()
                       if load[s] < problem.min_voters and not bool(problem.sparse[units].all()))
        merged = False
        for _, site in small:
            units = members[site]
            touching = {int(assignment[v]) for u in units for v in problem.neighbours[u]
                        if assignment[v] >= 0 and int(assignment[v]) != site and problem.group[v] == problem.group[u]}
            if not touching:
                continue
            # prefer an area with room left, then the least added travel
            ranked = [(load[other] + load[site] > int(cap[other]),
                       float((problem.cost_w[units] * problem.distance[units, other]).sum()), other)
                      for other in sorted(touching)]
            target = min(ranked)[2]
            assignment[units] = target
            load[target] += load.pop(site)
            merged = True
            break  # recompute the areas after each merge
        if not merged:
            return


# --------------------------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------------------------

def _case(name: str, problem: PlanningProblem, notes: str) -> CommuneCase:
    base = baseline_plan(problem)
    fixed = dataclasses.replace(problem, areas=base.areas)
    site_units = len(set(problem.site_unit.tolist()))
    if base.areas == site_units == problem.n_units:
        notes += "; every unit has a site, so at the baseline's count the plan is forced (one area per unit)"
    elif base.areas == site_units:
        notes += ("; at the baseline's count every unit with a site is an area: only where the units "
                  "without a site go is chosen")
    instance = Instance(FAMILY, name, fixed, None, "none", OBJECTIVE_NOTE)
    return CommuneCase(instance, base, notes)


def commune_cases(names: tuple[str, ...] | None = None, *, ward: bool = True,
                  workdir: Path | None = None) -> list[CommuneCase]:
    """The generated communes (``names`` filters the 30-80-unit ones) and, with ``ward``, the 1,000-block ward."""
    own = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="pollplan-bench-")) if workdir is None else workdir
    try:
        cases = []
        for spec in COMMUNES:
            if names is not None and spec.name not in names:
                continue
            problem = generate_problem(spec, folder)
            units = "default" if spec.n_units is None else str(spec.n_units)
            cases.append(_case(spec.name, problem, f"generator kind={spec.kind} seed={spec.seed} "
                                                   f"n_units={units}; {problem.n_units} units"))
        if ward:
            problem, notes = ward_problem(folder)
            cases.append(_case(WARD_NAME, problem, notes))
        return cases
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# the 49-unit commune, with spopt beside us
# --------------------------------------------------------------------------------------------

#: The issue's comparison: "on a 49-unit, 41-site commune with 12 areas, spopt needs about 50 s where
#: a plain CP-SAT model needs about 15 s: beat both". Urban communes of 48 mainland units and the
#: islet (49 units), 41 of their sites kept, 12 areas; without contiguity and in one electoral group,
#: since spopt's PMedian has neither. Seed 2 is the hard one: its 12 largest sites hold 32,500 places
#: for 32,222 voters (0.9% slack).
PEER_FAMILY = "cpmp-commune"
PEER_SEEDS = (1, 2, 4)
PEER_UNITS = 48
PEER_SITES = 41
PEER_AREAS = 12
PEER_NOTE = ("voter-km (voters x straight-line km to the site); generated urban commune, 49 units, "
             f"{PEER_SITES} sites (farthest-point spread), {PEER_AREAS} areas, no contiguity and one electoral "
             "group (spopt has neither): the issue's 49-unit comparison")


def spread_by_distance(problem: PlanningProblem, count: int) -> list[int]:
    """``count`` well-spread sites by the site-to-site distances: farthest-point order from the most central."""
    if count >= problem.n_sites:
        return list(range(problem.n_sites))
    between = problem.distance[problem.site_unit, :]
    return _farthest_first(int(np.argmin(between.sum(axis=1))), lambda i: between[i], count)


def peer_instances(names: Sequence[str] | None = None) -> list[Instance]:
    """The issue's 49-unit communes as CPMP instances (no best-known value: generated here)."""
    folder = Path(tempfile.mkdtemp(prefix="pollplan-bench-"))
    try:
        out = []
        for seed in PEER_SEEDS:
            name = f"urban-49-seed{seed}"
            if names and name not in names:
                continue
            generated = generate_problem(CommuneSpec(name, "urban", seed, PEER_UNITS), folder)
            problem = keep_sites(generated, spread_by_distance(generated, PEER_SITES))
            flat = dataclasses.replace(problem, areas=PEER_AREAS, contiguity=False,
                                       group=np.zeros(problem.n_units, dtype=int), group_labels=("commune",))
            out.append(Instance(PEER_FAMILY, name, flat, None, "none", PEER_NOTE))
        return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


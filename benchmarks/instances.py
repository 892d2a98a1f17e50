"""Parsers for the external benchmark families in ``shared/benchmarks`` (never copied into the repo).

Each family function reads the files of one folder and returns :class:`Instance` objects whose
``problem`` is a :class:`solver.PlanningProblem` and whose ``known`` value is on the same scale
as ``SolveResult.objective``, so the runner can compare them directly. The conventions (distance
rounding, objective weights, scale factors) follow each folder's README exactly; they are
written out in ``objective_note`` so every row of the results says what was compared.

When the benchmark folder is absent every function returns ``[]`` (the runner then prints a
skip message), so the harness also works on a machine without ``shared/``.

Why these choices:

* CPMP families (Osman–Christofides, Lorena–Senne, Stefanello): the literature objective is the
  plain sum of distances, not demand-weighted, so ``cost_weights`` is all ones and the demand is
  only the capacity load (``weights``). Every point is a candidate median that serves itself
  (our model's ``x[site_unit, j] == y[j]``). Contiguity is off; ``neighbours`` is still given
  (the 8 nearest points, symmetrised) because the solver's large-neighbourhood search picks
  "touching" areas through it. It is no constraint.
* Validi et al.: Hess objective ``1e-6 * sum_i p_i * d_ij**2`` with ``d`` in integer km. We set
  ``distance = d**2`` (km^2) and ``cost_weights = p * 1e-6``, so our objective equals the published
  value without any further conversion.
* Zhang et al.: ``sum_i p_i * h(i, j)`` with ``h`` the BFS hop count in the whole county graph.
"""

from __future__ import annotations

import csv
import math
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from solver.problem import PlanningProblem, travel_objective

#: Kinds of reference value an instance may carry.
KNOWN_KINDS = ("optimal", "best-known", "infeasible", "open", "none")


def default_root() -> Path:
    """Where the benchmark files are: ``$POLLPLAN_BENCHMARKS`` or ``shared/benchmarks`` beside the repo."""
    env = os.environ.get("POLLPLAN_BENCHMARKS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "benchmarks"


@dataclass(frozen=True)
class Instance:
    """One benchmark instance: the solver's problem and the literature's value for it.

    ``known`` is on the scale of ``SolveResult.objective`` (``None`` when there is no value:
    infeasible, open, or our own generated instances). ``known_kind`` is one of
    :data:`KNOWN_KINDS`; ``objective_note`` says which objective and distance convention the
    value refers to, and where it comes from.
    """

    family: str
    name: str
    problem: PlanningProblem
    known: float | None
    known_kind: str
    objective_note: str
    #: The publication's own solve time in seconds (its machine and solver), when it gives one.
    paper_seconds: float | None = None
    #: Unit coordinates (projected metres, or lon/lat), for peers that need them.
    xy: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def size(self) -> str:
        """Short size description for the tables: units, candidate sites, areas."""
        p = self.problem
        return f"n={p.n_units} sites={p.n_sites} p={p.areas}"


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------

def _tokens(path: Path) -> list[str]:
    return path.read_text().split()


def _euclidean(xy: np.ndarray) -> np.ndarray:
    diff = xy[:, None, :] - xy[None, :, :]
    return np.sqrt((diff ** 2).sum(axis=2))


def nearest_neighbours(xy: np.ndarray, k: int = 8) -> tuple[tuple[int, ...], ...]:
    """Symmetrised k-nearest-neighbour lists of points (ties broken by index).

    Used as ``neighbours`` of non-contiguous instances: not a constraint there, but the large-
    neighbourhood search of the solver chooses nearby areas through adjacency.
    """
    from scipy.spatial import cKDTree

    n = len(xy)
    if n < 2:
        return tuple(() for _ in range(n))
    tree = cKDTree(xy)
    _, idx = tree.query(xy, k=min(k + 1, n))
    sets: list[set[int]] = [set() for _ in range(n)]
    for i in range(n):
        for j in np.atleast_1d(idx[i]).tolist():
            if j != i and j < n:
                sets[i].add(int(j))
                sets[int(j)].add(i)
    return tuple(tuple(sorted(s)) for s in sets)


def _cpmp_problem(xy: np.ndarray, demand: np.ndarray, capacity: np.ndarray, p: int,
                  distance: np.ndarray) -> PlanningProblem:
    """The standard CPMP as a PlanningProblem: every point a candidate median serving itself,
    unweighted objective, capacity per median, no contiguity, no lower bound."""
    return every_unit_a_site(demand, nearest_neighbours(xy), capacity, distance, min_voters=0,
                             max_voters=int(capacity.max()), areas=int(p),
                             cost_weights=np.ones(len(demand), dtype=float), contiguity=False)


def every_unit_a_site(weights: np.ndarray, neighbours: tuple[tuple[int, ...], ...], capacity: np.ndarray,
                      distance: np.ndarray, **rules) -> PlanningProblem:
    """A literature instance as a PlanningProblem: one group, every unit a candidate site standing
    in itself; ``rules`` are the remaining PlanningProblem fields (bounds, areas, weights, ...)."""
    n = len(weights)
    ids = tuple(str(i) for i in range(n))
    return PlanningProblem(unit_ids=ids, weights=weights.astype(np.int64), sparse=np.zeros(n, dtype=bool),
                           group=np.zeros(n, dtype=int), group_labels=("all",), neighbours=neighbours,
                           site_ids=ids, site_unit=np.arange(n, dtype=int), capacity=capacity.astype(np.int64),
                           distance=distance, **rules)


def _selected(name: str, names: Iterable[str] | None) -> bool:
    return names is None or name in set(names)


# --------------------------------------------------------------------------------------------
# Osman & Christofides (OR-Library pmedcap1)
# --------------------------------------------------------------------------------------------

OC_FOLDER = "cpmp-osman-christofides"
OC_NOTE = ("sum of floor(Euclidean) distances, not demand-weighted; demand counts against capacity Q "
           "(OR-Library pmedcap1, Osman & Christofides 1994; value = proven optimum)")


def parse_osman_christofides(path: Path) -> Instance:
    """One ``pmedcap1-NN.txt`` file: ``id best / n p Q / n lines k x y q``; d = floor(Euclidean)."""
    tokens = _tokens(path)
    best = float(tokens[1])
    n, p, q_cap = int(tokens[2]), int(tokens[3]), int(tokens[4])
    rows = np.array(tokens[5:5 + 4 * n], dtype=float).reshape(n, 4)
    xy = rows[:, 1:3]
    demand = rows[:, 3].astype(np.int64)
    distance = np.floor(_euclidean(xy) + 1e-9)  # sqrt of a perfect square is exact; guard anyway
    problem = _cpmp_problem(xy, demand, np.full(n, q_cap, dtype=np.int64), p, distance)
    return Instance(OC_FOLDER, path.stem, problem, best, "optimal", OC_NOTE)


def osman_christofides(root: Path | None = None, names: Iterable[str] | None = None) -> list[Instance]:
    """The 20 Osman–Christofides instances (``names``: e.g. ``["pmedcap1-01"]``; None = all)."""
    folder = (root or default_root()) / OC_FOLDER
    if not folder.is_dir():
        return []
    return [parse_osman_christofides(f) for f in sorted(folder.glob("pmedcap1-*.txt")) if _selected(f.stem, names)]


# --------------------------------------------------------------------------------------------
# Lorena & Senne (SJC, p3038) and Stefanello et al. (same file format)
# --------------------------------------------------------------------------------------------

SJC_FOLDER = "cpmp-sjc"
#: Best-known values of cpmp-sjc/README.md (column "best known", source [A]).
SJC_BEST = {
    "SJC1": 17288.99, "SJC2": 33270.94, "SJC3a": 45335.16, "SJC3b": 40635.90, "SJC4a": 61925.51,
    "SJC4b": 52458.02, "p3038_600": 122711.17, "p3038_700": 109677.30, "p3038_800": 100064.94,
    "p3038_900": 92310.09, "p3038_1000": 85854.05,
}
SJC_NOTE = ("sum of real Euclidean distances, not demand-weighted (Lorena & Senne 2004; value = "
            "best known, CO-Bench reference table, SJC widely quoted as optimal)")

STEFANELLO_FOLDER = "cpmp-stefanello"
#: The README's suggested reference "ref" = min(S2015, CO-Bench).
STEFANELLO_REF = {
    "lin318_005": 180281.20, "lin318_015": 88901.56, "lin318_040": 47988.38, "lin318_070": 32198.64,
    "lin318_100": 22942.69, "ali535_005": 9956.77, "ali535_025": 3695.15, "ali535_050": 2461.41,
    "ali535_100": 1438.42, "ali535_150": 1032.28, "u724_010": 181782.96, "u724_030": 95034.01,
    "u724_075": 54735.05, "u724_125": 38976.76, "u724_200": 28079.97, "rl1304_010": 2146252.17,
    "rl1304_050": 802283.41, "rl1304_100": 495925.93, "rl1304_200": 276977.60, "rl1304_300": 191224.85,
    "pr2392_020": 2231212.52, "pr2392_075": 1091982.77, "pr2392_150": 711111.25, "pr2392_300": 458145.29,
    "pr2392_500": 316042.97, "fnl4461_0020": 1283536.73, "fnl4461_0100": 548909.01,
    "fnl4461_0250": 335888.87, "fnl4461_0500": 224662.49, "fnl4461_1000": 145862.38,
}
STEFANELLO_NOTE = ("sum of real Euclidean distances, not demand-weighted (Stefanello et al. 2015; value = "
                   "README 'ref' = min(S2015, CO-Bench), best known, not verified)")


def parse_lorena_senne_format(path: Path, family: str, known: float | None, note: str) -> Instance:
    """``n p / n lines x y Q q`` (tabs or spaces), real Euclidean distances."""
    tokens = _tokens(path)
    n, p = int(tokens[0]), int(tokens[1])
    rows = np.array(tokens[2:2 + 4 * n], dtype=float).reshape(n, 4)
    xy = rows[:, 0:2]
    capacity = rows[:, 2].astype(np.int64)
    demand = rows[:, 3].astype(np.int64)
    if not np.allclose(rows[:, 3], demand):
        raise ValueError(f"{path}: non-integer demand")
    problem = _cpmp_problem(xy, demand, capacity, p, _euclidean(xy))
    return Instance(family, path.stem, problem, known, "best-known", note)


def lorena_senne(root: Path | None = None, names: Iterable[str] | None = None,
                 max_units: int | None = None) -> list[Instance]:
    """SJC1–SJC4b and p3038_600–1000 (``max_units`` skips bigger files without reading them fully)."""
    folder = (root or default_root()) / SJC_FOLDER
    if not folder.is_dir():
        return []
    out = []
    for name in SJC_BEST:
        path = folder / f"{name}.dat"
        if not path.exists() or not _selected(name, names) or not _fits(path, max_units):
            continue
        out.append(parse_lorena_senne_format(path, SJC_FOLDER, SJC_BEST[name], SJC_NOTE))
    return out


def stefanello(root: Path | None = None, names: Iterable[str] | None = None,
               max_units: int | None = None) -> list[Instance]:
    """The 30 Stefanello et al. instances (large: use ``names`` or ``max_units``)."""
    folder = (root or default_root()) / STEFANELLO_FOLDER
    if not folder.is_dir():
        return []
    out = []
    for name, ref in STEFANELLO_REF.items():
        path = folder / f"{name}.txt"
        if not path.exists() or not _selected(name, names) or not _fits(path, max_units):
            continue
        out.append(parse_lorena_senne_format(path, STEFANELLO_FOLDER, ref, STEFANELLO_NOTE))
    return out


def _fits(path: Path, max_units: int | None) -> bool:
    if max_units is None:
        return True
    with path.open() as handle:
        first = handle.readline().split()
    return int(first[0]) <= max_units


# --------------------------------------------------------------------------------------------
# Validi, Buchanan & Lykhovyd (county districting, Hess model, 2010 census)
# --------------------------------------------------------------------------------------------

VALIDI_FOLDER = "districting-validi"
VALIDI_SCALE = 1e-6  # published objective = 1e-6 * sum p_i d_ij^2, d in km
CONTIGUITY_MODELS = ("shir", "cut", "lcut", "mcf")


@dataclass(frozen=True)
class ValidiRow:
    """The published facts of one state: bounds and the optima with and without contiguity."""

    state: str
    k: int
    lower: int
    upper: int
    free_opt: float | None  # hess model (no contiguity)
    contiguous: float | None  # best proven value over the contiguity models
    contiguous_kind: str  # optimal | infeasible | open
    contiguous_bound: float | None  # best lower bound when open
    free_seconds: float | None = None  # the paper's total time for the Hess model
    contiguous_seconds: float | None = None  # the paper's fastest contiguity model (total time)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def validi_table(root: Path | None = None) -> dict[str, ValidiRow]:
    """Read ``results/validi_buchanan_lykhovyd_counties.csv``: k, L, U and Objval per model."""
    path = (root or default_root()) / VALIDI_FOLDER / "results" / "validi_buchanan_lykhovyd_counties.csv"
    if not path.exists():
        return {}
    rows: dict[str, dict[str, dict[str, str]]] = {}
    with path.open(newline="") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        header = [h.strip().lower() for h in next(reader)]
        for record in reader:
            row = dict(zip(header, (v.strip() for v in record)))
            rows.setdefault(row["state"], {})[row["model"]] = row
    table = {}
    for state, models in rows.items():
        hess = models.get("hess")
        if hess is None:
            continue
        proven, infeasible, bounds, seconds = [], False, [], []
        for model in CONTIGUITY_MODELS:
            result = models.get(model)
            if result is None:
                continue
            value = _number(result["objval"])
            if _number(result.get("total time", "")) is not None and \
                    (result["objval"] == "infeasible" or _number(result["mipgap"]) == 0.0):
                seconds.append(float(result["total time"]))
            if result["objval"] == "infeasible":
                infeasible = True
            elif value is not None and _number(result["mipgap"]) == 0.0:
                proven.append(value)
            elif _number(result["objbound"]) is not None:
                bounds.append(float(result["objbound"]))
        if proven:
            if max(proven) - min(proven) > 0.011:
                raise ValueError(f"Validi {state}: contiguity models disagree: {proven}")
            kind, value, bound = "optimal", min(proven), None
        elif infeasible:
            kind, value, bound = "infeasible", None, None
        else:
            kind, value, bound = "open", None, max(bounds) if bounds else None
        table[state] = ValidiRow(state, int(hess["k"]), int(hess["l"]), int(hess["u"]), _number(hess["objval"]),
                                 value, kind, bound, _number(hess.get("total time", "")),
                                 min(seconds) if seconds else None)
    return table


def _read_graph(path: Path, n: int) -> tuple[tuple[int, ...], ...]:
    sets: list[set[int]] = [set() for _ in range(n)]
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        u, v = int(parts[0]), int(parts[1])
        if u != v:
            sets[u].add(v)
            sets[v].add(u)
    return tuple(tuple(sorted(s)) for s in sets)


def _read_population(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    total = int(lines[0].split("=")[1])
    pairs = [tuple(int(t) for t in line.split()) for line in lines[1:] if line.strip()]
    population = np.zeros(len(pairs), dtype=np.int64)
    for node, value in pairs:
        population[node] = value
    if int(population.sum()) != total:
        raise ValueError(f"{path}: populations sum to {population.sum()}, header says {total}")
    return population


def _districting_problem(names: Sequence[str], population: np.ndarray, neighbours: tuple[tuple[int, ...], ...],
                         distance: np.ndarray, cost_weights: np.ndarray, k: int, lower: int, upper: int,
                         contiguity: bool) -> PlanningProblem:
    """Hess districting as a PlanningProblem: every county a candidate centre, bounds L..U."""
    return every_unit_a_site(population, neighbours, np.full(len(population), upper), distance,
                             min_voters=int(lower), max_voters=int(upper), areas=int(k), unit_names=tuple(names),
                             cost_weights=cost_weights, contiguity=contiguity)


def _coordinates(path: Path, columns: tuple[str, str]) -> np.ndarray | None:
    """Unit coordinates from a ``*_nodes.csv`` (rows in node order), None when the columns are absent."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or any(c not in rows[0] for c in columns):
        return None
    out = np.zeros((len(rows), 2))
    for row in rows:
        out[int(row["node"])] = [float(row[columns[0]]), float(row[columns[1]])]
    return out


def validi_problem(root: Path, state: str, row: ValidiRow, contiguity: bool) -> PlanningProblem:
    """The state's problem: ``distance = d_km**2``, ``cost_weights = population * 1e-6``."""
    folder = root / VALIDI_FOLDER / "instances"
    population = _read_population(folder / f"{state}.population")
    n = len(population)
    matrix = np.loadtxt(folder / f"{state}_dist_km.csv", delimiter=",", skiprows=1)[:, 1:]
    if matrix.shape != (n, n):
        raise ValueError(f"{state}: distance matrix {matrix.shape} for {n} counties")
    with (folder / f"{state}_nodes.csv").open(newline="") as handle:
        names = [r["name"] for r in csv.DictReader(handle)]
    return _districting_problem(names, population, _read_graph(folder / f"{state}.graph", n), matrix ** 2,
                                population.astype(float) * VALIDI_SCALE, row.k, row.lower, row.upper, contiguity)


VALIDI_NOTE = ("Hess: 1e-6 * sum_i pop_i * d_ij^2, d = round(projected centroid distance) in km; "
               "pop in [L, U]; every county a candidate centre (Validi, Buchanan & Lykhovyd 2022)")


def validi(root: Path | None = None, names: Iterable[str] | None = None, *,
           contiguous: bool = True, free: bool = True) -> list[Instance]:
    """Validi et al. states: ``ST`` (with contiguity) and ``ST-nocontig`` (the plain Hess model).

    With contiguity, CO, NH and OR are proven infeasible (``known_kind="infeasible"``) and SC is
    open (``known_kind="open"``, the best published lower bound is in the note).
    """
    root = root or default_root()
    table = validi_table(root)
    folder = root / VALIDI_FOLDER / "instances"
    out = []
    for state in sorted(table):
        if not (folder / f"{state}.graph").exists():
            continue
        row = table[state]
        if contiguous and _selected(state, names):
            note = VALIDI_NOTE + "; contiguity"
            if row.contiguous_kind == "open" and row.contiguous_bound is not None:
                note += f"; open: no feasible plan published, best lower bound {row.contiguous_bound:.2f}"
            out.append(Instance(VALIDI_FOLDER, state, validi_problem(root, state, row, True), row.contiguous,
                                row.contiguous_kind, note, row.contiguous_seconds,
                                _coordinates(folder / f"{state}_nodes.csv", ("x_m", "y_m"))))
        if free and _selected(f"{state}-nocontig", names) and row.free_opt is not None:
            out.append(Instance(VALIDI_FOLDER, f"{state}-nocontig", validi_problem(root, state, row, False),
                                row.free_opt, "optimal", VALIDI_NOTE + "; no contiguity", row.free_seconds))
    return out


def validi_solution_objective(root: Path, instance: Instance, model: str) -> tuple[float, list[str]]:
    """Recompute a published Validi plan (``solutions/<ST>_<model>.blk``) with our arrays.

    For each district the best centre among its members is taken (argmin of sum p_i d_ij^2), as
    the README does. Returns the objective (our scale) and the violations found (bounds, count,
    contiguity), which should be none: this checks the distance/scale conversion end to end.
    """
    state = instance.name.split("-")[0]
    lines = (root / VALIDI_FOLDER / "solutions" / f"{state}_{model}.blk").read_text().split()
    labels = lines[1::2]
    return _plan_objective(instance.problem, _groups(labels))


def _groups(labels: Sequence[str]) -> list[list[int]]:
    members: dict[str, list[int]] = {}
    for node, label in enumerate(labels):
        members.setdefault(label, []).append(node)
    return list(members.values())


def _plan_objective(problem: PlanningProblem, districts: list[list[int]],
                    centres: Sequence[int] | None = None) -> tuple[float, list[str]]:
    assignment = np.full(problem.n_units, -1, dtype=int)
    for index, members in enumerate(districts):
        if centres is not None:
            centre = centres[index]
        else:
            costs = [(float((problem.cost_w[members] * problem.distance[members, c]).sum()), c) for c in members]
            centre = min(costs)[1]
        assignment[members] = centre
    from benchmarks.checks import check_assignment  # local: checks imports nothing from here

    return travel_objective(problem, assignment), check_assignment(problem, assignment)


# --------------------------------------------------------------------------------------------
# Zhang, Validi, Buchanan & Hicks (contiguous p-median with hop distances, 2020 census)
# --------------------------------------------------------------------------------------------

ZHANG_FOLDER = "districting-zhang2020"
#: state: (k, L, U, optimum) from districting-zhang2020/README.md.
ZHANG_TABLE = {
    "AL": (7, 714166, 721342, 4844289), "AR": (4, 749117, 756645, 3930146), "IA": (4, 793605, 801580, 5286772),
    "ID": (2, 914956, 924150, 3237073), "KS": (4, 730798, 738142, 4007553), "ME": (2, 677774, 684585, 1200838),
    "MS": (4, 736619, 744021, 4721804), "MT": (2, 539402, 544823, 1750471), "NE": (3, 650566, 657103, 2525974),
    "NM": (3, 702312, 709369, 1743350), "WV": (2, 892374, 901342, 3900450),
}
ZHANG_NOTE = ("sum_i pop_i * hops(i, centre), hops = BFS in the whole county graph; pop in [L, U]; "
              "contiguity (Zhang, Validi, Buchanan & Hicks 2022; proven optimum)")


def hop_distances(neighbours: Sequence[Sequence[int]]) -> np.ndarray:
    """All-pairs BFS hop counts (``inf`` between components)."""
    n = len(neighbours)
    out = np.full((n, n), np.inf)
    for source in range(n):
        out[source, source] = 0
        queue = deque([source])
        while queue:
            u = queue.popleft()
            for v in neighbours[u]:
                if math.isinf(out[source, v]):
                    out[source, v] = out[source, u] + 1
                    queue.append(v)
    return out


def zhang_paper_seconds(root: Path | None = None) -> dict[str, float]:
    """The paper's cold-start Hess times (``results/results_config_table1_*.csv``, Gurobi)."""
    folder = (root or default_root()) / ZHANG_FOLDER / "results"
    out: dict[str, float] = {}
    for path in sorted(folder.glob("results_config_table1_*.csv")):
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("Model", "").strip() == "Hess":
                    out[row["State"].strip()] = float(row["Run Time (Seconds)"])
    return out


def zhang(root: Path | None = None, names: Iterable[str] | None = None) -> list[Instance]:
    """The 11 Zhang et al. states (L and U recomputed from P and checked against the README)."""
    folder = (root or default_root()) / ZHANG_FOLDER / "instances"
    if not folder.is_dir():
        return []
    out = []
    for state, (k, lower, upper, optimum) in ZHANG_TABLE.items():
        if not _selected(state, names) or not (folder / f"{state}.graph").exists():
            continue
        population = _read_population(folder / f"{state}.population")
        total = int(population.sum())
        if (math.ceil(0.995 * total / k), math.floor(1.005 * total / k)) != (lower, upper):
            raise ValueError(f"Zhang {state}: L/U do not match the README")
        neighbours = _read_graph(folder / f"{state}.graph", len(population))
        with (folder / f"{state}_nodes.csv").open(newline="") as handle:
            names_ = [r["name"] for r in csv.DictReader(handle)]
        problem = _districting_problem(names_, population, neighbours, hop_distances(neighbours),
                                       population.astype(float), k, lower, upper, True)
        out.append(Instance(ZHANG_FOLDER, state, problem, float(optimum), "optimal", ZHANG_NOTE,
                            zhang_paper_seconds(root).get(state),
                            _coordinates(folder / f"{state}_nodes.csv", ("intpt_lon", "intpt_lat"))))
    return out


def zhang_solution_objective(root: Path, instance: Instance) -> tuple[float, list[str]]:
    """Recompute the published plan ``solutions/Hess_<ST>.json`` (its own centres) with our arrays."""
    import json

    doc = json.loads((root / ZHANG_FOLDER / "solutions" / f"Hess_{instance.name}.json").read_text())
    centres = [int(c) for c in doc["partitions"]]
    districts = [list(map(int, doc["partitions"][c])) for c in doc["partitions"]]
    return _plan_objective(instance.problem, districts, centres)


# --------------------------------------------------------------------------------------------
# reference checks: our arrays reproduce the published solutions' values
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReferenceCheck:
    """A published plan re-evaluated with our problem arrays."""

    family: str
    name: str
    source: str
    recomputed: float
    published: float
    violations: tuple[str, ...]

    @property
    def matches(self) -> bool:
        return abs(self.recomputed - self.published) <= 0.0051 + 1e-9 * abs(self.published) \
            and not self.violations


def reference_checks(instances: Sequence[Instance], root: Path | None = None) -> list[ReferenceCheck]:
    """Recompute every published Validi (hess / shir) and Zhang (Hess) solution of the given instances."""
    root = root or default_root()
    out = []
    for inst in instances:
        if inst.known is None:
            continue
        if inst.family == VALIDI_FOLDER:
            model = "hess" if inst.name.endswith("-nocontig") else "shir"
            state = inst.name.split("-")[0]
            if not (root / VALIDI_FOLDER / "solutions" / f"{state}_{model}.blk").exists():
                continue
            value, violations = validi_solution_objective(root, inst, model)
            out.append(ReferenceCheck(inst.family, inst.name, f"solutions/{state}_{model}.blk", value, inst.known,
                                      tuple(violations)))
        elif inst.family == ZHANG_FOLDER:
            value, violations = zhang_solution_objective(root, inst)
            out.append(ReferenceCheck(inst.family, inst.name, f"solutions/Hess_{inst.name}.json", value,
                                      inst.known, tuple(violations)))
    return out

"""The trade-off curve: what one more or one fewer polling area costs in voters' travel."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

import solver
from planner.findings import Finding, error
from planner.pipeline import SolveOptions, build_problem
from planner.scenario import Scenario
from solver.parts import area_count_range, split_parts

CURVE_COLUMNS = ("areas", "mean_km", "p95_km", "max_km", "travel_voter_km", "status", "gap", "seconds")


@dataclass(frozen=True)
class Curve:
    """One row per area count solved; counts with no plan in ``missing`` (reasons given once)."""

    rows: tuple[dict[str, Any], ...]
    reasons: tuple[Finding, ...] = ()
    missing: tuple[int, ...] = ()
    low: int = 0
    high: int = 0
    feasible_low: int = 0
    feasible_high: int = 0


def _percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][np.searchsorted(cumulative, q - 1e-12)])


def tradeoff_curve(scenario: Scenario, *, min_areas: int | None = None, max_areas: int | None = None,
                   time_limit: float = 10.0, seed: int = 0,
                   on_progress: Callable[[int, int, int], None] | None = None) -> Curve:
    """Solve with every feasible number of regular areas in the range; one row per count."""
    problem, _ = build_problem(scenario, SolveOptions())
    feasible_low, feasible_high = area_count_range(problem, split_parts(problem))
    low = max(feasible_low, min_areas or feasible_low)
    high = min(feasible_high, max_areas or feasible_high)
    rows: list[dict[str, Any]] = []
    reasons: list[Finding] = []
    missing: list[int] = []
    seen: set[tuple] = set()
    counts = list(range(low, high + 1))
    weights = problem.weights.astype(float)
    for done, count in enumerate(counts, start=1):
        result = solver.solve(replace(problem, areas=count, max_travel_km=None), time_limit=time_limit, seed=seed)
        if on_progress:
            on_progress(count, done, len(counts))
        if result.status in (solver.STATUS_INFEASIBLE, solver.STATUS_TIMEOUT):
            missing.append(count)
            for d in result.diagnostics:
                key = (d.code, tuple(sorted((k, str(v)) for k, v in d.params.items())))
                if key not in seen:
                    seen.add(key)
                    reasons.append(error(d.code, **d.params))
            continue
        km = problem.distance[np.arange(problem.n_units), result.assignment]
        has = weights > 0
        rows.append({"areas": count,
                     "mean_km": round(float((km * weights).sum() / weights.sum()), 4) if weights.sum() else 0.0,
                     "p95_km": round(_percentile(km, weights, 0.95), 4) if weights.sum() else 0.0,
                     "max_km": round(float(km[has].max()), 4) if has.any() else 0.0,
                     "travel_voter_km": round(float((km * weights).sum()), 3),
                     "status": result.status, "gap": None if result.gap is None else round(result.gap, 6),
                     "seconds": round(result.seconds, 3)})
    return Curve(tuple(rows), tuple(reasons), tuple(missing), low, high, feasible_low, feasible_high)


def write_curve(curve: Curve, target: Path) -> None:
    """The curve as CSV and JSON beside it, each written atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _atomic(target, lambda h: _write_csv(curve, h))
    _atomic(target.with_suffix(".json"),
            lambda h: h.write(json.dumps({"curve": list(curve.rows)}, ensure_ascii=False, indent=2) + "\n"))


def _write_csv(curve: Curve, handle) -> None:
    writer = csv.DictWriter(handle, fieldnames=list(CURVE_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(curve.rows)


def _atomic(path: Path, write: Callable[[Any], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

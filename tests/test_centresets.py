"""The search over sets of open sites (solver.centresets): its listing, its bounds, and its proofs
checked against CP-SAT on small problems with every rule."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pytest

from solver import centresets
from solver.centres import assign_sites
from solver.exact import solve_exact
from solver.parts import split_parts
from solver.problem import PlanningProblem
from solver.prune import relaxation_for, solve_pruned
from test_solver import _objective, _valid, grid_districting_problem, make_problem


def ruled_problem(seed: int) -> PlanningProblem:
    """A 4 x 5 grid with 2-4 areas and, at random, any of the rules: tight or loose voter bounds,
    small site capacities, sparse units, two electoral units, a pinned unit, a site forced open or
    closed, a previous plan to keep, contiguity on or off."""
    rng = np.random.default_rng(seed)
    width, height = 4, 5
    n = width * height
    xy = np.array([(i % width, i // width) for i in range(n)], dtype=float)
    edges = [(i, i + 1) for i in range(n) if i % width < width - 1] + [(i, i + width) for i in range(n - width)]
    weights = rng.integers(100, 300, size=n)
    sites = sorted(rng.choice(n, size=int(rng.integers(8, n + 1)), replace=False).tolist())
    distance = np.sqrt(((xy[:, None, :] - xy[None, sites, :]) ** 2).sum(axis=2)) + \
        rng.uniform(0, 0.5, size=(n, len(sites)))
    for column, unit in enumerate(sites):
        distance[unit, column] = 0.0
    areas = int(rng.integers(2, 5))
    mean = weights.sum() / areas
    spread = float(rng.choice([0.03, 0.1, 0.3]))
    groups = [0 if i % width < 2 else 1 for i in range(n)] if rng.random() < 0.3 else None
    capacity = [int(mean * (1 + spread)) if rng.random() < 0.8 else int(mean * 0.9) for _ in sites]
    sparse = [bool(rng.random() < 0.1) for _ in range(n)] if rng.random() < 0.3 else None
    rules: dict = {}
    if rng.random() < 0.3:
        rules["pinned"] = {int(rng.integers(n)): int(rng.integers(len(sites)))}
    if rng.random() < 0.3:
        rules["forced_open"] = frozenset({int(rng.integers(len(sites)))})
    if rng.random() < 0.3:
        closed = int(rng.integers(len(sites)))
        if closed not in rules.get("forced_open", ()) and closed not in rules.get("pinned", {}).values():
            rules["forced_closed"] = frozenset({closed})
    if rng.random() < 0.3:
        rules["previous"] = {u: int(rng.integers(len(sites))) for u in range(n)}
        rules["keep_weight"] = float(rng.choice([0.5, 5.0]))
    return make_problem(edges, weights.tolist(), sites, distance, groups=groups, sparse=sparse, capacity=capacity,
                        min_voters=int(mean * (1 - spread)), max_voters=int(mean * (1 + spread)), areas=areas,
                        contiguity=bool(rng.random() < 0.7), **rules)


def _search(problem: PlanningProblem, best: dict[int, int] | None = None) -> centresets.SetSearch | None:
    parts = split_parts(problem)

    def objective_of(plan: dict[int, int]) -> float:
        return _objective(problem, plan)

    relaxation = relaxation_for(problem, parts, fixed_total=problem.areas, hint=best, objective_of=objective_of,
                                time_limit=10)
    return centresets.search_sets(problem, parts, relaxation, fixed_total=problem.areas, best=best,
                                  objective_of=objective_of, deadline=time.monotonic() + 20,
                                  stopped=threading.Event(), cuts=[])


def test_list_sets_gives_every_set_under_the_limit_and_no_other() -> None:
    rng = np.random.default_rng(3)
    for _ in range(40):
        values = rng.uniform(-5, 10, size=int(rng.integers(3, 12)))
        values[rng.random(len(values)) < 0.1] = np.inf  # a site that holds no area
        k = int(rng.integers(1, 5))
        limit = float(rng.uniform(-5, 25))
        expected = {frozenset(c) for c in itertools.combinations(range(len(values)), k)
                    if values[list(c)].sum() <= limit}
        listed = centresets.list_sets(values, k, limit)
        assert listed is not None
        assert {frozenset(row) for row in listed.tolist()} == expected
        assert len(listed) == len(expected)  # each set once
        if len(expected) > 1:
            assert centresets.list_sets(values, k, limit, cap=len(expected) - 1) is None


def test_set_bounds_never_exceed_the_best_plan_on_the_set() -> None:
    # the first bound and the bound after the subgradient steps are lower bounds of the best plan
    # that opens exactly that set (served exactly, every rule, by the fixed-site MIP)
    checked = 0
    for seed in range(3):
        problem = grid_districting_problem(seed, areas=3)
        parts = split_parts(problem)
        relaxation = relaxation_for(problem, parts, fixed_total=3, hint=None,
                                    objective_of=lambda plan, problem=problem: _objective(problem, plan),
                                    time_limit=10)
        data = relaxation.data
        # the sets the search would list first (random ones are mostly hopeless, and slow to serve)
        sets = centresets.list_sets(relaxation.site_value, 3, np.inf)
        additive = relaxation.site_value[sets].sum(axis=1)
        sets = sets[np.argsort(additive, kind="stable")[:8]]
        first = centresets.first_bounds(data, sets)
        stepped, multipliers = centresets._ascend(data, sets, first.copy(), np.inf, 40)
        for row, columns in enumerate(sets.tolist()):
            sites = [int(data.sites[c]) for c in columns]
            proven: set[tuple[int, ...]] = set()
            plan = assign_sites(problem, parts, sites, time.monotonic() + 5, threading.Event(), proven=proven)
            if plan is None or not proven:
                continue
            value = _objective(problem, plan)
            assert first[row] <= value + 1e-6 * value
            assert first[row] <= stepped[row] + 1e-9 * abs(stepped[row]) and stepped[row] <= value + 1e-6 * value
            # the pairs the set's own bound keeps for plans up to its best value hold that plan
            kept = centresets.set_pairs(data, columns, multipliers[row], value)
            assert all(unit in kept[site] for unit, site in plan.items())
            checked += 1
    assert checked >= 12


def _branching_search(problem: PlanningProblem, monkeypatch: pytest.MonkeyPatch) -> centresets.SetSearch | None:
    """The search made to branch at every node (a node lists at most two sets, in narrow slices)
    and to probe, started from the construction's plan (usually far above the optimum)."""
    from solver.heuristic import solve_heuristic

    warm = solve_heuristic(problem, time_limit=5, seed=0)
    start = {unit: int(site) for unit, site in enumerate(warm.assignment.tolist()) if site >= 0}
    with monkeypatch.context() as patch:
        patch.setattr(centresets, "NODE_SETS", 2)
        patch.setattr(centresets, "FIRST_GAP", 0.005)
        patch.setattr(centresets, "PROBE_GAP", 0.0)
        return _search(problem, best=start if len(start) == problem.n_units else None)


def test_set_search_proofs_agree_with_cp_sat_on_problems_with_every_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    proven = branched = 0
    for seed in range(24):
        problem = ruled_problem(seed)
        exact = solve_exact(problem, split_parts(problem), fixed_total=problem.areas, time_limit=30, seed=0)
        for branching, found in enumerate((_search(problem), _branching_search(problem, monkeypatch))):
            assert found is not None  # a few hundred sets at most: always tried
            if found.plan is not None:
                assignment = np.full(problem.n_units, -1)
                for unit, site in found.plan.items():
                    assignment[unit] = site
                assert _valid(problem, assignment, problem.contiguity), seed
            if exact.status == "infeasible":
                assert found.plan is None and not found.proven, seed
                continue
            assert exact.status == "optimal"
            optimum = _objective(problem, exact.assignment)
            if found.proven:
                assert found.value == pytest.approx(optimum, rel=1e-6), seed
                proven += not branching
                branched += branching
            elif found.plan is not None:
                assert found.value >= optimum - 1e-6 * optimum, seed
    assert proven >= 15 and branched >= 15


def test_the_pruned_route_proves_districting_optima_by_site_sets() -> None:
    # three areas on grids whose unconstrained optimum falls into pieces: the search over site sets
    # proves the optimum the complete listing of areas gives, before any MIP on the whole model
    from solver.partition import solve_partition

    for seed in (9, 11, 20):
        problem = grid_districting_problem(seed)
        parts = split_parts(problem)
        listed = solve_partition(problem, parts, fixed_total=problem.areas, deadline=time.monotonic() + 30,
                                 list_until=time.monotonic() + 20)
        outcome = solve_pruned(problem, parts, fixed_total=problem.areas, time_limit=30,
                               objective_of=lambda plan, problem=problem: _objective(problem, plan))
        assert outcome.status == "optimal"
        assert outcome.objective == pytest.approx(listed.objective, rel=1e-6)
        assert any("site sets" in line and "optimum proven" in line for line in outcome.log)
        assert not any(line.startswith("pairs kept") for line in outcome.log)  # no MIP was needed


def test_a_search_from_a_plan_below_every_other_keeps_it() -> None:
    # started from the optimum, the search settles every set by its bounds or by a MIP with the
    # optimum as cut-off, and proves it without finding anything else
    problem = grid_districting_problem(20)
    parts = split_parts(problem)
    exact = solve_exact(problem, parts, fixed_total=problem.areas, time_limit=30, seed=0)
    found = _search(problem, best=dict(exact.assignment))
    assert found is not None and found.proven
    assert found.plan == dict(exact.assignment)


def test_only_sets_with_room_for_every_voter_are_bounded_and_served() -> None:
    # twelve units of 100 voters, two areas, site capacities 700, 650, 500, 500, 400 and 300: only
    # the sets whose capacities add up to 1,200 or more can hold a plan, so every other set's bound
    # is infinite and the search's optimum is CP-SAT's
    width, height = 4, 3
    n = width * height
    xy = np.array([(i % width, i // width) for i in range(n)], dtype=float)
    edges = [(i, i + 1) for i in range(n) if i % width < width - 1] + [(i, i + width) for i in range(n - width)]
    sites = [0, 3, 5, 6, 8, 11]
    distance = np.sqrt(((xy[:, None, :] - xy[None, sites, :]) ** 2).sum(axis=2))
    capacity = [700, 650, 500, 500, 400, 300]
    problem = make_problem(edges, [100] * n, sites, distance, capacity=capacity, min_voters=100, max_voters=1000,
                           areas=2, contiguity=False)
    parts = split_parts(problem)
    relaxation = relaxation_for(problem, parts, fixed_total=2, hint=None,
                                objective_of=lambda plan: _objective(problem, plan), time_limit=10)
    data = relaxation.data
    sets = np.array(list(itertools.combinations(range(len(sites)), 2)))
    room = np.array([sum(capacity[int(data.sites[c])] for c in row) >= 100 * n for row in sets.tolist()])
    assert room.sum() == 3
    bounds = centresets.first_bounds(data, sets)
    assert np.all(np.isinf(bounds[~room])) and np.all(np.isfinite(bounds[room]))
    exact = solve_exact(problem, parts, fixed_total=2, time_limit=30, seed=0)
    found = _search(problem)
    assert exact.status == "optimal" and found is not None and found.proven
    assert found.value == pytest.approx(_objective(problem, exact.assignment), rel=1e-6)
    assert sum(capacity[site] for site in set(found.plan.values())) >= 100 * n

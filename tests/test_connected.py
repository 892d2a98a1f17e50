"""Connected sets within a voter limit, the units no valid area can hold, and the set-partition route."""

from __future__ import annotations

import itertools
import time
from dataclasses import replace

import numpy as np
import pytest

import solver
from solver.connected import connected_sets, estimate_sets, part_graph, stranded_units
from solver.exact import solve_exact
from solver.partition import list_areas, solve_partition
from solver.parts import split_parts
from solver.problem import model_objective
from test_solver import _connected, _valid, brute_force, make_problem, random_problem


def _random_graph_problem(seed: int, n: int = 8):
    rng = np.random.default_rng(seed)
    edges = {(i, i + 1) for i in range(n - 1)}
    for _ in range(n):
        a, b = sorted(rng.choice(n, size=2, replace=False).tolist())
        edges.add((a, b))
    weights = rng.integers(0, 900, size=n).tolist()  # zero-weight units too
    sites = sorted(rng.choice(n, size=3, replace=False).tolist())
    return make_problem(sorted(edges), weights, sites, np.ones((n, 3)), max_voters=2000)


def _brute_sets(problem, root: int | None, limit: int, above: bool) -> set[frozenset[int]]:
    """Every connected set within ``limit`` voters (containing ``root``; lowest member ``root`` when ``above``)."""
    n = problem.n_units
    out = set()
    for size in range(1, n + 1):
        for combo in itertools.combinations(range(n), size):
            members = set(combo)
            if root is not None and (root not in members or (above and min(members) != root)):
                continue
            if int(problem.weights[list(combo)].sum()) > limit:
                continue
            if _connected(problem, members, combo[0]):
                out.add(frozenset(combo))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_connected_sets_lists_every_light_connected_set_once(seed: int) -> None:
    problem = _random_graph_problem(seed)
    graph = part_graph(problem, split_parts(problem)[0])
    for root in range(problem.n_units):
        listed = [frozenset(graph.members(mask)) for mask, *_ in connected_sets(graph, root)]
        assert len(listed) == len(set(listed))  # never twice
        assert set(listed) == _brute_sets(problem, root, graph.limit, above=False)
    every = [frozenset(graph.members(mask)) for root in range(problem.n_units)
             for mask, *_ in connected_sets(graph, root, above_root=True)]
    assert len(every) == len(set(every))
    assert set(every) == _brute_sets(problem, None, graph.limit, above=False)
    voters = {frozenset(graph.members(mask)): v for root in range(problem.n_units)
              for mask, v, _room, _sparse in connected_sets(graph, root, above_root=True)}
    assert all(v == int(problem.weights[list(s)].sum()) for s, v in voters.items())


def _squeezed_village(sparse: bool = False):
    """Village U1 (250 voters, with a site) between two villages of 3,800: it cannot join either
    (4,050 > 4,000) and is below the minimum of 300 on its own."""
    distance = [[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]]
    return make_problem([(0, 1), (1, 2)], [3800, 250, 3800], [0, 1, 2], distance,
                        sparse=[False, sparse, False])


def test_a_village_that_fits_no_area_is_named() -> None:
    problem = _squeezed_village()
    reasons = stranded_units(problem, split_parts(problem), time_limit=5)
    assert [(r.code, r.units) for r in reasons] == [("infeasible_unit_no_area", ("U1",))]
    assert reasons[0].params["voters"] == 250 and reasons[0].params["min_voters"] == 300
    result = solver.solve(problem, time_limit=5)
    assert result.status == solver.STATUS_INFEASIBLE
    assert result.diagnostics[0].code == "infeasible_unit_no_area"
    assert np.isinf(brute_force(problem))


def test_a_sparse_village_may_stand_alone_so_it_is_not_named() -> None:
    problem = _squeezed_village(sparse=True)
    assert stranded_units(problem, split_parts(problem), time_limit=5) == []
    result = solver.solve(problem, time_limit=5)
    assert result.status == solver.STATUS_OPTIMAL
    assert len(set(result.assignment.tolist())) == 3


def test_without_contiguity_the_village_may_join_a_far_area() -> None:
    problem = _squeezed_village()
    free = replace(problem, contiguity=False, weights=np.array([3700, 250, 3800]))
    assert stranded_units(free, split_parts(free), time_limit=5) == []


def _heavy_grid(seed: int):
    """A 3 x 3 grid of villages of 100-1,300 voters, 6 sites, areas of 900-2,000: about half the
    seeds have a unit that fits no area, the others a plan."""
    rng = np.random.default_rng(100 + seed)
    edges = [(r * 3 + c, r * 3 + c + 1) for r in range(3) for c in range(2)] + \
            [(r * 3 + c, r * 3 + c + 3) for r in range(2) for c in range(3)]
    weights = rng.integers(100, 1300, size=9).tolist()
    sites = sorted(rng.choice(9, size=6, replace=False).tolist())
    return make_problem(edges, weights, sites, rng.uniform(0, 5, size=(9, 6)), min_voters=900,
                        max_voters=2000, capacity=rng.integers(1600, 2000, size=6).tolist())


@pytest.mark.parametrize("seed", range(16))
def test_a_named_unit_always_means_no_plan_exists(seed: int) -> None:
    """Soundness: each claim is checked against CP-SAT on the full model, and a plan found means
    nothing was named."""
    problem = _heavy_grid(seed)
    parts = split_parts(problem)
    named = stranded_units(problem, parts, time_limit=5)
    exact = solve_exact(problem, parts, fixed_total=None, time_limit=20, seed=0, explain=False)
    assert exact.status in ("optimal", "feasible", "infeasible")
    assert bool(named) <= (exact.status == "infeasible")


def test_the_soundness_sample_does_name_units() -> None:
    """The sample above is not vacuous: several of its seeds have a unit no area can hold, several not."""
    named = [bool(stranded_units(p, split_parts(p), time_limit=5)) for p in map(_heavy_grid, range(16))]
    assert 3 <= sum(named) <= 13


def _partition(problem, **extra):
    return solve_partition(problem, split_parts(problem), fixed_total=problem.areas,
                           deadline=time.monotonic() + 20, list_until=time.monotonic() + 10, **extra)


def _locked(seed: int, fixed: bool):
    """Random 7-unit problems with a pin, a forced site and a previous plan to keep, in turn."""
    problem = random_problem(seed, areas=2 if fixed else None)
    lock = seed % 4
    if lock == 1:
        return replace(problem, pinned={0: 1})
    if lock == 2:
        return replace(problem, forced_open=frozenset({2}))
    if lock == 3:
        return replace(problem, previous={u: 0 for u in range(4)}, keep_weight=150.0)
    return problem


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("fixed", [True, False])
def test_set_partitioning_matches_brute_force(seed: int, fixed: bool) -> None:
    problem = _locked(seed, fixed)
    expected = brute_force(problem)
    outcome = _partition(problem)
    assert outcome is not None  # 7 units: the listing always finishes
    if not np.isfinite(expected):
        assert outcome.status == "infeasible"
        return
    assert outcome.status == "optimal"
    assignment = np.array([outcome.assignment[u] for u in range(problem.n_units)])
    assert _valid(problem, assignment, True)
    assert outcome.objective == pytest.approx(expected, rel=1e-6, abs=1e-3)
    assert model_objective(problem, assignment) == pytest.approx(expected, rel=1e-6, abs=1e-3)


def test_set_partitioning_proves_infeasibility_no_single_unit_shows() -> None:
    # a star: every unit fits some area, but the two areas asked cannot cover it together
    distance = [[0.0, 1.0], [1.0, 2.0], [1.0, 2.0], [1.0, 0.0]]
    problem = make_problem([(0, 1), (0, 2), (0, 3)], [400, 400, 400, 400], [0, 3], distance, max_voters=800,
                           areas=2)
    assert stranded_units(problem, split_parts(problem), time_limit=5) == []
    assert _partition(problem).status == "infeasible"
    result = solver.solve(problem, time_limit=10)
    assert result.status == solver.STATUS_INFEASIBLE and result.stats["engine"] == "set-partition"


@pytest.mark.parametrize(("seed", "areas"), [(13, None), (18, None), (10, 3), (14, 3)])
def test_a_fractional_relaxation_goes_to_the_mip(monkeypatch, seed: int, areas: int | None) -> None:
    """On these seeds the relaxation is fractional, so the MIP runs, and reaches the optimum the
    exact model proves."""
    from solver import partition

    mips = []
    real = partition._Model.solve

    def counting(self, columns, *, integral, deadline):
        mips.append(integral)
        return real(self, columns, integral=integral, deadline=deadline)

    monkeypatch.setattr(partition._Model, "solve", counting)
    problem = random_problem(seed, n=9, m=5, areas=areas)
    listed = _partition(problem)
    assert mips == [False, True]
    exact = solver.solve(problem, method="exact", time_limit=20)
    assert listed.status == exact.status == "optimal"
    assert listed.objective == pytest.approx(exact.objective, rel=1e-6, abs=1e-3)


def test_listing_gives_up_past_its_limit() -> None:
    problem = random_problem(3, n=9, m=5, areas=2)
    assert list_areas(problem, split_parts(problem), fixed_total=2, deadline=time.monotonic() + 5, max_sets=5) is None
    assert list_areas(problem, split_parts(problem), fixed_total=2, deadline=time.monotonic() + 5) is not None


def test_with_the_count_decided_only_the_electoral_unit_with_no_plan_is_named() -> None:
    # units 0-1, one plain area. X-1: a star with centre 2 (a site) and leaves 3, 4 and 5 (a
    # site): each leaf fits an area with the centre, but two leaves without a site cannot both
    distance = np.ones((6, 3))
    problem = make_problem([(0, 1), (1, 2), (2, 3), (2, 4), (2, 5)], [400] * 6, [0, 2, 5], distance,
                           groups=[0, 0, 1, 1, 1, 1], max_voters=800)
    assert stranded_units(problem, split_parts(problem), time_limit=5) == []
    assert np.isinf(brute_force(problem))
    result = solver.solve(problem, time_limit=10)
    assert result.status == solver.STATUS_INFEASIBLE
    reason = result.diagnostics[0]
    assert reason.code == "infeasible_structure" and reason.params["eu"] == "X-1"
    assert set(reason.units) == {"U2", "U3", "U4", "U5"}


@pytest.mark.parametrize("seed", range(6))
def test_with_a_travel_bound_the_listing_gives_the_fewest_areas_then_least_travel(seed: int) -> None:
    problem = random_problem(seed, n=8, m=4)
    loose = solver.solve(replace(problem, areas=3), time_limit=10, method="exact")
    if loose.status != solver.STATUS_OPTIMAL:
        pytest.skip("no 3-area plan to take a travel bound from")
    bound = float(problem.distance[np.arange(problem.n_units), loose.assignment].max())
    bounded = replace(problem, areas=None, max_travel_km=bound)
    listed = _partition(bounded)
    exact = solver.solve(bounded, time_limit=20, method="exact")
    assert listed.status == exact.status == "optimal"
    plan = np.array([listed.assignment[u] for u in range(problem.n_units)])
    assert _valid(bounded, plan, True)
    assert len(set(plan.tolist())) == len(set(exact.assignment.tolist()))
    assert listed.objective == pytest.approx(exact.objective, rel=1e-6, abs=1e-3)
    assert listed.objective == pytest.approx(model_objective(bounded, plan), rel=1e-6, abs=1e-3)
    result = solver.solve(bounded, time_limit=10)
    assert result.stats["engine"] == "set-partition" and result.objective == pytest.approx(exact.objective)


def test_one_area_per_part_still_keeps_the_travel_bound() -> None:
    """One area for the one part: every site leaves some voters beyond the bound, so no plan (the
    shortcut that picks the part's best site used to ignore the bound)."""
    distance = [[0.0, 0.274, 5.338], [0.274, 0.0, 5.592], [5.338, 5.592, 0.0]]
    problem = make_problem([(0, 1), (1, 2)], [0, 242, 640], [0, 1, 2], distance, min_voters=100, max_voters=2500,
                           areas=1, max_travel_km=2.68)
    assert np.isinf(brute_force(problem))
    result = solver.solve(problem, time_limit=5)
    assert result.status == solver.STATUS_INFEASIBLE
    assert "conflict_travel" in {d.code for d in result.diagnostics}


def test_a_pin_to_a_site_the_unit_cannot_reach_is_a_conflict() -> None:
    """Unit U2 is pinned to the site in U0, but U1 between them cannot reach that site (no road):
    the area would be in pieces, so the pin cannot hold (it used to be dropped silently)."""
    distance = [[0.0, 1.0], [np.inf, 0.5], [1.0, 0.2]]
    problem = make_problem([(0, 1), (1, 2)], [500, 500, 500], [0, 1], distance, max_voters=2000, pinned={2: 0})
    assert np.isinf(brute_force(problem))
    result = solver.solve(problem, time_limit=5)
    assert result.status == solver.STATUS_INFEASIBLE
    assert any(d.code == "conflict_pin" and d.params["unit"] == "U2" for d in result.diagnostics)


def test_with_a_travel_bound_a_stopped_mip_gives_no_bound(monkeypatch) -> None:
    """The per-area price is no travel: when the MIP stops without a plan, the relaxation's value is
    not reported as a bound (it would make any plan look optimal)."""
    from solver import partition

    real = partition._Model.solve

    def stopped(self, columns, *, integral, deadline):
        return partition._Solved("unknown") if integral else real(self, columns, integral=integral, deadline=deadline)

    monkeypatch.setattr(partition._Model, "solve", stopped)
    for seed in range(20):
        problem = replace(random_problem(seed, n=9, m=5), max_travel_km=4.0)
        outcome = _partition(problem)
        if outcome is not None and outcome.status == "unknown":
            assert outcome.bound is None
            return
    pytest.fail("no seed had a fractional relaxation")


def test_an_empty_sparse_unit_may_be_an_area_at_a_site_of_no_capacity() -> None:
    """A site declared with capacity 0 still anchors an area of no voters (it used to count as no site)."""
    problem = make_problem([(1, 2)], [0, 500, 400], [0, 1], [[0.0, 9.0], [9.0, 0.0], [9.0, 1.0]],
                           sparse=[True, False, False], capacity=[0, 1000], groups=[0, 1, 1])
    expected = brute_force(problem)
    assert np.isfinite(expected)
    assert stranded_units(problem, split_parts(problem), time_limit=5) == []
    result = solver.solve(problem, time_limit=5)
    assert result.status == solver.STATUS_OPTIMAL and result.objective == pytest.approx(expected)


def test_two_forced_sites_cannot_share_one_area() -> None:
    problem = make_problem([(0, 1)], [400, 400], [0, 1], [[0.0, 1.0], [1.0, 0.0]], areas=1,
                           forced_open=frozenset({0, 1}))
    assert np.isinf(brute_force(problem))
    assert _partition(problem).status == "infeasible"
    result = solver.solve(problem, time_limit=5)
    assert result.status == solver.STATUS_INFEASIBLE


def test_a_closed_site_anchors_no_listed_area() -> None:
    problem = replace(random_problem(4, n=7, m=3), forced_closed=frozenset({1}))
    outcome = _partition(problem)
    expected = brute_force(problem)
    if np.isinf(expected):
        assert outcome.status == "infeasible"
    else:
        assert outcome.status == "optimal" and 1 not in set(outcome.assignment.values())
        assert outcome.objective == pytest.approx(expected, rel=1e-6, abs=1e-3)


@pytest.mark.parametrize("seed", range(3))
def test_the_size_estimate_is_near_the_true_count(seed: int) -> None:
    problem = _random_graph_problem(seed, n=9)
    graph = part_graph(problem, split_parts(problem)[0])
    rng = np.random.default_rng(seed)
    for root in range(problem.n_units):
        exact = sum(1 for _ in connected_sets(graph, root, above_root=True))
        estimate = estimate_sets(graph, root, probes=3000, rng=rng)
        assert estimate == pytest.approx(exact, rel=0.15)


def test_a_listing_far_beyond_its_time_is_not_started() -> None:
    """A 14 x 14 grid of light blocks has astronomically many light connected sets: the estimate
    says so and the listing gives up at once instead of at its deadline."""
    side = 14
    edges = [(r * side + c, r * side + c + 1) for r in range(side) for c in range(side - 1)] + \
            [(r * side + c, (r + 1) * side + c) for r in range(side - 1) for c in range(side)]
    n = side * side
    problem = make_problem(edges, [30] * n, list(range(0, n, 7)), np.ones((n, len(range(0, n, 7)))),
                           min_voters=300, max_voters=1500)
    began = time.monotonic()
    assert list_areas(problem, split_parts(problem), fixed_total=None, deadline=began + 30) is None
    assert time.monotonic() - began < 3


def test_listing_is_not_started_when_its_estimate_nears_the_set_limit(monkeypatch) -> None:
    # The estimate falls short of the true count, so an estimate within a factor of the limit on
    # sets means the listing would likely pass that limit after seconds of work: it is not started,
    # however long the time; with room for the shortfall it is listed
    from solver import partition

    problem = random_problem(3, n=9, m=5, areas=2)
    parts = split_parts(problem)
    graphs = [part_graph(problem, part) for part in parts]
    rng = np.random.default_rng(0)
    estimate = sum(estimate_sets(graph, root, probes=partition.PROBES, rng=rng)
                   for graph in graphs for root in range(len(graph.units)))
    walked: list[int] = []
    real = partition.connected_sets
    monkeypatch.setattr(partition, "connected_sets", lambda *a, **k: (walked.append(1), real(*a, **k))[1])
    near = int(estimate * partition.SHORTFALL) - 1
    assert estimate < near
    assert list_areas(problem, parts, fixed_total=2, deadline=time.monotonic() + 60, max_sets=near) is None
    assert walked == []
    roomy = int(estimate * partition.SHORTFALL) * 4
    assert list_areas(problem, parts, fixed_total=2, deadline=time.monotonic() + 60, max_sets=roomy) is not None
    assert walked

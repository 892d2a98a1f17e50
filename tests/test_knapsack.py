"""The sites' 0-1 knapsacks behind the Lagrangian bound: exact at one voter per step, never above
the truth at coarser steps (a bound that overshoots would let the fixing drop an optimal pair)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from solver import knapsack


def _case(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 8))
    m = int(rng.integers(1, min(4, n) + 1))
    weight = rng.integers(0, 300, n).astype(float)
    root = rng.choice(n, m, replace=False)
    lower = rng.integers(0, 400, m).astype(float)
    upper = lower + rng.integers(0, 600, m)
    reduced = rng.normal(0.0, 5.0, (n, m))
    allowed = rng.random((n, m)) < 0.8
    allowed[root, np.arange(m)] = True
    return weight, root, lower, upper, reduced, allowed


def _truth(weight, root, lower, upper, reduced, allowed, j):
    """Every area of site ``j`` listed: the best valid one, and per unit the best holding it (minimum dropped)."""
    n = len(weight)
    others = [i for i in range(n) if i != root[j] and allowed[i, j]]
    best, holding = np.inf, np.full(n, np.inf)
    for k in range(len(others) + 1):
        for chosen in itertools.combinations(others, k):
            area = [int(root[j]), *chosen]
            load, cost = weight[area].sum(), reduced[area, j].sum()
            if load <= upper[j]:
                holding[area] = np.minimum(holding[area], cost)
                if load >= lower[j]:
                    best = min(best, cost)
    return best, holding


@pytest.mark.parametrize("seed", range(40))
def test_knapsacks_find_each_sites_best_area_and_the_best_with_each_unit(seed: int) -> None:
    weight, root, lower, upper, reduced, allowed = _case(seed)
    sites = knapsack.steps(weight, root, lower, upper, max_loads=10_000)
    assert sites.scale == 1
    value, members = knapsack.best_areas(sites, reduced, allowed, np.arange(len(root)))
    with_unit = knapsack.with_unit(sites, reduced, allowed)
    for j in range(len(root)):
        best, holding = _truth(weight, root, lower, upper, reduced, allowed, j)
        assert value[j] == pytest.approx(best) if np.isfinite(best) else np.isinf(value[j])
        if np.isfinite(best):
            area = members[j]
            assert area[0] == root[j] and len(set(area)) == len(area)
            assert all(allowed[i, j] for i in area)
            assert lower[j] <= weight[area].sum() <= upper[j]
            assert reduced[area, j].sum() == pytest.approx(best)
        for i in range(len(weight)):
            expected = holding[i] if allowed[i, j] else np.inf
            assert with_unit[i, j] == pytest.approx(expected) if np.isfinite(expected) else np.isinf(with_unit[i, j])


@pytest.mark.parametrize("seed", range(40))
def test_coarse_load_steps_never_overstate_an_area(seed: int) -> None:
    weight, root, lower, upper, reduced, allowed = _case(seed)
    exact = knapsack.steps(weight, root, lower, upper, max_loads=10_000)
    coarse = knapsack.steps(weight, root, lower, upper, max_loads=12)
    assert coarse.scale > 1
    value_exact, _ = knapsack.best_areas(exact, reduced, allowed)
    value_coarse, _ = knapsack.best_areas(coarse, reduced, allowed)
    assert np.all(value_coarse <= value_exact + 1e-9)
    held_exact = knapsack.with_unit(exact, reduced, allowed)
    held_coarse = knapsack.with_unit(coarse, reduced, allowed)
    assert np.all(held_coarse <= held_exact + 1e-9)

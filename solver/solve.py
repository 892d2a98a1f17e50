"""The one entry point of the solver."""

from __future__ import annotations

from typing import Callable

from solver.heuristic import solve_heuristic
from solver.problem import PlanningProblem, SolveResult

METHODS = ("auto", "construction")


def solve(problem: PlanningProblem, *, time_limit: float = 60.0, seed: int = 0, method: str = "auto",
          on_progress: Callable[[str, float], None] | None = None) -> SolveResult:
    """Plan ``problem``: a valid assignment of every unit to an open site, or the reasons none exists."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    return solve_heuristic(problem, time_limit=time_limit, seed=seed, on_progress=on_progress)

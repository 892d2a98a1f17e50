"""Pure optimisation for polling areas: arrays and graphs in, an assignment out.

This package imports numpy and OR-Tools only: no geometry, no files, no user interface.
"""

from solver.problem import (STATUS_FEASIBLE, STATUS_INFEASIBLE, STATUS_OPTIMAL, STATUS_TIMEOUT, Diagnostic,
                            PlanningProblem, SolveResult)
from solver.solve import solve

__all__ = ["solve", "PlanningProblem", "SolveResult", "Diagnostic", "STATUS_OPTIMAL", "STATUS_FEASIBLE",
           "STATUS_INFEASIBLE", "STATUS_TIMEOUT"]

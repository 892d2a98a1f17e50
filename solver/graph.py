"""Reachability on the unit adjacency graph, shared by the exact models and their contiguity cuts."""

from __future__ import annotations

from collections import deque

from solver.problem import PlanningProblem


def reachable(problem: PlanningProblem, start: int, within: set[int]) -> set[int]:
    """Units reached from ``start`` over adjacency without leaving ``within`` (``start`` included)."""
    seen = {start}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        for v in problem.neighbours[u]:
            if v in within and v not in seen:
                seen.add(v)
                queue.append(v)
    return seen


def cut_off_pieces(problem: PlanningProblem, members: set[int], root: int) -> list[set[int]]:
    """The connected pieces of an area that do not hold its site's unit ``root``, in a stable order."""
    rest = members - reachable(problem, root, members)
    pieces = []
    while rest:
        piece = reachable(problem, min(rest), rest)
        rest -= piece
        pieces.append(piece)
    return pieces

"""The model as a mixed-integer programme for HiGHS, with contiguity cuts added in rounds.

Measured on the literature instances (``benchmarks/``), HiGHS with its LP bound proves the
capacitated p-median and Hess districting optima (no contiguity) several times faster than
SCIP and far faster than CP-SAT; :mod:`solver.solve` races it against CP-SAT. Contiguity is
imposed lazily: solve without it, find every area whose units fall into pieces, add for each
cut-off piece ``C`` of the area of site ``j`` and each unit ``a`` in it the separator cut
``x[a, j] <= sum(x[v, j] for v in S)`` (``S``: the units next to ``C`` from which the site's
unit is still reachable), and solve again. Each round is a relaxation of the contiguous
problem, so its bound is a valid lower bound, a contiguous optimum of a round is optimal, and
an infeasible round proves that no contiguous plan exists. A unit is never offered to a site
whose unit cannot be reached from it through a chain of units lighter than the maximum in total
(no connected area could hold both), which removes most pairs of tight-bound problems.

A round whose optimum is in pieces has usually picked good sites: with those sites fixed the
model is small, and its own cut rounds give a connected plan in a second or two; the
alternation from it (:mod:`solver.centres`) then moves its sites to the middle of their areas,
and the result becomes the incumbent (:func:`_serve_from`). Measured on Zhang KS (+-0.5%
population, hop distances): the first round's sites are the optimum's, served in 1-1.5 s, where
the rounds on the whole model had no connected plan after 15 s; on Validi AL and WV the
alternation takes the served plan to the published optimum (16,876 -> 16,627, 12,320 -> 12,001).
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from solver.graph import cut_off_pieces, reachable
from solver.parts import Part
from solver.pairs import keep_offset, model_pairs, pair_cost, site_cost
from solver.problem import PlanningProblem

#: A round whose incumbents fall into pieces ends after this share of the time left (at least
#: SPLIT_ROUND_MIN_S seconds), and its cuts go into the next round.
SPLIT_ROUND_SHARE = 0.25
SPLIT_ROUND_MIN_S = 2.0
#: Share of the time left (at least REPAIR_MIN_S seconds) that serving a split round's sites in
#: one piece each may take.
REPAIR_SHARE = 0.4
REPAIR_MIN_S = 2.0
#: HiGHS's improvement heuristics, switched off where the search starts from a plan near the optimum
#: and its time is better spent on the proof (``heuristics=False``, see :func:`build`).
SEARCH_HEURISTICS = ("rins", "rens", "root_reduced_cost", "zi_round", "shifting")


@dataclass
class HighsOutcome:
    """Result of the MIP route: the best plan found (contiguous when required) and a lower bound."""

    status: str  # optimal | feasible | infeasible | unknown
    assignment: dict[int, int]
    bound: float | None
    objective: float | None
    seconds: float
    rounds: int = 0
    cuts: int = 0
    log: list[str] = field(default_factory=list)
    #: stopped early on a plan that ``restart_if`` accepted
    restart: bool = False


@dataclass
class SearchMemory:
    """What one MIP search learns that the next, on a smaller model of the same problem, can use."""

    #: contiguity cuts ``(unit, site, separator)`` found so far (valid for every model of the problem)
    cuts: list[tuple[int, int, list[int]]] = field(default_factory=list)
    #: site sets :func:`_serve_from` has had (served in one piece each, or skipped as ``assigned``)
    served: set[tuple[int, ...]] = field(default_factory=set)
    #: site sets whose best plan in one piece each is known already (the alternation's best plan, when
    #: its assignment was proven): a round in pieces on them still stops (its cuts go in sooner) but
    #: they are not served again
    assigned: set[tuple[int, ...]] = field(default_factory=set)


def available() -> bool:
    """Whether highspy can be imported (it is a dependency; a broken install falls back to CP-SAT)."""
    try:
        import highspy  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the installation
        return False
    return True


_BANNER_SHOWN = threading.Lock()
_banner_done = False


def _new_highs():
    """A silent HiGHS instance. HiGHS prints an English banner on the first instance of a process,
    before any option can be set; it would land in the user's terminal, so it goes to /dev/null."""
    import highspy

    global _banner_done
    with _BANNER_SHOWN:
        if not _banner_done:
            sys.stdout.flush()
            saved = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
                highs = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(devnull)
            _banner_done = True
        else:
            highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs


class _Rows:
    """Constraint rows gathered as a compressed sparse matrix for one ``addRows`` call."""

    def __init__(self) -> None:
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.starts: list[int] = []
        self.index: list[int] = []
        self.value: list[float] = []

    def add(self, lower: float, upper: float, index: Sequence[int], value: Sequence[float]) -> None:
        self.lower.append(lower)
        self.upper.append(upper)
        self.starts.append(len(self.index))
        self.index.extend(index)
        self.value.extend(value)

    def flush(self, highs) -> int:
        count = len(self.lower)
        if count:
            highs.addRows(count, np.array(self.lower), np.array(self.upper), len(self.index),
                          np.array(self.starts, dtype=np.int32), np.array(self.index, dtype=np.int32),
                          np.array(self.value, dtype=float))
        self.__init__()
        return count


@dataclass
class _Model:
    highs: object
    column: dict[tuple[int, int], int]  # (unit, site) -> x column
    open_column: dict[int, int]  # site -> y column
    by_site: dict[int, list[int]]  # site -> units it may serve
    offset: float  # constant part of the objective (keep-what-exists)
    n_columns: int
    cost: np.ndarray  # objective coefficient of every column


def build(problem: PlanningProblem, parts: Sequence[Part], fixed_total: int | None,
          restrict: dict[int, set[int]] | None = None, random_seed: int = 0, heuristics: bool = True,
          restarts: bool = True, separators: Separators | None = None) -> _Model:
    """The assignment model of the parts (contiguity comes as cuts). ``restrict[j]``: the only units
    site ``j`` may serve (a heuristic narrowing for large problems; None: every valid pair).
    ``random_seed``: HiGHS's, so that two searches of the same model in a race take different paths.
    ``heuristics``: HiGHS's improvement heuristics (see SEARCH_HEURISTICS); ``restarts``: whether
    HiGHS may presolve again at the root once it has fixed columns there (see
    :data:`solver.prune.RESTART_GAP`). ``separators``: the contiguity rows of each site's area
    worked out by earlier builds of the same problem, kept and reused (many small models over the
    same pairs: :mod:`solver.centresets`)."""
    import highspy

    highs = _new_highs()
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("random_seed", int(random_seed) % 2_147_483_647)  # its range
    # One thread, always: HiGHS's thread pool is global to the process and fixed by the first run,
    # and a later run asking for another count fails outright (a narrowed run on every core, then
    # a raced one on one core, left the race without HiGHS). Its MIP search is serial anyway.
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("mip_allow_restart", restarts)
    if not heuristics:
        for name in SEARCH_HEURISTICS:
            highs.setOptionValue(f"mip_heuristic_run_{name}", False)
    inf = highspy.kHighsInf
    column: dict[tuple[int, int], int] = {}
    open_column: dict[int, int] = {}
    small_column: dict[int, int] = {}
    by_site: dict[int, list[int]] = {}
    cost: list[float] = []
    lower: list[float] = []
    upper: list[float] = []

    def new(c: float, lo: float = 0.0, hi: float = 1.0) -> int:
        cost.append(c)
        lower.append(lo)
        upper.append(hi)
        return len(cost) - 1

    for part in parts:
        pairs = model_pairs(problem, part, restrict)
        for j in part.sites:
            # a site opens only with its own unit: one whose own unit a restriction left out stays closed
            closed = int(problem.site_unit[j]) not in pairs[j] and j not in problem.forced_open
            open_column[j] = new(site_cost(problem, fixed_total), 1.0 if j in problem.forced_open else 0.0,
                                 0.0 if closed else 1.0)
            if problem.min_voters > 0 and part.any_sparse:
                small_column[j] = new(0.0)
            by_site[j] = pairs[j]
            for i in pairs[j]:
                pinned = problem.pinned.get(i)
                lo, hi = 0.0, 1.0
                if pinned is not None:
                    lo = hi = 1.0 if pinned == j else 0.0
                column[i, j] = new(pair_cost(problem, i, j), lo, hi)
    offset = keep_offset(problem, parts)
    n = len(cost)
    highs.addVars(n, np.array(lower), np.array(upper))
    everything = np.arange(n, dtype=np.int32)
    highs.changeColsCost(n, everything, np.array(cost))
    highs.changeColsIntegrality(n, everything, np.full(n, highspy.HighsVarType.kInteger))
    rows = _Rows()
    serving: dict[int, list[int]] = {}
    for (i, j), col in column.items():
        serving.setdefault(i, []).append(col)
    for i in sorted(serving):
        rows.add(1.0, 1.0, serving[i], [1.0] * len(serving[i]))
    for part in parts:
        for j in part.sites:
            y = open_column[j]
            root = int(problem.site_unit[j])
            members = by_site[j]
            for i in members:
                rows.add(0.0 if i == root else -inf, 0.0, [column[i, j], y], [1.0, -1.0])
            cols = [column[i, j] for i in members]
            load = [float(problem.weights[i]) for i in members]
            cap = float(min(problem.capacity[j], problem.max_voters))
            rows.add(-inf, 0.0, cols + [y], load + [-cap])
            if problem.min_voters > 0:
                if j in small_column:
                    small = small_column[j]
                    rows.add(-inf, 0.0, [small, y], [1.0, -1.0])
                    for i in members:
                        if not problem.sparse[i]:
                            rows.add(-inf, 1.0, [column[i, j], small], [1.0, 1.0])
                    rows.add(0.0, inf, cols + [y, small], load + [-float(problem.min_voters), float(problem.min_voters)])
                else:
                    rows.add(0.0, inf, cols + [y], load + [-float(problem.min_voters)])
            if problem.contiguity:
                # a unit in the area of a site standing elsewhere needs a neighbour in it through which
                # the site's unit can be reached
                for i, leading in _separators(problem, j, members, separators):
                    near = [column[v, j] for v in leading]
                    rows.add(-inf, 0.0, [column[i, j]] + near, [1.0] + [-1.0] * len(near))
    for part in parts:  # room for every voter of the part needs at least this many areas
        ys = [open_column[j] for j in part.sites]
        rows.add(float(part.min_areas(problem)), inf, ys, [1.0] * len(ys))
    if fixed_total is not None:
        ys = list(open_column.values())
        rows.add(float(fixed_total), float(fixed_total), ys, [1.0] * len(ys))
    rows.flush(highs)
    highs.changeObjectiveOffset(offset)
    return _Model(highs, column, open_column, by_site, offset, n, np.array(cost))


#: Per site and the units its area may hold: each unit's neighbours through which the site's own
#: unit can be reached (see :func:`_leading_neighbours`), for the units not next to it.
Separators = dict[tuple[int, frozenset[int]], list[tuple[int, list[int]]]]


def _separators(problem: PlanningProblem, site: int, members: Sequence[int],
                known: Separators | None) -> list[tuple[int, list[int]]]:
    """The contiguity rows of the site's area over ``members``: from ``known`` when there, else
    worked out (and kept in ``known``)."""
    key = (site, frozenset(members))
    if known is not None and key in known:
        return known[key]
    root = int(problem.site_unit[site])
    allowed = set(members)
    rows = [(i, _leading_neighbours(problem, allowed, i, root)) for i in members
            if i != root and root not in problem.neighbours[i]]
    if known is not None:
        known[key] = rows
    return rows


def _leading_neighbours(problem: PlanningProblem, allowed: set[int], unit: int, root: int) -> list[int]:
    """The neighbours of ``unit`` (within ``allowed``) from which ``root`` can be reached without
    passing next to ``unit`` again: the last unit of any path from ``unit`` to ``root`` inside
    ``allowed`` that touches ``unit`` is one of them, so an area holding both holds one of them
    (Validi et al.'s minimal separator; dropping the dead-end neighbours tightens the relaxation:
    Validi WV's first round is connected, proven in 8 s instead of two rounds and 15 s)."""
    around = {v for v in problem.neighbours[unit] if v in allowed}
    blocked = around | {unit}
    seen, stack = {root}, [root]
    while stack:
        u = stack.pop()
        for v in problem.neighbours[u]:
            if v in allowed and v not in seen and v not in blocked:
                seen.add(v)
                stack.append(v)
    return sorted(v for v in around if any(w in seen for w in problem.neighbours[v]))


def separator_cuts(problem: PlanningProblem, model: _Model, assignment: dict[int, int]) -> list[tuple[int, int, list[int]]]:
    """Cuts ``x[a, j] <= sum x[v, j], v in S`` violated by ``assignment`` (see the module text)."""
    areas: dict[int, set[int]] = {}
    for u, j in assignment.items():
        areas.setdefault(j, set()).add(u)
    cuts = []
    for j, members in sorted(areas.items()):
        root = int(problem.site_unit[j])
        allowed = set(model.by_site[j])
        for piece in cut_off_pieces(problem, members, root):
            # units next to the piece that can still lead to the root without entering the piece
            toward_root = reachable(problem, root, allowed - piece)
            boundary = sorted({v for u in piece for v in problem.neighbours[u]
                               if v not in piece and v in toward_root})
            for a in sorted(piece):
                cuts.append((a, j, boundary))
    return cuts


def carried_cuts(problem: PlanningProblem, model: _Model,
                 cuts: Sequence[tuple[int, int, list[int]]]) -> list[tuple[int, int, list[int]]]:
    """The cuts found on other models of the problem that hold in ``model``, each once. A cut
    ``x[a, j] <= sum x[v, j], v in S`` rests on ``S`` separating ``a`` from site ``j``'s unit among
    the units ``j`` may serve; another model may let ``j`` serve other units (the alternation's
    steps add those of their start plan), so that is checked again here."""
    out, seen = [], set()
    separates: dict[tuple[int, tuple[int, ...]], set[int]] = {}  # (site, S) -> units still joined to its unit
    for a, j, boundary in cuts:
        key = (a, j, tuple(boundary))
        if (a, j) not in model.column or key in seen:
            continue
        seen.add(key)
        root = int(problem.site_unit[j])
        joined = separates.get((j, key[2]))
        if joined is None:
            joined = separates[j, key[2]] = reachable(problem, root, set(model.by_site[j]) - set(boundary))
        if a not in joined:
            out.append((a, j, boundary))
    return out


def add_cuts(model: _Model, cuts: list[tuple[int, int, list[int]]]) -> None:
    import highspy

    rows = _Rows()
    for a, j, boundary in cuts:
        cols = [model.column[a, j]] + [model.column[v, j] for v in boundary if (v, j) in model.column]
        rows.add(-highspy.kHighsInf, 0.0, cols, [1.0] + [-1.0] * (len(cols) - 1))
    rows.flush(model.highs)


def stop_when(highs, check: Callable[[], bool]) -> None:
    """Interrupt HiGHS's runs (its MIP and simplex loops) whenever ``check()`` says so."""

    def on_interrupt_check(event) -> None:
        event.interrupt(check())  # HiGHS keeps the flag between runs: always set it

    for interrupt in (highs.cbMipInterrupt, highs.cbSimplexInterrupt):
        interrupt.subscribe(on_interrupt_check)


def offer_start(model: _Model, hint: dict[int, int]) -> None:
    """Offer a plan as the incumbent (ignored by HiGHS when it violates the model)."""
    import highspy

    values = np.zeros(model.n_columns)
    for (i, j), col in model.column.items():
        if hint.get(i) == j:
            values[col] = 1.0
    for j in set(hint.values()):
        if j in model.open_column:
            values[model.open_column[j]] = 1.0
    solution = highspy.HighsSolution()
    solution.col_value = values.tolist()
    model.highs.setSolution(solution)


def run_model(model: _Model) -> bool:
    """Run HiGHS on the model (after :func:`offer_start`, if any). HiGHS 1.16 can report the optimum
    it found in its presolved model yet hand back the offered start as the solution (seen on an
    8-unit model whose presolve took the start into its reduced space): when the solution's
    objective disagrees with the one reported, the model is solved again without the start.
    Returns whether that happened."""
    highs = model.highs
    highs.run()
    info = highs.getInfo()
    if info.primal_solution_status != 2:
        return False
    reported = float(info.objective_function_value)
    value = float(np.dot(model.cost, np.asarray(highs.getSolution().col_value))) + model.offset
    if abs(value - reported) <= 1e-6 * max(1.0, abs(reported)):
        return False
    highs.clearSolver()
    highs.run()
    return True


def read_plan(model: _Model, values=None) -> dict[int, int]:
    values = np.asarray(model.highs.getSolution().col_value if values is None else values)
    return {i: j for (i, j), col in model.column.items() if values[col] > 0.5}


def solve_highs(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None, time_limit: float,
                hint: dict[int, int] | None = None,
                objective_of=None, on_start=None, restrict: dict[int, set[int]] | None = None,
                pruned: bool = False, restart_if: Callable[[float, bool], bool] | None = None,
                memory: SearchMemory | None = None, random_seed: int = 0, heuristics: bool = True,
                restarts: bool = True) -> HighsOutcome:
    """Best plan within ``time_limit`` over the parts, contiguous when the problem asks for it.

    ``objective_of(assignment)`` prices a plan on the solver's full objective; it ranks the
    incumbents (the hint, every connected incumbent HiGHS finds) so the best one is returned.
    The cuts of every incumbent in pieces found during a round are added with the round's own.
    ``on_start`` receives a
    function that stops the search from another thread (a portfolio race). With ``restrict``
    the model is narrowed: its plans are valid, its bound and "optimal" are not claims about the
    whole problem, so the status is at best "feasible" and the bound None. With ``pruned`` the
    restriction removes only pairs no plan better than ``hint`` uses (a proven fixing, see
    :mod:`solver.lagrange`; ``hint`` is then required and its pairs kept): bound and status stand.
    ``restart_if(value, between_rounds)``: when it says yes to a better plan found, during a round
    or between two (where stopping costs nothing), the search stops there (``restart`` set) so the
    caller can fix more pairs and start again. ``memory``: cuts and
    served site sets of earlier searches of the same problem (updated with this one's).
    ``random_seed``, ``heuristics`` and ``restarts``: see :func:`build`.
    """
    import highspy

    start = time.monotonic()
    deadline = start + time_limit
    model = build(problem, parts, fixed_total, restrict, random_seed, heuristics, restarts)
    highs = model.highs
    memory = memory if memory is not None else SearchMemory()
    add_cuts(model, carried_cuts(problem, model, memory.cuts))
    restart = False
    size = sum(len(p.units) for p in parts)
    best: dict[int, int] | None = None
    best_value = math.inf
    if hint and len(hint) == size and objective_of is not None:
        best, best_value = dict(hint), objective_of(hint)
    pending: list[tuple[int, int, list[int]]] = []  # cuts found by the incumbent callback this round
    cut_short = False  # this round was stopped early, its incumbents being in pieces
    repair_now = False  # this round was stopped to serve the sites of a plan in pieces
    round_end = math.inf

    halt = threading.Event()  # set from another thread (a portfolio race): stop the search

    def cancel() -> None:
        halt.set()

    def should_stop() -> bool:
        nonlocal cut_short
        # with a connected plan known, a round whose incumbents fall into pieces is cut short after
        # its share of the time: their cuts, in a new round, do more than a long search without
        # them (with none known, the long search is what may find one: Validi AL)
        if pending and best is not None and not cut_short and time.monotonic() > round_end:
            cut_short = True
        return halt.is_set() or cut_short or restart or repair_now

    def price(plan: dict[int, int], fallback: float) -> float:
        return objective_of(plan) if objective_of is not None else fallback

    def on_incumbent(event) -> None:
        nonlocal best, best_value, restart, repair_now
        plan = read_plan(model, event.data_out.mip_solution)
        if len(plan) != size:
            return
        cuts = separator_cuts(problem, model, plan) if problem.contiguity else []
        if cuts:
            pending.extend(cuts)  # added with the round's own cuts
            # Pruned (``restart_if``): a plan in pieces on sites not served yet stops the round, so
            # that its sites are served in one piece each at once; a connected plan that good lets the
            # fixing drop pairs (Validi WV proven in 16 s instead of 32). Without pruning, stopping
            # the round at once was worse.
            if restart_if is not None and tuple(sorted(set(plan.values()))) not in memory.served:
                repair_now = True
            return
        value = price(plan, float(event.data_out.objective_function_value))
        if value < best_value:
            best, best_value = plan, value
            restart = restart or (restart_if is not None and restart_if(value, False))

    highs.cbMipImprovingSolution.subscribe(on_incumbent)
    stop_when(highs, should_stop)
    if on_start is not None:
        on_start(cancel)
    bound: float | None = None
    rounds = cuts_total = 0
    log: list[str] = []
    status = "unknown"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0.05 or halt.is_set():
            break
        highs.setOptionValue("time_limit", float(remaining))
        if best is not None:
            offer_start(model, best)
        pending.clear()
        cut_short = repair_now = False
        round_end = time.monotonic() + max(SPLIT_ROUND_MIN_S, SPLIT_ROUND_SHARE * remaining)
        if run_model(model):
            log.append(f"round {rounds + 1}: HiGHS returned the start instead of its optimum; solved again")
        rounds += 1
        state = highs.getModelStatus()
        info = highs.getInfo()
        # every round is a relaxation of the contiguous model: its bound is valid
        if math.isfinite(info.mip_dual_bound):
            bound = float(info.mip_dual_bound) if bound is None else max(bound, float(info.mip_dual_bound))
        if halt.is_set() or restart:
            log.append(f"round {rounds}: {'stopped' if halt.is_set() else 'restart on a better plan'}")
            memory.cuts.extend(pending)
            break
        if state == highspy.HighsModelStatus.kInfeasible:
            status = "infeasible" if best is None else status
            log.append(f"round {rounds}: infeasible")
            break
        if info.primal_solution_status != 2:  # no feasible solution of this round
            log.append(f"round {rounds}: no plan, {highs.modelStatusToString(state)}")
            break
        plan = read_plan(model)
        violated = separator_cuts(problem, model, plan) if problem.contiguity else []
        log.append(f"round {rounds} ({time.monotonic() - start:.1f} s): {highs.modelStatusToString(state)}, "
                   f"objective {info.objective_function_value:.4f}, bound {info.mip_dual_bound:.4f}, "
                   f"{len(violated)} cuts")
        if not violated:
            value = price(plan, float(info.objective_function_value))
            if value < best_value:
                best, best_value = plan, value
                restart = restart or (restart_if is not None and restart_if(value, True))
            if state == highspy.HighsModelStatus.kOptimal:
                status = "optimal"
                bound = max(bound or -math.inf, float(info.objective_function_value))
                break
            status = "feasible"
            if not (cut_short or repair_now):
                break
            violated = []  # cut short, its last plan connected: only the split incumbents' cuts go in
        if violated and problem.contiguity:
            repaired = _serve_from(problem, parts, plan, restrict, memory, violated + pending + memory.cuts,
                                   fixed_total=fixed_total, objective_of=objective_of, stopped=halt, deadline=deadline,
                                   window=max(REPAIR_MIN_S, REPAIR_SHARE * (deadline - time.monotonic())))
            if repaired is not None:
                value = price(repaired, math.inf)
                log.append(f"round {rounds}: its sites served in one piece each, objective {value:.4f}")
                if value < best_value:
                    best, best_value = repaired, value
                    restart = restart or (restart_if is not None and restart_if(value, True))
        violated += pending  # incumbents in pieces found on the way: their cuts go in too
        add_cuts(model, violated)
        cuts_total += len(violated)
        memory.cuts.extend(violated)
        if restart:
            log.append(f"round {rounds}: restart on a better plan")
            break
    if best is None:
        return HighsOutcome(status if status == "infeasible" else "unknown", {}, bound, None,
                            time.monotonic() - start, rounds, cuts_total, log)
    narrowed = restrict is not None and not pruned
    if status not in ("optimal", "feasible") or narrowed:
        status = "feasible"
    if narrowed:
        bound = None
    elif bound is not None and bound >= best_value - 1e-6 * max(1.0, abs(best_value)):
        status = "optimal"
    return HighsOutcome(status, best, bound, best_value, time.monotonic() - start, rounds, cuts_total, log, restart)


def _serve_from(problem: PlanningProblem, parts: Sequence[Part], plan: dict[int, int],
                restrict: dict[int, set[int]] | None, memory: SearchMemory,
                cuts: list[tuple[int, int, list[int]]], *, fixed_total: int | None,
                objective_of: Callable[[dict[int, int]], float] | None, stopped: threading.Event,
                deadline: float, window: float) -> dict[int, int] | None:
    """A connected plan on the sites of ``plan`` (a round's optimum in pieces), improved by the
    alternation, each step within ``window`` seconds and all by ``deadline``; or None (see the
    module text). Each set of sites is tried once (``memory.served``), and none whose best plan is
    known already (``memory.assigned``)."""
    from solver.centres import alternate, assign_sites  # the alternation builds on this module

    sites = tuple(sorted(set(plan.values())))
    if sites in memory.served or stopped.is_set() or deadline - time.monotonic() < 0.1:
        return None
    memory.served.add(sites)
    if sites in memory.assigned:
        return None
    narrowed = {j: set(restrict.get(j, ())) for j in sites} if restrict is not None else None
    served = assign_sites(problem, parts, list(sites), min(deadline, time.monotonic() + window), stopped,
                          restrict=narrowed, cuts=cuts)
    if served is None or objective_of is None:
        return served
    # its sites moved to the middle of their areas, and so on
    moved, value = alternate(problem, parts, [], fixed_total=fixed_total, objective_of=objective_of,
                             deadline=min(deadline, time.monotonic() + window), stopped=stopped, from_plan=served)
    return moved if moved is not None and value < objective_of(served) else served


def lp_bound(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None, time_limit: float) -> float | None:
    """Lower bound from the linear relaxation of the whole model (every valid pair), or None when
    HiGHS does not finish it in time.

    :func:`solver.lns.relaxation_bound` (GLOP, no contiguity rows) is the other LP bound; each is
    used where it was measured faster: this one on p-median shapes (Lorena-Senne SJC2: 2.3 s
    against 5.0 s), GLOP on large contiguous parts (a 1,000-block ward as one part: 11.6 s against
    22.4 s here, for a bound 0.2% lower)."""
    import highspy

    model = build(problem, parts, fixed_total)
    highs = model.highs
    highs.setOptionValue("solve_relaxation", True)
    highs.setOptionValue("time_limit", float(max(0.5, time_limit)))
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return float(highs.getInfo().objective_function_value)


def relaxed_openings(problem: PlanningProblem, parts: Sequence[Part], *, fixed_total: int | None,
                     restrict: dict[int, set[int]] | None, time_limit: float) -> dict[int, float] | None:
    """How open each site is in the linear relaxation of the (narrowed) model, by the interior
    point method; None when HiGHS does not finish in time. With ``restrict`` the values are a
    guide, not a bound: :func:`solver.solve` rounds them into a start for large problems
    (Lorena-Senne p3038_600, each unit offered its 10 nearest sites: 27,342 pairs solved in 4 s,
    364 sites wholly open and the rounded start 9% better than the construction's)."""
    import highspy

    model = build(problem, parts, fixed_total, restrict)
    highs = model.highs
    highs.setOptionValue("solve_relaxation", True)
    highs.setOptionValue("solver", "ipm")
    highs.setOptionValue("time_limit", float(max(0.1, time_limit)))
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    values = highs.getSolution().col_value
    return {j: float(values[col]) for j, col in model.open_column.items()}


def nearest_sites(problem: PlanningProblem, parts: Sequence[Part], per_unit: int,
                  keep: dict[int, int] | None = None) -> dict[int, set[int]]:
    """For ``restrict``: each unit offered to its ``per_unit`` nearest sites of its part, the sites
    standing in it, and its site in ``keep`` (so a known plan stays feasible)."""
    out: dict[int, set[int]] = {}
    for part in parts:
        sites = np.array(part.sites, dtype=int)
        for i in part.units:
            row = problem.distance[i, sites]
            chosen = sites[np.argsort(row, kind="stable")[:per_unit]].tolist()
            for j in chosen:
                out.setdefault(int(j), set()).add(i)
        for j in part.sites:
            out.setdefault(int(j), set()).add(int(problem.site_unit[j]))
    for i, j in (keep or {}).items():
        out.setdefault(int(j), set()).add(int(i))
    return out

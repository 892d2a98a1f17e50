"""The benchmark harness keeps working: a quick subset runs end to end and writes its tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).parents[2] / "shared" / "benchmarks"


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/benchmarks is not beside the project")
def test_quick_benchmark_subset(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    completed = subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick", "--no-peer", "--out", str(out)],
                               capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1])
    assert completed.returncode == 0, completed.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    assert "## Targets" in text and "machine" in text and "python -m benchmarks.run" in text
    results = json.loads((tmp_path / "results-quick.json").read_text(encoding="utf-8"))
    records = results["records"]
    assert records and results["meta"]
    assert not [r for r in records if r.get("error")], [r.get("error") for r in records]


def test_engine_benchmarks_quick() -> None:
    from benchmarks.engine import markdown, run

    figures = run(quick=True)
    assert all("error" not in f for f in figures.values()), figures
    assert figures["road_matrix"]["reachable"] == 1.0
    assert figures["eligibility"]["eligible"] > 0
    lines = markdown(figures)
    assert any("road matrix" in line for line in lines)


def test_moonshot_row_counts_proofs_within_twice_the_paper_time() -> None:
    """The Targets table says how many of the Validi states with contiguity and more than one
    district were proven within twice the paper's time, and names the others."""
    from benchmarks.run import MOONSHOT, _group_targets

    def record(name: str, seconds: float, paper: float, *, met: bool = True, contiguity: bool = True,
               areas: int = 4) -> dict:
        return {"family": "districting-validi", "name": name, "mode": "fixed", "target": "optimum proven",
                "target_met": met, "seconds": seconds, "paper_seconds": paper, "contiguity": contiguity,
                "known_kind": "optimal", "areas": areas}

    records = [record("MS", 0.9, 0.49), record("KS", 10.3, 1.10), record("AL", 20.1, 19.41, met=False),
               record("AR-nocontig", 0.5, 0.53, contiguity=False), record("WY", 0.0, 0.01, areas=1)]
    groups = _group_targets(records)
    moonshot = groups[MOONSHOT]
    assert [r["name"] for r in moonshot] == ["MS", "KS", "AL"]
    assert [r["name"] for r in moonshot if r["target_met"]] == ["MS"]
    # the issue's own target row is unchanged by the moonshot verdicts
    assert [r["target_met"] for r in groups["districting-validi: optimum proven"]] == [True, True, False, True, True]


def test_the_issues_49_unit_commune_and_its_verdict_against_spopt() -> None:
    from benchmarks.communes import peer_instances
    from benchmarks.run import target_of

    # the issue's comparison: 49 units, 41 sites, 12 areas, in spopt's terms (no contiguity, one group)
    (item,) = peer_instances(["urban-49-seed1"])
    p = item.problem
    assert (p.n_units, p.n_sites, p.areas, p.contiguity) == (49, 41, 12, False)
    assert set(p.group.tolist()) == {0}
    record = {"family": item.family, "name": item.name, "status": "optimal", "gap": 0.0, "time_limit": 60.0,
              "known_kind": "none", "seconds": 9.6, "peer": {"status": "optimal", "seconds": 10.5}}
    assert target_of(record)[1] is True
    assert target_of({**record, "seconds": 11.0})[1] is False  # proven, but after spopt
    assert target_of({**record, "peer": {"status": "failed", "seconds": 60.0}})[1] is True
    assert target_of({**record, "status": "feasible", "gap": 0.001})[1] is False


def test_spopt_peer_prices_out_unreachable_sites() -> None:
    pytest.importorskip("spopt")
    from benchmarks.peers import run_spopt
    from solver.problem import PlanningProblem

    # an islet (unit 3) that no mainland unit reaches and that reaches no mainland site (infinite
    # distance, as the generated urban communes have): PuLP refused the inf ("Cannot multiply
    # variables with NaN/inf values") and the peer column of cpmp-commune said "failed"
    inf = np.inf
    distance = np.array([[0.0, 1.0, inf], [1.0, 0.0, inf], [2.0, 1.0, inf], [inf, inf, 0.0]])
    problem = PlanningProblem(
        unit_ids=("U0", "U1", "U2", "U3"), weights=np.array([100, 100, 100, 100]), sparse=np.zeros(4, dtype=bool),
        group=np.zeros(4, dtype=int), group_labels=("X",), neighbours=((1,), (0, 2), (1,), ()),
        site_ids=("S0", "S1", "S3"), site_unit=np.array([0, 1, 3]), capacity=np.array([4000, 4000, 4000]),
        distance=distance, min_voters=0, max_voters=4000, areas=2, contiguity=False)
    result = run_spopt(problem, 10)
    assert result.status == "optimal", result.message
    assert result.objective == pytest.approx(200.0)  # S1 serves the mainland, S3 the islet

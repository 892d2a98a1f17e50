"""Shared fixtures: tiny grid communes and a CLI runner."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from communes import GridCommune  # noqa: E402

from planner.cli import app  # noqa: E402


class Cli:
    """Runs ``pollplan`` in-process and returns (exit code, stdout, stderr)."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str) -> tuple[int, str, str]:
        result = self.runner.invoke(app, [str(a) for a in args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    def json(self, *args: str) -> tuple[int, dict]:
        code, out, _ = self(*args, "--json")
        return code, json.loads(out)


@pytest.fixture
def cli() -> Cli:
    return Cli()


def basic_commune(**overrides) -> GridCommune:
    """Three electoral units, 12 units of 400 voters, six sites: feasible, several areas."""
    values = dict(rows=["AAAB", "AAAB", "CCBB"], voters=400,
                  sites=[(0, 0, 2000), (1, 2, 2000), (0, 3, 2000), (2, 0, 1500), (2, 3, 3000), (1, 1, 2000)])
    values.update(overrides)
    return GridCommune(**values)


@pytest.fixture
def basic(tmp_path: Path) -> Path:
    return basic_commune().write(tmp_path / "scenario")

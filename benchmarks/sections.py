"""Keeping a marked section of ``benchmarks/RESULTS.md`` up to date without touching the rest."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path


def stamp(command: str) -> list[str]:
    """Machine, date, versions and the exact command, for every table."""
    from importlib.metadata import version

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return [f"Measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.platform()}, "
            f"{os.cpu_count()} CPUs, {memory:.1f} GiB RAM; Python {platform.python_version()}, "
            f"OR-Tools {version('ortools')}, HiGHS (highspy) {version('highspy')}. Command: `{command}`.", ""]


def publish(name: str, figures: dict, lines: list[str], argv: list[str]) -> None:
    """Print a benchmark's figures and table; with ``--update FILE`` in ``argv``, write its section
    of FILE, stamped with the command that re-makes it."""
    import json

    print(json.dumps(figures, indent=2, default=str))
    print("\n".join(lines))
    if "--update" in argv:
        target = Path(argv[argv.index("--update") + 1])
        command = " ".join(["python -m benchmarks." + name, *argv[1:]])
        update(target, name, lines[:2] + stamp(command) + lines[2:])


def update(path: Path, name: str, lines: list[str]) -> None:
    """Replace (or append) the section between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = "\n".join([start, *lines, end])
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")

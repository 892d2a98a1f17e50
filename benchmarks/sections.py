"""Keeping a marked section of ``benchmarks/RESULTS.md`` up to date without touching the rest."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path


def stamp(command: str) -> list[str]:
    """Machine, date, versions and the exact command, for every table."""
    import ortools

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return [f"Measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.platform()}, "
            f"{os.cpu_count()} CPUs, {memory:.1f} GiB RAM; Python {platform.python_version()}, "
            f"OR-Tools {ortools.__version__}. Command: `{command}`.", ""]


def update(path: Path, name: str, lines: list[str]) -> None:
    """Replace (or append) the section between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = "\n".join([start, *lines, end])
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")

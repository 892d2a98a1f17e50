"""A synthetic province: many communes of mixed kinds and realistic sizes, one scenario folder each.

Used by the batch benchmarks and tests (``pollplan batch``). Sizes follow the rule book's
statistics: about 22 polling areas per commune on average, rural communes of 20-60 units, urban
wards of 30-80, mountain communes of 15-40 sparse units.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from .generator import generate_commune

KINDS = ("rural", "urban", "mountain")
UNITS = {"rural": (20, 60), "urban": (30, 80), "mountain": (15, 40)}
SHARES = (0.55, 0.25, 0.20)


def generate_province(out_dir: Path, *, communes: int = 100, seed: int = 0, with_registry: bool = False,
                      province_code: int = 46) -> list[Path]:
    """Write ``communes`` scenario folders under ``out_dir`` (``<code>-<kind>``); returns them."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    folders = []
    for index in range(communes):
        kind = KINDS[int(rng.choice(len(KINDS), p=SHARES))]
        low, high = UNITS[kind]
        n_units = int(rng.integers(low, high + 1))
        code = f"{province_code:02d}{index + 1:03d}"
        folder = out_dir / f"{code}-{kind}"
        generate_commune(folder, kind=kind, seed=seed * 1000 + index, n_units=n_units, with_registry=with_registry,
                         overwrite=True)
        toml = folder / "scenario.toml"
        text = toml.read_text(encoding="utf-8")
        text = re.sub(r'commune_code = "\d+"', f'commune_code = "{code}"', text)
        toml.write_text(text, encoding="utf-8")
        folders.append(folder)
    return folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a synthetic province of commune scenarios.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--communes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--registry", action="store_true", help="also write each commune's voters.csv")
    args = parser.parse_args(argv)
    folders = generate_province(args.out, communes=args.communes, seed=args.seed, with_registry=args.registry)
    print(f"{len(folders)} communes in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

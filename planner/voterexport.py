"""Writing the voter documents of a plan: lists (internal and posted), cards, eligibility report.

Layout of the output folder (written atomically):

- ``internal/KVnn.xlsx``, ``internal/KVnn.pdf``: every list with personal ID numbers, including the
  confidential armed-forces lists (R23), for the commune committee;
- ``internal/cards/KVnn-the-cu-tri.pdf``: one voter card per voter;
- ``internal/duplicates.csv``: each duplicate citizen id and the row kept (R20);
- ``public/KVnn.xlsx``, ``public/KVnn.pdf``: the posted lists, without ID numbers and without
  armed-forces areas or their counts (R23, R25);
- ``eligibility.json``: counts by reason per unit and in total, no personal data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from planner.atomic import folder_in_place
from planner.documents import write_cards_pdf, write_list_pdf, write_list_xlsx
from planner.plan import PlanFiles
from planner.scenario import Scenario
from planner.voterlists import VoterLists, build_lists

FORMATS = ("xlsx", "pdf")


def _write_area(job: tuple) -> list[Path]:
    """Every document of one area: internal and posted lists, and its voter cards."""
    area, commune, election_date, tmp, formats, cards = job
    name = f"KV{area.number:02d}"
    written = []
    for public in (False, True):
        if public and area.confidential:
            continue  # armed-forces lists are never posted (R23)
        folder = tmp / ("public" if public else "internal")
        if "xlsx" in formats:
            written.append(write_list_xlsx(area, commune, folder / f"{name}.xlsx", public=public))
        if "pdf" in formats:
            written.append(write_list_pdf(area, commune, folder / f"{name}.pdf", public=public))
    if cards and len(area.rows):
        written.append(write_cards_pdf([area], commune, election_date,
                                       tmp / "internal" / "cards" / f"{name}-the-cu-tri.pdf"))
    return written


@dataclass(frozen=True)
class VoterExport:
    folder: Path
    lists: VoterLists
    files: tuple[Path, ...]


def export_voter_documents(scenario: Scenario, plan: PlanFiles, out: Path, *, formats: tuple[str, ...] = FORMATS,
                           cards: bool = True, lists: VoterLists | None = None,
                           on_progress: Callable[[str, float], None] | None = None) -> VoterExport:
    """Build the lists and write every document into ``out`` (replaced atomically)."""
    lists = lists or build_lists(scenario, plan)
    out = Path(out)
    commune = scenario.config.name
    written: list[Path] = []
    with folder_in_place(out) as tmp:
        jobs = [(area, commune, scenario.params.election_date.isoformat(), tmp, formats, cards)
                for area in lists.lists]
        total = len(jobs)
        for k, job in enumerate(jobs, start=1):  # one process: measured faster than a pool here
            written.extend(_write_area(job))
            if on_progress:
                on_progress("voter lists", k / total)
        duplicates = lists.assessed[lists.assessed["reason"] == "duplicate"]
        kept = lists.assessed.loc[duplicates["kept_row"].tolist()] if len(duplicates) else duplicates
        (tmp / "internal").mkdir(parents=True, exist_ok=True)
        with open(tmp / "internal" / "duplicates.csv", "w", encoding="utf-8", newline="") as handle:
            handle.write("citizen_id,dropped_line,dropped_unit,kept_line,kept_unit,kept_facility\n")
            for (line, row), (kept_line, kept_row) in zip(duplicates.iterrows(), kept.iterrows()):
                handle.write(f"{row['citizen_id']},{line},{row['unit_id']},{kept_line},{kept_row['unit_id']},"
                             f"{kept_row['facility_id']}\n")
        public_report = {k: v for k, v in lists.report.items()}
        with open(tmp / "eligibility.json", "w", encoding="utf-8") as handle:
            json.dump(public_report, handle, ensure_ascii=False, indent=2)
    files = tuple(out / p.relative_to(tmp) for p in written)
    return VoterExport(out, lists, files)

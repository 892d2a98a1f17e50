"""pollplan_data: synthetic Vietnamese communes for pollplan.

``pollplan_data.generator`` builds deterministic scenario folders (see
``SCENARIO-FORMAT.md``); ``demo/`` beside this file is the committed demo commune
it produced.  Regenerate it with::

    python -m pollplan_data.generator data/demo --kind rural --seed 2026 --overwrite
"""

from pathlib import Path

#: Folder of the committed demo scenario (``data/demo``).
DEMO_DIR = Path(__file__).resolve().parent / "demo"

__all__ = ["DEMO_DIR"]

"""The dashboard app run from here, for AppTest (``tests/dashboards/apptest.py`` says why)."""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py"),
               run_name="__main__")

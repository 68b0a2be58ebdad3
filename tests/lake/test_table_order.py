"""The registry of tables has one order whatever module is imported first: the README's table
documentation, ``lake tables`` and the Glue catalog must not change with a test run's import
order (a module that registers tables, imported before ``lake.schemas``, used to come last)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _order_after_importing(module: str) -> list[str]:
    code = (f"import json, {module}\n"
            "from lake.schemas import TABLES\n"
            "print(json.dumps(list(TABLES)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("first", ["lake.catalog", "lake.schemas_cost", "lake.schemas_rollup",
                                   "lake.schemas_dragen", "lake.schemas_release"])
def test_the_order_of_tables_does_not_depend_on_what_was_imported_first(first: str):
    assert _order_after_importing(first) == _order_after_importing("lake.schemas")


def test_core_tables_come_first_then_the_others_by_name():
    order = _order_after_importing("lake.schemas")
    core = ["arrivals", "runs", "job_attempts", "decisions", "qc_metrics", "qc_results", "costs",
            "quarantine"]
    assert order[:8] == core
    assert order[8:] == sorted(order[8:]) and "qc_histograms" in order[8:]

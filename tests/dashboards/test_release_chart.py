"""The Releases page's comparison chart beyond ``STRIP_MAX`` runs (issue 14, speed): one box per
release from numbers computed on the server, not every run sent to the browser as a dot."""

from __future__ import annotations

import pandas as pd

from dashboards.qc_charts import STRIP_MAX, release_comparison


def _points(n: int) -> pd.DataFrame:
    # release a: 0 … n-1, release b: n … 2n-1 (so each quartile is known by hand)
    return pd.DataFrame({"pipeline_release": ["a"] * n + ["b"] * n, "sample_id": "S",
                         "run_id": [f"r{i}" for i in range(2 * n)],
                         "value": [float(i) for i in range(2 * n)]})


def test_many_runs_are_drawn_as_five_numbers_per_release():
    spec = release_comparison(_points(1000), "cost_usd", ["a", "b"]).to_dict()
    (rows,) = spec["datasets"].values()
    assert [{k: r[k] for k in ("pipeline_release", "runs", "min", "q1", "median", "q3", "max")}
            for r in rows] == [
        {"pipeline_release": "a", "runs": 1000, "min": 0.0, "q1": 249.75, "median": 499.5,
         "q3": 749.25, "max": 999.0},
        {"pipeline_release": "b", "runs": 1000, "min": 1000.0, "q1": 1249.75, "median": 1499.5,
         "q3": 1749.25, "max": 1999.0}]
    assert spec["title"] == "cost_usd by release (2,000 runs: min, quartiles, median, max)"


def test_few_runs_keep_every_run_as_a_dot():
    n = STRIP_MAX // 2
    spec = release_comparison(_points(n), "cost_usd", ["a", "b"]).to_dict()
    (rows,) = spec["datasets"].values()
    assert len(rows) == 2 * n and spec["title"] == "cost_usd by release"

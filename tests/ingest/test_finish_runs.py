"""``finish_runs`` on a batch: costs written as columns are the per-attempt estimate's rows, and
runs whose folders are not there are refused and left untagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingest.results import attempt_usage_for, finish_runs
from lake.store import LakeStore
from pipeline_runner.cost import estimate_attempt_cost
from pipeline_runner.prices import PriceBook
from pipeline_runner.service import AttemptSummary, FinishedRun

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TAGS = {"project": "cardio", "sample_id": "S1", "run_id": "R1", "cost_centre": "CC-1",
        "requested_by": "a.lee", "workflow": "dragen-germline-wgs",
        "pipeline_release": "dragen-4.2.4"}


def _attempt(i: int, n: int, status: str, capacity: str, started: bool = True,
             ) -> AttemptSummary:
    start = T0 + timedelta(hours=3 * n)
    return AttemptSummary(f"job-{i}-{n}", n, capacity, status, None, None, start,
                          start if started else None,
                          start + timedelta(hours=2, seconds=7 * n) if started else None,
                          "f1.2xlarge", f"i-{n}", "q", 8, 60000)


def _run(i: int, status: str, output: str) -> FinishedRun:
    attempts = (_attempt(i, 1, "FAILED", "spot"),
                _attempt(i, 2, "FAILED", "spot", started=False),
                _attempt(i, 3, status, "on-demand"))
    return FinishedRun(f"R{i}", f"S{i}", "cardio", status, T0 + timedelta(hours=12), output,
                       {**TAGS, "run_id": f"R{i}", "sample_id": f"S{i}"}, attempts, "")


def test_a_batch_writes_the_estimates_rows_and_refuses_absent_folders_untagged(
        lake_settings, tmp_path) -> None:
    store, book = LakeStore(lake_settings), PriceBook.load_default()
    runs = [_run(1, "SUCCEEDED", f"{tmp_path}/out/cardio/S1/R1/attempt-3/"),
            _run(2, "FAILED", f"{tmp_path}/out/cardio/S2/R2/attempt-3/"),
            _run(3, "SUCCEEDED", f"{tmp_path}/out/cardio/S3/R3/attempt-3/")]
    inputs = {r.run_id: ("fastq", 80 * 10**9) for r in runs}
    tagged = []
    results = finish_runs(store, runs, book, inputs,
                          tag_run=lambda run: tagged.append(run.run_id) or 5)
    assert tagged == []  # no folder to tag: nothing under the missing output prefix
    assert [(r.run_id, r.status, r.cost_rows, r.quarantined, r.objects_tagged)
            for r in results] == [("R1", "SUCCEEDED", 6, 1, 0), ("R2", "FAILED", 6, 0, 0),
                                  ("R3", "SUCCEEDED", 6, 1, 0)]
    from pipeline_runner.workflows import input_bases

    expected = [row for r in runs for a in r.attempts if a.started_at is not None
                for row in estimate_attempt_cost(
                    attempt_usage_for(r.tags, a, input_bases("fastq", 80 * 10**9)), book)]
    written = store.read("costs").drop_columns(["recorded_at", "schema_version"]).to_pylist()
    key = lambda row: (row["job_id"], row["component"])  # noqa: E731
    assert sorted(written, key=key) == sorted(expected, key=key)
    assert {row["price_status"] for row in written} == {"list", "approximate", "assumed"}
    quarantined = store.read("quarantine").to_pylist()
    assert sorted(q["source"] for q in quarantined) == [
        f"{tmp_path}/out/cardio/S1/R1/attempt-3", f"{tmp_path}/out/cardio/S3/R3/attempt-3"]
    assert {q["reason"] for q in quarantined} == {"run folder not found"}


def test_a_present_output_prefix_is_looked_at_run_by_run_and_tagged(lake_settings,
                                                                     tmp_path) -> None:
    (tmp_path / "out" / "S2" / "R2").mkdir(parents=True)
    store = LakeStore(lake_settings)
    tagged = []
    runs = [_run(1, "SUCCEEDED", f"{tmp_path}/out/S1/R1/"),
            _run(2, "SUCCEEDED", f"{tmp_path}/out/S2/R2/")]
    results = finish_runs(store, runs, PriceBook.load_default(), {},
                          tag_run=lambda run: tagged.append(run.run_id) or 0)
    assert tagged == ["R1", "R2"]
    assert [(r.quarantined, r.cost_rows) for r in results] == [(1, 6), (0, 6)]
    (q,) = store.read("quarantine").to_pylist()
    assert (q["source"], q["reason"]) == (f"{tmp_path}/out/S1/R1", "run folder not found")


def test_a_run_whose_last_attempt_wrote_nothing_is_still_tagged_in_its_run_folder(
        lake_settings, tmp_path) -> None:
    """Tagging covers every attempt's outputs: the run folder is there (attempt 1 wrote into
    it) though the last attempt's folder is not."""
    (tmp_path / "out" / "S1" / "R1" / "attempt-1").mkdir(parents=True)
    tagged = []
    results = finish_runs(LakeStore(lake_settings),
                          [_run(1, "SUCCEEDED", f"{tmp_path}/out/S1/R1/attempt-3/")],
                          PriceBook.load_default(), {},
                          tag_run=lambda run: tagged.append(run.run_id) or 4)
    assert tagged == ["R1"]
    assert (results[0].quarantined, results[0].objects_tagged) == (1, 4)

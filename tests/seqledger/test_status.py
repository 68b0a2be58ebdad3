"""``seqledger status``: samples missing a mate, runs queued and retrying, quarantine by reason."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner

from analytics.engine import connect
from analytics.pending import quarantine_by_reason, runs_queued, runs_retrying, samples_waiting
from seqledger.cli import main
from tests.ingest.batch_payloads import job_event
from tests.ingest.test_real_world import RECLAIMED, T0, _obj, _service


def _lake(lake_settings, tmp_path):
    service = _service(lake_settings, tmp_path)
    service.process([_obj("cardio/W/W_S1_L001_R1_001.fastq.gz"),
                     _obj("cardio/W/W_S1_L001_R2_001.fastq.gz"),
                     _obj("cardio/W/W_S1_L002_R1_001.fastq.gz"),  # lane 2 lacks its R2
                     _obj("cardio/Q/Q.cram"),  # dispatched, never started
                     _obj("cardio/R/R.cram"),
                     _obj("cardio/X/X_single.fastq.gz"),  # refused: no mate marker
                     _obj("cardio/Y/Y_single.fastq.gz")], now=T0)
    (retrying,) = [r for r in service.store.read("runs").to_pylist() if r["sample_id"] == "R"]
    (sub,) = [a for a in service.store.read("job_attempts").to_pylist()
              if a["run_id"] == retrying["run_id"]]
    tags = service.runner.run_request(retrying["run_id"]).tags
    start, stop = T0 + timedelta(minutes=5), T0 + timedelta(hours=1)
    failed = job_event(sub["job_id"], sub["job_name"], "FAILED", stop, queue="dragen-spot",
                       tags=tags, created_at=T0, started_at=start, stopped_at=stop,
                       reason=RECLAIMED, exit_code=143)
    service.process([("reclaimed", failed)], now=stop)
    return retrying["run_id"]


def test_pending_queries_say_what_waits_and_why(lake_settings, tmp_path):
    run_id = _lake(lake_settings, tmp_path)
    con = connect(lake_settings)
    (w,) = samples_waiting(con).to_pylist()
    assert (w["sample_id"], w["lane"], w["missing_mate"], w["r1_files"], w["r2_files"]) == (
        "W", "L002", "R2", 1, 0)
    assert [r["sample_id"] for r in runs_queued(con).to_pylist()] == ["Q"]
    (r,) = runs_retrying(con).to_pylist()
    assert (r["run_id"], r["failure_kind"], r["next_capacity"]) == (run_id, "spot_reclaim", "spot")
    (q,) = quarantine_by_reason(con, T0 - timedelta(days=1)).to_pylist()
    assert q["inputs"] == 2 and q["stage"] == "ingest.classify" and "mate marker" in q["reason"]
    assert quarantine_by_reason(con, T0 + timedelta(days=1)).num_rows == 0


def test_status_prints_each_section(lake_settings, tmp_path, monkeypatch):
    _lake(lake_settings, tmp_path)
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_settings.lake_uri)
    out = CliRunner().invoke(main, ["status", "--since", "2026-03-01"])
    assert out.exit_code == 0, out.output
    text = out.output
    assert "samples waiting for a mate: 1" in text and "L002" in text
    assert "runs queued (dispatched, not started): 1" in text
    assert "runs retrying: 1" in text and "spot_reclaim" in text
    assert "quarantined since 2026-03-01, by reason: 1" in text


class _ThroughTrino:
    """An engine that runs each query as Athena would get it, brought back to DuckDB."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.stats = inner, "trino-round-trip", []

    def table(self, sql, params=(), limit=None):
        from analytics.dialect import from_trino, to_trino

        return self.inner.table(from_trino(to_trino(sql, params)), (), limit)

    def rows(self, sql, params=()):
        return self.table(sql, params).to_pylist()

    def close(self) -> None:
        self.inner.close()


def test_the_pending_queries_give_the_same_answers_after_the_trino_round_trip(lake_settings,
                                                                             tmp_path):
    from analytics.engine import as_engine

    _lake(lake_settings, tmp_path)
    native = as_engine(connect(lake_settings))
    tripped = _ThroughTrino(as_engine(connect(lake_settings)))
    since = T0 - timedelta(days=1)
    for query, args in [(samples_waiting, ()), (runs_queued, ()), (runs_retrying, ()),
                        (quarantine_by_reason, (since,))]:
        want, got = query(native, *args).to_pylist(), query(tripped, *args).to_pylist()
        assert got == want and want, query.__name__
    # every match of a number is folded, not only the first: the flag survives the round trip
    (q,) = quarantine_by_reason(tripped, since).to_pylist()
    assert not any(ch.isdigit() for ch in q["reason"])


def test_status_reports_rollup_months_behind_their_facts(lake_settings, tmp_path, monkeypatch):
    _lake(lake_settings, tmp_path)
    monkeypatch.setenv("SEQLEDGER_LAKE", lake_settings.lake_uri)
    out = CliRunner().invoke(main, ["status"])
    assert out.exit_code == 0, out.output
    # the ingest wrote runs and attempts (no costs) and never rolled up: the rollups of those
    # facts lag (the run and attempt ones among them), the cost ones do not
    from analytics.rollups import ROLLUPS
    from lake.store import LakeStore

    store = LakeStore(lake_settings)
    # a rollup lags where its facts have files (the QC ones only once there are QC results)
    lagging = sorted(r.table for r in ROLLUPS if any(store.files(t) for t in r.facts)
                     and (r.needs is None or store.files(r.needs)))
    assert {"rollup_attempts_daily", "rollup_run_samples_monthly", "rollup_runs_daily"} <= set(
        lagging) and "rollup_costs_monthly" not in lagging
    assert f"rollup months behind their facts: {len(lagging)}" in out.output
    assert [ln.split() for ln in out.output.splitlines() if ln.startswith("rollup_")] == [
        [t, "2026-03"] for t in lagging]
    assert "computed from the facts on every query until `seqledger lake rollup --stale`" in (
        out.output)
    assert CliRunner().invoke(main, ["lake", "rollup", "--stale"]).exit_code == 0
    again = CliRunner().invoke(main, ["status"])
    assert "rollup months behind their facts: 0" in again.output

"""The demo month, on a local lake and on a real S3 server, read back with plain DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from lake.settings import Settings
from seqledger.cli import main
from seqledger.demo import play

SAMPLES = 12


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory) -> tuple[Settings, object]:
    root = tmp_path_factory.mktemp("demo")
    settings = Settings(lake_uri=str(root / "lake"))
    return settings, play(settings, samples=SAMPLES, seed=11, workdir=root)


def test_the_month_ends_with_every_run_finished_gated_and_priced(demo_lake):
    settings, result = demo_lake
    s = result.summary
    assert s["samples_arrived"] == SAMPLES + 2  # plus the orphan mate and the unfunded pilot
    # every complete, funded sample became exactly one run, and every run finished
    assert s["runs"] == SAMPLES
    assert s["runs_succeeded"] + s["runs_failed"] == s["runs"]
    assert s["attempts"] >= s["runs"]
    assert s["attempts"] == s["runs"] + s["retries"]
    assert s["qc_pass"] + s["qc_review"] + s["qc_fail"] == s["runs_succeeded"]
    assert s["cost_usd"] > 0
    assert sum(p["runs"] for p in s["cost_by_project"]) == s["runs"]
    # the broken event file and the unfunded project (files that are not inputs are recorded
    # in arrivals with their reason, not quarantined)
    assert s["quarantined"] >= 2


def test_plain_duckdb_reads_the_lake_and_agrees_with_seqledger(demo_lake):
    settings, result = demo_lake
    lake = settings.lake_uri
    con = duckdb.connect()
    total = con.sql(f"""
        SELECT sum(cost_usd) FROM (
            SELECT DISTINCT job_id, attempt, component, cost_usd
            FROM read_parquet('{lake}/costs/**/*.parquet', hive_partitioning = true)
            WHERE project <> 'giab-validation')  -- the summary is the production month's
    """).fetchone()[0]
    assert total == pytest.approx(result.summary["cost_usd"])
    by_project = dict(
        con.sql(f"""
        SELECT project, count(DISTINCT run_id)
        FROM read_parquet('{lake}/runs/**/*.parquet', hive_partitioning = true)
        WHERE project <> 'giab-validation' GROUP BY 1
    """).fetchall()
    )
    assert by_project == {p["project"]: p["runs"] for p in result.summary["cost_by_project"]}
    months = {
        r[0]
        for r in con.sql(
            f"SELECT DISTINCT month FROM read_parquet('{lake}/runs/**/*.parquet', "
            "hive_partitioning = true)"
        ).fetchall()
    }
    assert months <= {"2026-10", "2026-11"}


def test_replaying_the_demo_event_files_changes_nothing(demo_lake, monkeypatch):
    settings, result = demo_lake
    from lake.store import LakeStore

    store = LakeStore(settings)
    before = {t: store.read(t).num_rows for t in ("arrivals", "runs", "job_attempts", "costs")}
    files = sorted(str(p) for p in Path(result.events_dir).glob("*.json"))
    monkeypatch.setenv("SEQLEDGER_LAKE", settings.lake_uri)
    monkeypatch.setenv("SEQLEDGER_PROJECTS", str(Path(result.events_dir).parent / "projects.toml"))
    out = CliRunner().invoke(main, ["ingest", "event", *files])
    assert out.exit_code == 1  # the truncated file is quarantined again, and named
    assert "9999-truncated.json" in out.output
    after = {t: store.read(t).num_rows for t in before}
    assert after == before


@pytest.mark.integration
def test_the_demo_runs_on_a_real_s3_lake(s3_settings, tmp_path):
    result = play(s3_settings, samples=4, seed=3, workdir=tmp_path)
    assert result.summary["runs"] == 4
    assert result.summary["cost_usd"] > 0
    assert result.lake_uri.startswith("s3://lake/")


def test_report_cost_by_user_adds_up_to_the_month(demo_lake, monkeypatch):
    settings, result = demo_lake
    monkeypatch.setenv("SEQLEDGER_LAKE", settings.lake_uri)
    out = CliRunner().invoke(main, ["report", "cost", "--by", "user"])
    assert out.exit_code == 0, out.output
    lines = [line.split() for line in out.output.splitlines()]
    users = {
        cells[0]: float(cells[1].lstrip("~").replace(",", ""))
        for cells in lines
        if cells and cells[0] in {"a.lee", "m.okafor", "j.santos"}
    }
    assert set(users) <= {"a.lee", "m.okafor", "j.santos"} and users
    assert sum(users.values()) == pytest.approx(result.summary["cost_usd"], abs=0.05)

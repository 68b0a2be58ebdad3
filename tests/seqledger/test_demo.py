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
    # seed 7: two Spot reclaims among the 12 samples, whose hosts Batch names
    return settings, play(settings, samples=SAMPLES, seed=7, workdir=root)


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


def test_the_month_records_instance_lives_and_a_reclaimed_job_pays_its_instance(demo_lake):
    """Issue 12, item 4: every placed attempt ran on an instance with a known life; the
    attempts whose host Batch named (Spot reclaims) are charged it from launch to
    termination."""
    from analytics.engine import connect

    settings, result = demo_lake
    s = result.summary
    con = connect(settings)
    prod = "project IS DISTINCT FROM 'giab-validation'"  # the release validations: no EC2
    placed = con.sql("SELECT count(DISTINCT job_id) FROM job_attempts "
                     f"WHERE status = 'STARTING' AND {prod}").fetchone()[0]
    lives = con.sql("SELECT count(*), count(ended_at), count(availability_zone), "
                    "min(date_diff('second', launched_at, ended_at)) FROM instance_lives"
                    ).fetchone()
    assert lives[:3] == (placed, placed, placed) and lives[3] > 0
    named = con.sql(f"""
        SELECT a.job_id, l.launched_at, l.ended_at,
               sum(c.quantity) AS instance_h, max(c.usage_end_at) AS charged_until
        FROM (SELECT DISTINCT job_id, instance_id FROM job_attempts
              WHERE instance_id IS NOT NULL AND {prod}) a
        JOIN instance_lives l ON l.instance_id = a.instance_id
        JOIN costs c ON c.job_id = a.job_id AND c.component LIKE 'compute%'
        GROUP BY a.job_id, l.launched_at, l.ended_at""").fetchall()
    assert named and len(named) == s["spot_reclaims"]
    for job_id, launched, ended, hours, until in named:
        # launch to the later of the reclaim and the container's billed stop (60 s minimum)
        assert hours == pytest.approx((max(ended, until) - launched).total_seconds() / 3600,
                                      abs=1 / 3600), job_id
    assert s["whole_instance_attempts"] == s["spot_reclaims"]
    assert s["instance_boot_idle_usd"] > 0
    assert s["automation"]["cost_usd"] > 0 and s["automation"]["unpriced"] == 0


def test_plain_duckdb_reads_the_lake_and_agrees_with_seqledger(demo_lake):
    settings, result = demo_lake
    lake = settings.lake_uri
    con = duckdb.connect()
    total = con.sql(f"""
        SELECT sum(cost_usd) FROM (
            -- costs is versioned: the latest row of a key wins (a compute estimate restated
            -- once its instance's termination is known)
            SELECT job_id, attempt, component, cost_usd
            FROM read_parquet('{lake}/costs/**/*.parquet', hive_partitioning = true)
            WHERE project <> 'giab-validation'  -- the summary is the production month's
            QUALIFY row_number() OVER (
                PARTITION BY job_id, attempt, component ORDER BY recorded_at DESC) = 1)
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
    lake_files = sorted(Path(settings.lake_uri).rglob("*.parquet"))
    quarantine = store.read("quarantine").sort_by("quarantine_id")
    files = sorted(str(p) for p in Path(result.events_dir).glob("*.json"))
    monkeypatch.setenv("SEQLEDGER_LAKE", settings.lake_uri)
    monkeypatch.setenv("SEQLEDGER_PROJECTS", str(Path(result.events_dir).parent / "projects.toml"))
    out = CliRunner().invoke(main, ["ingest", "event", *files])
    assert out.exit_code == 1  # the truncated file is quarantined again, and named
    assert "9999-truncated.json" in out.output
    after = {t: store.read(t).num_rows for t in before}
    assert after == before
    assert "objects: 0 new" in out.output
    # not a row re-stamped, not a file added: the lake is exactly as the demo left it
    assert sorted(Path(settings.lake_uri).rglob("*.parquet")) == lake_files
    assert store.read("quarantine").sort_by("quarantine_id").equals(quarantine)


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


# -- which lakes the demo may write to -----------------------------------------------------------


def test_the_demo_owns_a_new_path_an_empty_folder_and_its_own_marked_lake(tmp_path):
    from seqledger.demo import MARKER, claim_lake, mark_lake

    assert claim_lake(Settings(lake_uri=str(tmp_path / "new"))).owned
    (tmp_path / "empty").mkdir()
    assert claim_lake(Settings(lake_uri=str(tmp_path / "empty"))).owned
    mark_lake(Settings(lake_uri=str(tmp_path / "marked")))
    (tmp_path / "marked" / "runs").mkdir()
    (tmp_path / "marked" / "runs" / "x.parquet").write_bytes(b"rows")
    claim = claim_lake(Settings(lake_uri=str(tmp_path / "marked")))
    assert (claim.owned, claim.files, (tmp_path / "marked" / MARKER).is_file()) == (True, 2, True)


def test_the_demo_does_not_own_a_lake_someone_filled(tmp_path):
    from lake.store import LakeStore
    from pipeline_runner.prices import PriceBook
    from seqledger.demo import claim_lake

    settings = Settings(lake_uri=str(tmp_path / "billing"))
    LakeStore(settings).write("prices", PriceBook.load_default().rows()[:3])
    claim = claim_lake(settings)
    assert not claim.owned
    assert claim.files == len(list((tmp_path / "billing").rglob("*.parquet"))) > 0


def test_a_file_given_as_the_lake_is_refused_not_replaced(tmp_path):
    from lake.location import LakeUnavailableError
    from seqledger.demo import claim_lake

    (tmp_path / "lake").write_text("my notes\n")
    with pytest.raises(LakeUnavailableError, match="is a file, not a folder"):
        claim_lake(Settings(lake_uri=str(tmp_path / "lake")))


def test_replace_says_what_it_removes_and_the_demo_keeps_its_files_in_its_lake(
        tmp_path, monkeypatch):
    from seqledger.demo import MARKER

    lake = tmp_path / "someone-elses"
    (lake / "notes").mkdir(parents=True)
    (lake / "notes" / "keep-me.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEQLEDGER_LAKE", str(lake))
    out = CliRunner().invoke(main, ["demo", "--replace", "--samples", "1", "--seed", "2"])
    assert out.exit_code == 0, out.output
    assert f"removing the lake at {lake} (1 files" in out.output
    assert not (lake / "notes").exists() and (lake / MARKER).is_file()
    # the event files and the project registry live in the demo's lake, not in the current folder
    assert sorted(p.name for p in (lake / "demo" / "demo-events").glob("*.json"))[-1] == \
        "9999-truncated.json"
    assert (lake / "demo" / "projects.toml").is_file()
    assert not (tmp_path / ".seqledger").exists()


def test_the_demo_measures_storage_and_the_archival_that_happened(demo_lake):
    """Every succeeded run's CRAM is tagged, listed by the daily inventories, and in Deep Archive
    from the first inventory after 30 days (S3's midnight rounding); the summary's figures are
    the storage table's, read with plain DuckDB."""
    from datetime import timedelta

    from pipeline_runner.storage import lifecycle_time

    settings, result = demo_lake
    lake = settings.lake_uri
    con = duckdb.connect()
    rows = con.sql(f"""
        SELECT DISTINCT object_key, inventory_at, storage_class, size_bytes, last_modified_at
        FROM read_parquet('{lake}/storage/**/*.parquet', hive_partitioning = true)
        WHERE project <> 'giab-validation' AND data_class = 'alignment'
    """).fetchall()
    crams = {r[0] for r in rows}
    assert len(crams) == result.summary["runs_succeeded"]
    for key in crams:
        mine = sorted((r for r in rows if r[0] == key), key=lambda r: r[1])
        archived = [r[1] for r in mine if r[2] == "DEEP_ARCHIVE"]
        due = lifecycle_time(mine[0][4], 30)
        assert archived[0] - due < timedelta(days=1) and archived[0] >= due, key
        assert all(r[2] == "STANDARD" for r in mine if r[1] < due)
    by_class = {c["storage_class"]: c for c in result.summary["storage_by_class"]}
    deep_gb_months = sum(r[3] / 2**30 / 31 if r[1].month in (10, 12) else r[3] / 2**30 / 30
                         for r in rows if r[2] == "DEEP_ARCHIVE")
    assert by_class["DEEP_ARCHIVE"]["gb_months"] == pytest.approx(deep_gb_months, abs=0.051)
    assert by_class["DEEP_ARCHIVE"]["cost_usd"] < by_class["DEEP_ARCHIVE"]["standard_usd"] / 20

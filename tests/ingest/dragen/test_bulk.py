"""``seqledger ingest dragen ROOT…``: many run folders in one call, as a user runs it (a process).

The roots are built from the real reference runs, each copy with its own output prefix (the file
names change, the bytes do not): the layout of a month of DRAGEN output folders.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lake.settings import Settings
from lake.store import LakeStore
from seqledger.cli import main

RUN_AT = "2025-03-01T00:00:00Z"
VERSION = "05.021.335.3.5.2"  # in T_SRR7890936_50pc-replay.json only
SEQLEDGER = str(Path(sys.executable).with_name("seqledger"))


def copy_run(source: Path, folder: Path, old: str, new: str, *, gz: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        data = path.read_bytes()
        name = path.name.replace(old, new)
        if gz and name.endswith(".csv") and name.startswith(new):
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


@pytest.fixture
def month(tmp_path: Path, dragen_ref: Path) -> Path:
    """Five runs: two alone in their folders, two sharing one folder, one gzipped."""
    root = tmp_path / "month"
    copy_run(dragen_ref / "TEST", root / "b1" / "A", "TEST", "A")
    copy_run(dragen_ref / "T_SRR7890936_50pc", root / "b1" / "B", "T_SRR7890936_50pc", "B")
    copy_run(dragen_ref / "Sample_1", root / "b2" / "multi", "Sample_1", "C")
    copy_run(dragen_ref / "0201424131", root / "b2" / "multi", "0201424131", "D")
    copy_run(dragen_ref / "TEST", root / "b2" / "E", "TEST", "E", gz=True)
    return root


def seqledger(lake: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEQLEDGER_LAKE": str(lake)}
    return subprocess.run([SEQLEDGER, *args], env=env, capture_output=True, text=True,
                          timeout=600)


def rows_by_run(settings: Settings, table: str = "qc_metrics") -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in LakeStore(settings).read(table).to_pylist():
        out.setdefault(row["source_file"].split(".")[0].split("-")[0], []).append(row)
    return out


def files_of(settings: Settings) -> dict[str, list[str]]:
    store = LakeStore(settings)
    return {t: store.files(t) for t in ("qc_metrics", "qc_histograms", "qc_contig_coverage",
                                        "quarantine")}


def test_a_month_of_run_folders_loads_in_one_call_and_twice_is_a_no_op(
        month: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    first = seqledger(lake, "ingest", "dragen", str(month), "--run-at", RUN_AT, "--progress",
                      "--workers", "2")
    assert first.returncode == 0, first.stderr
    assert "5 run(s) under 1 root(s): 5 loaded, 0 skipped (already loaded), 0 refused" \
        in first.stdout
    assert "DRAGEN runs" in first.stderr and "5/5" in first.stderr  # the progress bar
    settings = Settings(lake_uri=str(lake))
    runs = rows_by_run(settings)
    assert sorted(runs) == ["A", "B", "C", "D", "E"]  # the shared folder gave two runs
    assert {r["sample_id"] for r in runs["C"]} == {"C"}
    assert {r["sample_id"] for r in runs["D"]} == {"D"}
    assert len({r["run_id"] for rows in runs.values() for r in rows}) == 5
    # the version is each run's own: only B has a replay
    assert {r["dragen_version"] for r in runs["B"]} == {VERSION}
    for name in "ACDE":
        assert {r["dragen_version"] for r in runs[name]} == {None}, name
    # the sample of a tumour/normal run is the replay's tumour sample
    assert {r["sample_id"] for r in runs["B"]} == {"T_SRR7890936_50pc"}
    # the gzipped copy of TEST gives TEST's rows
    values = sorted((r["section"], r["read_group"], r["metric_name"], r["value_text"])
                    for r in runs["A"])
    assert values == sorted((r["section"], r["read_group"], r["metric_name"], r["value_text"])
                            for r in runs["E"])
    assert {r["source_file"] for r in runs["E"]} >= {"E.mapping_metrics.csv.gz"}
    assert {r["run_at"].isoformat() for rows in runs.values() for r in rows} == \
        {"2025-03-01T00:00:00+00:00"}
    before = files_of(settings)
    assert len(before["qc_metrics"]) < 5  # batches, not a file per run
    second = seqledger(lake, "ingest", "dragen", str(month), "--run-at", RUN_AT)
    assert second.returncode == 0, second.stderr
    assert "0 loaded, 5 skipped (already loaded)" in second.stdout
    assert files_of(settings) == before


def test_the_single_run_form_refuses_a_folder_of_several_runs(month: Path,
                                                               tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    result = seqledger(lake, "ingest", "dragen", str(month / "b2" / "multi"), "--sample-id",
                       "S", "--run-id", "R", "--run-at", RUN_AT)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()  # one line, no traceback
    assert str(month / "b2" / "multi") in line and "2 runs" in line and "C, D" in line
    assert LakeStore(Settings(lake_uri=str(lake))).read("qc_metrics").num_rows == 0


def test_the_single_run_form_still_loads_one_run(month: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    result = seqledger(lake, "ingest", "dragen", str(month / "b1" / "B"), "--sample-id", "S",
                       "--run-id", "R")  # no --run-at: refused, the files give no date
    assert result.returncode == 1 and "no run date" in result.stderr
    result = seqledger(lake, "ingest", "dragen", str(month / "b1" / "B"), "--sample-id", "S",
                       "--run-id", "R", "--run-at", RUN_AT)
    assert result.returncode == 0, result.stderr
    assert f"run R (sample S, 2025-03-01 00:00:00 UTC, DRAGEN {VERSION})" in result.stdout


def test_runs_without_a_date_are_refused_not_dated_by_mtime(month: Path,
                                                              lake_settings: Settings) -> None:
    result = CliRunner().invoke(main, ["ingest", "dragen", str(month)],
                                env={"SEQLEDGER_LAKE": lake_settings.lake_uri})
    assert result.exit_code == 0, result.output
    assert "0 loaded, 0 skipped (already loaded), 5 refused" in result.output
    assert "no run date" in result.output
    store = LakeStore(lake_settings)
    assert store.read("qc_metrics").num_rows == 0
    reasons = [r["reason"] for r in store.read("quarantine").to_pylist()]
    assert len(reasons) == 5 and all(r.startswith("no run date") for r in reasons)


def test_a_mapping_gives_ids_and_dates_and_names_the_ambiguous_row(
        month: Path, lake_settings: Settings, tmp_path: Path) -> None:
    mapping = tmp_path / "runs.csv"
    mapping.write_text("folder,sample_id,run_id,run_date\n"
                       "b1/A,SAMPLE-A,RUN-A,2025-02-03\n"
                       f"{month / 'b1' / 'B'},SAMPLE-B,RUN-B,2025-02-04T10:00:00+02:00\n"
                       "b2/multi/C,SAMPLE-C,RUN-C,\n"
                       "b2/multi,SAMPLE-X,RUN-X,\n")
    result = CliRunner().invoke(main, ["ingest", "dragen", str(month), "--mapping",
                                       str(mapping), "--run-at", RUN_AT],
                                env={"SEQLEDGER_LAKE": lake_settings.lake_uri})
    assert result.exit_code == 0, result.output
    assert "3 loaded, 0 skipped (already loaded), 2 refused" in result.output
    runs = rows_by_run(lake_settings)
    assert {(r["sample_id"], r["run_id"], r["run_at"].isoformat()) for r in runs["A"]} == \
        {("SAMPLE-A", "RUN-A", "2025-02-03T00:00:00+00:00")}
    assert {r["run_at"].isoformat() for r in runs["B"]} == {"2025-02-04T08:00:00+00:00"}
    assert {(r["run_id"], r["run_at"].isoformat()) for r in runs["C"]} == \
        {("RUN-C", "2025-03-01T00:00:00+00:00")}  # no run_date in the row: --run-at
    reasons = {r["source"].rsplit("/", 1)[-1]: r["reason"]
               for r in LakeStore(lake_settings).read("quarantine").to_pylist()}
    assert sorted(reasons) == ["D", "E"]
    assert reasons["D"].startswith(f"{mapping}:5: folder 'b2/multi' holds 2 runs")  # which?
    assert reasons["E"] == f"{mapping}: has no row for 'b2/E/E' (folder column)"


def test_a_bad_mapping_is_one_line_naming_its_line(month: Path, lake_settings: Settings,
                                                    tmp_path: Path) -> None:
    mapping = tmp_path / "runs.csv"
    mapping.write_text("folder,sample_id,run_id,run_date\nb1/A,S,R,last tuesday\n")
    result = seqledger(Path(lake_settings.lake_uri), "ingest", "dragen", str(month),
                       "--mapping", str(mapping))
    assert result.returncode == 1
    assert result.stderr.strip() == (f"Error: {mapping}:2: run_date 'last tuesday' is not ISO "
                                     "8601 (e.g. 2025-03-01 or 2025-03-01T12:00:00Z)")


def test_an_id_pattern_names_the_runs(month: Path, lake_settings: Settings) -> None:
    result = CliRunner().invoke(main, ["ingest", "dragen", str(month / "b1"), "--id-pattern",
                                       r"^(?P<sample_id>\w+)/(?P<run_id>\w+)$", "--run-at",
                                       RUN_AT], env={"SEQLEDGER_LAKE": lake_settings.lake_uri})
    assert result.exit_code == 0, result.output
    runs = rows_by_run(lake_settings)
    assert {(r["sample_id"], r["run_id"]) for r in runs["A"]} == {("A", "A")}
    bad = CliRunner().invoke(main, ["ingest", "dragen", str(month), "--id-pattern", "(?P<x>.)"],
                             env={"SEQLEDGER_LAKE": lake_settings.lake_uri})
    assert bad.exit_code == 2 and "missing: run_id, sample_id" in bad.output


def test_a_root_without_runs_is_an_error(tmp_path: Path, lake_settings: Settings) -> None:
    (tmp_path / "empty" / "x").mkdir(parents=True)
    (tmp_path / "empty" / "x" / "notes.txt").write_text("hello")
    result = CliRunner().invoke(main, ["ingest", "dragen", str(tmp_path / "empty")],
                                env={"SEQLEDGER_LAKE": lake_settings.lake_uri})
    assert result.exit_code == 1 and "no DRAGEN run found under" in result.output
    missing = CliRunner().invoke(main, ["ingest", "dragen", str(tmp_path / "nowhere")],
                                 env={"SEQLEDGER_LAKE": lake_settings.lake_uri})
    assert missing.exit_code == 2 and "is not a folder" in missing.output


def test_commands_that_need_no_pandas_do_not_import_it() -> None:
    # pyarrow.dataset imports pandas; the ingest path and --help must not pay for it up front
    code = ("import sys; import seqledger.cli, seqledger.commands.dragen, "
            "ingest.dragen.service, lake.store; "
            "print(sorted(m for m in ('pandas', 'duckdb', 'great_expectations', 'streamlit', "
            "'boto3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_an_ingest_loads_its_runs_without_importing_pandas_or_numpy(month: Path,
                                                                    tmp_path: Path) -> None:
    # pyarrow imports NumPy when it is imported, and pandas to answer "is this a DataFrame?" on
    # its first conversion of Python values; the ingest refuses both (lake.arrow_probe), and
    # still loads every run (and without a progress bar, tqdm is not imported either)
    code = ("import sys; from seqledger.cli import main; "
            f"main(['ingest', 'dragen', {str(month)!r}, '--run-at', {RUN_AT!r}, '--workers', '1',"
            " '--no-progress'], standalone_mode=False); "
            "print('imported:', [m for m in ('pandas', 'numpy', 'tqdm') if m in sys.modules])")
    env = {**os.environ, "SEQLEDGER_LAKE": str(tmp_path / "lake")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert "5 loaded, 0 skipped" in out.stdout
    assert out.stdout.rstrip().endswith("imported: []")


@pytest.mark.integration
def test_bulk_ingest_from_an_s3_prefix(s3_settings: Settings, dragen_ref: Path,
                                       tmp_path: Path) -> None:
    from ingest.dragen.bulk import discover, ingest_runs, plan

    local = tmp_path / "month"
    copy_run(dragen_ref / "TEST", local / "r1", "TEST", "A")
    copy_run(dragen_ref / "Sample_1", local / "r2", "Sample_1", "B")
    store = LakeStore(s3_settings)
    prefix = s3_settings.lake_uri.removeprefix("s3://") + "-runs/month"
    for path in local.rglob("*"):
        if path.is_file():
            with store.fs.open_output_stream(f"{prefix}/{path.relative_to(local)}") as out:
                out.write(path.read_bytes())
    from datetime import UTC, datetime

    found, orphans = discover(store, [f"s3://{prefix}"])
    assert [run.label for _, _, run, _ in found] == ["r1/A", "r2/B"] and orphans == []
    assert all(stamp for *_, stamp in found)  # the listing gives sizes and times on S3 too
    jobs, refused = plan(found, mapping=None, pattern=None,
                         run_at=datetime(2025, 3, 1, tzinfo=UTC))
    summary = ingest_runs(store, jobs, workers=1)
    assert (summary.count("loaded"), refused) == (2, [])
    assert {r["sample_id"] for r in store.read("qc_metrics").to_pylist()} == {"A", "B"}
    again = ingest_runs(store, jobs, workers=1)
    assert again.count("skipped") == 2 and again.files_written == 0


def test_two_runs_given_one_run_id_are_not_merged(month: Path, lake_settings: Settings) -> None:
    same = CliRunner().invoke(main, ["ingest", "dragen", str(month / "b1"), "--id-pattern",
                                     r"^(?P<sample_id>\w+)/(?P<run_id>\w+)$", "--run-at",
                                     RUN_AT], env={"SEQLEDGER_LAKE": lake_settings.lake_uri})
    assert same.exit_code == 0, same.output
    assert "2 loaded" in same.output  # A/A and B/B: distinct
    clash = CliRunner().invoke(main, ["ingest", "dragen", str(month), "--id-pattern",
                                      r"^(?P<run_id>b\d)/(?P<sample_id>\w+)/", "--run-at",
                                      RUN_AT], env={"SEQLEDGER_LAKE": lake_settings.lake_uri})
    assert clash.exit_code == 0, clash.output
    assert "2 loaded, 0 skipped (already loaded), 3 refused" in clash.output
    assert "run id 'b1' (pattern) is also that of" in clash.output

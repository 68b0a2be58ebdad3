"""Damaged input: the good rows load, each bad file or line gets a quarantine row naming the file
and line, and the run's other files still load."""

from __future__ import annotations

import gzip

import pytest

from ingest.dragen.service import MAX_PROBLEMS_PER_FILE, parse_run_files
from ingest.dragen.text import MAX_LINE_CHARS
from tests.ingest.dragen.conftest import RUN_AT, read_folder

NAME = "TEST.mapping_metrics.csv"


@pytest.fixture(scope="module")
def good(dragen_ref) -> dict[str, bytes]:
    return read_folder(dragen_ref / "TEST")


@pytest.fixture(scope="module")
def clean_counts(good) -> dict[str, int]:
    run = parse_run_files(good, sample_id="S", run_id="R", run_at=RUN_AT)
    assert run.quarantine == []
    return {f.name: f.rows for f in run.files}


def run_with(good: dict[str, bytes], name: str, data: bytes):
    return parse_run_files({**good, name: data}, sample_id="S", run_id="R", run_at=RUN_AT,
                           source_root="/runs/R")


def only_quarantine(run, name: str) -> list[dict]:
    rows = [q for q in run.quarantine if q["source"] == f"/runs/R/{name}"]
    assert len(rows) == len(run.quarantine), run.quarantine
    assert all(q["stage"] == "ingest.dragen" for q in rows)
    return rows


def others_still_load(run, clean_counts: dict[str, int], damaged: str) -> None:
    counts = {f.name: f.rows for f in run.files}
    for name, rows in clean_counts.items():
        if name != damaged:
            assert counts[name] == rows, name


def lines_of(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def test_truncated_file_loads_the_complete_lines(good, clean_counts) -> None:
    data = good[NAME]
    cut = data.index(b"Q30 bases,") + len(b"Q30 bases,13404")  # line 38, mid-number
    run = run_with(good, NAME, data[:cut])
    (q,) = only_quarantine(run, NAME)
    assert (q["line"], q["error_type"]) == (38, "ParseError")
    assert "truncated" in q["reason"]
    assert q["payload"] == "MAPPING/ALIGNING SUMMARY,,Q30 bases,13404"
    metrics = [r for r in run.rows("qc_metrics") if r["source_file"] == NAME]
    assert [r["line"] for r in metrics] == list(range(1, 38))
    others_still_load(run, clean_counts, NAME)


def test_wrong_delimiter_refuses_the_file_once(good, clean_counts) -> None:
    run = run_with(good, NAME, good[NAME].replace(b",", b";"))
    (q,) = only_quarantine(run, NAME)
    assert q["line"] == 1 and "wrong delimiter" in q["reason"]
    assert q["payload"].startswith("MAPPING/ALIGNING SUMMARY;;Total input reads")
    assert not [r for r in run.rows("qc_metrics") if r["source_file"] == NAME]
    outcome = next(f for f in run.files if f.name == NAME)
    assert outcome.error and outcome.rows == 0
    others_still_load(run, clean_counts, NAME)


@pytest.mark.parametrize("data", [gzip.compress(b"MAPPING/ALIGNING SUMMARY,,Mapped reads,1\n" * 50),
                                  bytes(range(256)) * 4],
                         ids=["gzip", "bytes"])
def test_binary_content_is_refused(good, clean_counts, data: bytes) -> None:
    run = run_with(good, NAME, data)
    (q,) = only_quarantine(run, NAME)
    assert "binary content" in q["reason"]
    others_still_load(run, clean_counts, NAME)


def test_empty_file_is_refused(good, clean_counts) -> None:
    run = run_with(good, "TEST.wgs_overall_mean_cov.csv", b"")
    (q,) = only_quarantine(run, "TEST.wgs_overall_mean_cov.csv")
    assert (q["line"], q["reason"]) == (None, "empty file")
    others_still_load(run, clean_counts, "TEST.wgs_overall_mean_cov.csv")


def test_header_where_none_belongs(good, clean_counts) -> None:
    run = run_with(good, NAME, b"Section,Read group,Metric,Value,Percent\n" + good[NAME])
    (q,) = only_quarantine(run, NAME)
    assert q["line"] == 1 and "header" in q["reason"]
    mapped = next(r for r in run.rows("qc_metrics")
                  if r["source_file"] == NAME and r["metric_name"] == "Mapped reads")
    assert (mapped["line"], mapped["value"]) == (9, 10104044)  # everything one line down
    assert next(f for f in run.files if f.name == NAME).rows == clean_counts[NAME]


def test_absurdly_long_line(good, clean_counts) -> None:
    lines = lines_of(good[NAME])
    lines[4] = b"MAPPING/ALIGNING SUMMARY,,Reads with mate sequenced," + b"9" * (MAX_LINE_CHARS * 2)
    run = run_with(good, NAME, b"\n".join(lines))
    (q,) = only_quarantine(run, NAME)
    assert q["line"] == 5 and "characters long" in q["reason"]
    assert len(q["payload"]) == 4096  # truncated for the quarantine table
    assert next(f for f in run.files if f.name == NAME).rows == clean_counts[NAME] - 1


def test_invalid_utf8_line(good, clean_counts) -> None:
    lines = lines_of(good[NAME])
    lines[9] = b"MAPPING/ALIGNING SUMMARY,,Mapped reads R2,\xff\xfe,99.31"
    run = run_with(good, NAME, b"\n".join(lines))
    (q,) = only_quarantine(run, NAME)
    assert q["line"] == 10 and "invalid UTF-8" in q["reason"]
    assert "\ufffd" in q["payload"]
    assert next(f for f in run.files if f.name == NAME).rows == clean_counts[NAME] - 1


def test_crlf_and_byte_order_mark_are_not_damage(good) -> None:
    lf = parse_run_files({NAME: good[NAME]}, sample_id="S", run_id="R", run_at=RUN_AT)
    crlf = parse_run_files({NAME: b"\xef\xbb\xbf" + good[NAME].replace(b"\n", b"\r\n")},
                           sample_id="S", run_id="R", run_at=RUN_AT)
    assert crlf.quarantine == []
    assert crlf.tables["qc_metrics"].equals(lf.tables["qc_metrics"])


def test_text_where_a_catalogued_number_belongs(good, clean_counts) -> None:
    data = good[NAME].replace(b"Mapped reads,10104044,99.62", b"Mapped reads,lots,99.62", 1)
    run = run_with(good, NAME, data)
    (q,) = only_quarantine(run, NAME)
    assert q["line"] == 8 and "expected a number" in q["reason"] and "'lots'" in q["reason"]
    assert next(f for f in run.files if f.name == NAME).rows == clean_counts[NAME] - 1


@pytest.mark.parametrize(("replace", "line", "reason"), [
    (b"Mapped reads,10104044,99.62,1,2", 8, "found 7"),
    (b"Mapped reads,10104044,99.62\nMAPPING/ALIGNING SUMMARY,,Mapped reads,1,2", 9,
     "repeats line 8"),
    (b"Mapped reads,10104044,99.62\nmapping summary,,Mapped reads,1,2", 9, "not a DRAGEN section"),
    (b"Mapped reads,10104044,99.62\nMAPPING/ALIGNING SUMMARY,,,1,2", 9, "metric name"),
    (b"Mapped reads,10104044,99.62\nMAPPING/ALIGNING SUMMARY,,Mapped reads X,1,abc", 9,
     "percent 'abc'"),
], ids=["seven-fields", "duplicate-key", "lowercase-section", "empty-name", "bad-percent"])
def test_bad_lines_in_a_section_file(good, replace: bytes, line: int, reason: str) -> None:
    data = good[NAME].replace(b"Mapped reads,10104044,99.62", replace, 1)
    run = run_with(good, NAME, data)
    (q,) = only_quarantine(run, NAME)
    assert q["line"] == line and reason in q["reason"], q


@pytest.mark.parametrize(("name", "old", "new", "line"), [
    ("TEST.wgs_fine_hist.csv", b"\n3,106190\n", b"\n3,lots\n", 5),
    ("TEST.wgs_contig_mean_cov.csv", b"\nchr5,17465,9.7579e-05\n", b"\nchr5,many,9.7579e-05\n", 5),
    ("TEST.fragment_length_hist.csv", b"\n49,1\n", b"\n49;1\n", 3),
    ("TEST.fastqc_metrics.csv", b"\nREAD MEAN QUALITY,Read1,Q10 Reads,18\n",
     b"\nREAD MEAN QUALITY,Read1,Q10 Reads,18,1,1\n", 2),
    ("TEST.wgs_hist.csv", b"[50x:100x), 0.25", b"[50x:100x), x", 2),
], ids=["fine-hist", "contig", "fragment", "fastqc", "binned-hist"])
def test_bad_line_in_a_large_file_falls_back_to_the_line_parser(good, clean_counts, name: str,
                                                                old: bytes, new: bytes,
                                                                line: int) -> None:
    assert old in good[name]
    run = run_with(good, name, good[name].replace(old, new, 1))
    (q,) = only_quarantine(run, name)
    assert q["line"] == line, q
    assert next(f for f in run.files if f.name == name).rows == clean_counts[name] - 1
    others_still_load(run, clean_counts, name)


def test_broken_replay_json_is_refused_and_the_rest_loads(dragen_ref) -> None:
    files = read_folder(dragen_ref / "T_SRR7890936_50pc")
    name = "T_SRR7890936_50pc-replay.json"
    files[name] = files[name][:-200]
    run = parse_run_files(files, sample_id="S", run_id="R", run_at=RUN_AT, source_root="/runs/R")
    (q,) = [q for q in run.quarantine if q["source"].endswith(name)]
    assert "not JSON" in q["reason"] and q["line"] > 1
    assert run.dragen_version is None
    assert run.row_counts["qc_histograms"] == 80453


def test_many_bad_lines_are_capped_with_a_summary_row(good) -> None:
    bad = b"".join(b"MAPPING/ALIGNING SUMMARY,,Metric %d\n" % i for i in range(250))
    run = run_with(good, NAME, good[NAME] + bad)
    rows = only_quarantine(run, NAME)
    assert len(rows) == MAX_PROBLEMS_PER_FILE + 1
    assert rows[-1]["reason"].startswith("150 more unreadable lines (lines 203-352)")


def test_a_dragen_looking_file_nobody_catalogued_is_kept_raw(good) -> None:
    data = b"NEW FEATURE SUMMARY,,Widgets counted,42,12.50\nNEW FEATURE SUMMARY,,Mode,fast\n"
    run = run_with(good, "TEST.new_feature_metrics.csv", data)
    assert run.quarantine == []
    rows = [r for r in run.rows("qc_metrics") if r["source_file"] == "TEST.new_feature_metrics.csv"]
    assert [(r["metric_name"], r["metric_id"], r["value"], r["value_pct"], r["value_text"],
             r["unit"], r["file_type"]) for r in rows] == [
        ("Widgets counted", None, 42.0, 12.5, "42", None, "new_feature_metrics"),
        ("Mode", None, None, None, "fast", "text", "new_feature_metrics"),
    ]


def test_files_that_are_not_metrics_are_skipped_not_quarantined(good) -> None:
    run = run_with(good, "notes.txt", b"hello")
    run2 = run_with(good, "odd.csv", b"a,b\n1,2\n")
    for r, name in ((run, "notes.txt"), (run2, "odd.csv")):
        assert r.quarantine == []
        assert next(f for f in r.files if f.name == name).skipped


def test_ingest_folder_writes_quarantine_rows_and_the_good_rows(tmp_path, good,
                                                               lake_settings) -> None:
    from ingest.dragen.service import ingest_folder
    from lake.store import LakeStore

    folder = tmp_path / "run"
    folder.mkdir()
    for name, data in good.items():
        (folder / name).write_bytes(data)
    (folder / NAME).write_bytes(good[NAME][:-10])  # truncated
    (folder / "TEST.vc_metrics.csv").write_bytes(b"\x00\x01binary")
    store = LakeStore(lake_settings)
    summary = ingest_folder(store, folder, sample_id="S", run_id="R", run_at=RUN_AT)
    quarantine = store.read("quarantine").to_pylist()
    assert sorted((q["source"].rsplit("/", 1)[1], q["line"]) for q in quarantine) == \
        [("TEST.mapping_metrics.csv", 102), ("TEST.vc_metrics.csv", 1)]
    assert summary.quarantined == 2
    assert store.read("qc_histograms").num_rows == 13113
    again = ingest_folder(store, folder, sample_id="S", run_id="R", run_at=RUN_AT)
    assert again.quarantined == 2 and len(store.files("quarantine")) == 1


def test_a_file_with_only_an_unreadable_line_names_that_line(good) -> None:
    run = run_with(good, "TEST.ploidy_estimation_metrics.csv", b"PLOIDY ESTIMATION,,X," +
                   b"1" * (MAX_LINE_CHARS + 1) + b"\n")
    (q,) = only_quarantine(run, "TEST.ploidy_estimation_metrics.csv")
    assert q["line"] == 1 and "no readable line" in q["reason"] and "characters long" in q["reason"]


def test_replay_with_repeated_settings_keeps_the_first_and_quarantines_the_rest(dragen_ref) -> None:
    import json

    name = "T_SRR7890936_50pc-replay.json"
    doc = json.loads((dragen_ref / "T_SRR7890936_50pc" / name).read_bytes())
    doc["dragen_config"].append({"name": doc["dragen_config"][0]["name"], "value": "other"})
    doc["inputs"].append("not an object")
    run = parse_run_files({name: json.dumps(doc).encode()}, sample_id="S", run_id="R",
                          run_at=RUN_AT)
    reasons = sorted(q["reason"] for q in run.quarantine)
    assert reasons == ["dragen_config[377] is not a new {name, value} setting",
                       "inputs[2] is not an object"]
    assert run.row_counts["qc_metrics"] == 385
    assert run.dragen_version == "05.021.335.3.5.2"


def test_clock_like_values_outside_run_time_stay_text(good) -> None:
    run = run_with(good, "TEST.new_metrics.csv", b"NEW SUMMARY,,Ratio of things,1:2\n")
    (row,) = [r for r in run.rows("qc_metrics") if r["source_file"] == "TEST.new_metrics.csv"]
    assert (row["value"], row["value_text"], row["unit"]) == (None, "1:2", "text")


def test_a_value_that_does_not_fit_its_column_refuses_its_file_only(dragen_ref) -> None:
    # A replay setting holding a lone surrogate (valid JSON, not storable text): the run's
    # values are converted at once, and this one sends the conversion back file by file.
    files = read_folder(dragen_ref / "T_SRR7890936_50pc")
    name = "T_SRR7890936_50pc-replay.json"
    clean = parse_run_files(files, sample_id="S", run_id="R", run_at=RUN_AT)
    files[name] = files[name].replace(b'"dragen_config": [', b'"dragen_config": '
                                      b'[{"name": "odd-setting", "value": "\\ud800"}, ', 1)
    run = parse_run_files(files, sample_id="S", run_id="R", run_at=RUN_AT, source_root="/runs/R")
    (q,) = run.quarantine
    assert q["source"] == f"/runs/R/{name}"
    assert q["reason"].startswith("a value does not fit the lake's column")
    assert [f.name for f in run.files if f.error] == [name]
    replay_rows = sum(f.rows for f in clean.files if f.name == name)
    assert run.row_counts["qc_metrics"] == clean.row_counts["qc_metrics"] - replay_rows
    assert run.row_counts["qc_histograms"] == clean.row_counts["qc_histograms"] == 80453
    assert {f.name: f.rows for f in run.files if f.name != name} == \
        {f.name: f.rows for f in clean.files if f.name != name}

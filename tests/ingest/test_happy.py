"""hap.py accuracy files into happy_metrics: every value kept, bad lines quarantined."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest

from ingest.happy import ingest_happy, parse_happy
from lake.errors import ParseError, TerminalError
from lake.store import LakeStore

EXTENDED = (
    "Type,Subtype,Subset,Filter,Genotype,QQ.Field,QQ,METRIC.Recall,METRIC.Precision,"
    "METRIC.Frac_NA,METRIC.F1_Score,FP.gt,FP.al,PREC.LOWER,TRUTH.TOTAL,TRUTH.TP,TRUTH.FN,"
    "QUERY.TOTAL,QUERY.FP,QUERY.UNK,Subset.Size\n"
    "SNP,ti,*,PASS,*,QUAL,*,0.99,0.995,0.1,0.992,3,1,0.99,1000,990,10,1100,5,105,3000000000\n"
    "SNP,ti,*,PASS,*,QUAL,30,0.98,0.997,0.1,0.988,2,1,0.99,1000,980,20,1090,3,107,3000000000\n"
    "INDEL,I1_5,lowcmp_AllRepeats,ALL,het,QUAL,*,0.9,0.91,nan,0.905,,,,200,180,20,230,18,32,\n"
)


def _real_summary(reference: Path) -> Path:
    return reference / "validation" / "happy" / "test.summary.csv"


def test_the_real_summary_csv_loads_with_every_value_kept(reference, lake_settings):
    path = _real_summary(reference)
    store = LakeStore(lake_settings)
    summary = ingest_happy(store, str(path), release="dragen-4.2.4", sample_id="HG002")
    assert (summary.rows, summary.rows_written, summary.quarantined) == (4, 4, 0)
    rows = {(r["variant_type"], r["filter"]): r for r in store.read("happy_metrics").to_pylist()}
    lines = list(csv.DictReader(io.StringIO(path.read_text())))
    from ingest.happy import TYPED

    for line in lines:
        row = rows[(line["Type"], line["Filter"])]
        assert (row["subtype"], row["subset"], row["genotype"]) == ("*", "*", "*")
        for column, text in line.items():
            if column in ("Type", "Filter"):
                continue
            lake_col, _ = TYPED[column]  # every column of summary.csv is typed
            if text == "":
                assert row[lake_col] is None
            else:
                assert row[lake_col] == pytest.approx(float(text), rel=0, abs=0), column
    snp_pass = rows[("SNP", "PASS")]
    assert (snp_pass["truth_total"], snp_pass["truth_tp"], snp_pass["truth_fn"]) == \
        (45640, 44909, 731)
    assert snp_pass["f1_score"] == 0.9914120000000001
    assert snp_pass["pipeline_release"] == "dragen-4.2.4" and snp_pass["sample_id"] == "HG002"


def test_extended_rows_keep_subtype_subset_genotype_and_unknown_columns():
    rows, problems = parse_happy(EXTENDED, "x.extended.csv")
    assert problems == []
    assert [(r["variant_type"], r["subtype"], r["subset"], r["genotype"], r["qq"])
            for r in rows] == [("SNP", "ti", "*", "*", "*"), ("SNP", "ti", "*", "*", "30"),
                               ("INDEL", "I1_5", "lowcmp_AllRepeats", "het", "*")]
    other = dict(rows[0]["other_values"])
    assert other == {"QQ.Field": "QUAL", "QQ": "*", "PREC.LOWER": "0.99",
                     "Subset.Size": "3000000000"}
    assert rows[2]["frac_na"] is None and math.isnan(float("nan"))
    assert rows[2]["fp_gt"] is None and rows[2]["truth_tp"] == 180


def test_an_roc_line_is_its_own_key_in_the_lake(lake_settings, tmp_path):
    f = tmp_path / "HG003.extended.csv"
    f.write_text(EXTENDED)
    store = LakeStore(lake_settings)
    ingest_happy(store, str(f), release="r1")
    subtypes = sorted(r["subtype"] for r in store.read("happy_metrics").to_pylist())
    assert subtypes == ["I1_5", "ti", "ti@QQ=30"]


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty file"),
    ("a,b,c\n1,2,3\n", "lacks Type, Filter"),
    ("Type,Filter,Foo\nSNP,PASS,1\n", "every hap.py metric column"),
    ("Type,Filter,TRUTH.TP,TRUTH.TP\nSNP,PASS,1,2\n", "TRUTH.TP appear more than once"),
    ("Type,Filter,TRUTH.TP\n", "no data lines"),
])
def test_a_file_that_is_not_hap_py_output_is_refused_whole(text, reason):
    with pytest.raises(ParseError, match=reason):
        parse_happy(text, "f.csv")


def test_bad_lines_are_named_and_the_others_load():
    text = ("Type,Filter,TRUTH.TP,METRIC.Recall\n"
            "SNP,PASS,12.5,0.9\n"        # a count that is not whole
            "SNP,ALL,100,high\n"         # a metric that is not a number
            "INDEL,PASS,7\n"             # a short line
            "INDEL,ALL,8,0.8\n"
            "INDEL,ALL,9,0.7\n")         # repeats the line above
    rows, problems = parse_happy(text, "s.summary.csv")
    assert [(r["variant_type"], r["filter"], r["truth_tp"]) for r in rows] == [("INDEL", "ALL", 8)]
    assert [(p.line, p.reason) for p in problems] == [
        (2, "TRUTH.TP = '12.5' is not a count"),
        (3, "METRIC.Recall = 'high' is not a number"),
        (4, "3 fields where the header has 4"),
        (6, "repeats line 5 (INDEL, ALL, *, *, *, *): which one is right is unknown"),
    ]


def test_quarantine_names_the_file_and_line_and_the_rest_of_the_folder_loads(
        lake_settings, tmp_path, reference):
    folder = tmp_path / "happy"
    folder.mkdir()
    (folder / "HG002.summary.csv").write_bytes(_real_summary(reference).read_bytes())
    (folder / "HG003.summary.csv").write_text("Type,Filter,TRUTH.TP\nSNP,PASS,x\nSNP,ALL,5\n")
    (folder / "HG004.summary.csv").write_bytes(b"Type,Filter,TRUTH.TP\n\xff\xfe,PASS,1\n")
    (folder / "notes.txt").write_text("not hap.py")
    store = LakeStore(lake_settings)
    summary = ingest_happy(store, str(folder), release="r1")
    assert summary.samples == ["HG002", "HG003"]
    assert summary.rows == 5 and summary.quarantined == 2
    q = sorted((r["source"].rsplit("/", 1)[-1], r["line"], r["reason"])
               for r in store.read("quarantine").to_pylist())
    assert q[0] == ("HG003.summary.csv", 2, "TRUTH.TP = 'x' is not a number")
    assert q[1][0] == "HG004.summary.csv" and q[1][2].startswith("not UTF-8 text")


def test_loading_twice_adds_nothing_and_a_corrected_file_wins(lake_settings, tmp_path, reference):
    f = tmp_path / "HG002.summary.csv"
    f.write_bytes(_real_summary(reference).read_bytes())
    store = LakeStore(lake_settings)
    assert ingest_happy(store, str(f), release="r1").rows_written == 4
    assert ingest_happy(store, str(f), release="r1").rows_written == 0
    f.write_text(f.read_text().replace("44909,731", "44910,730"))
    assert ingest_happy(store, str(f), release="r1").rows_written > 0
    from analytics.engine import connect

    con = connect(lake_settings, store)
    tp = con.sql("SELECT truth_tp FROM happy_metrics WHERE variant_type = 'SNP' "
                 "AND filter = 'PASS'").fetchall()
    assert tp == [(44910,)]
    assert con.sql("SELECT count(*) FROM raw_happy_metrics WHERE variant_type = 'SNP' "
                   "AND filter = 'PASS'").fetchone()[0] == 2  # the old version stays auditable


def test_one_sample_id_for_files_of_several_samples_is_refused(lake_settings, tmp_path):
    for s in ("HG001", "HG002"):
        (tmp_path / f"{s}.summary.csv").write_text("Type,Filter,TRUTH.TP\nSNP,PASS,1\n")
    with pytest.raises(TerminalError, match="several samples .*HG001, HG002"):
        ingest_happy(LakeStore(lake_settings), str(tmp_path), release="r1", sample_id="HG001")
    (tmp_path / "HG001.summary.csv").unlink()
    (tmp_path / "HG002.summary.csv").rename(tmp_path / "summary.csv")
    with pytest.raises(TerminalError, match="pass --sample-id"):
        ingest_happy(LakeStore(lake_settings), str(tmp_path), release="r1")


def test_a_missing_location_is_named(lake_settings, tmp_path):
    with pytest.raises(ParseError, match="no such file or folder"):
        ingest_happy(LakeStore(lake_settings), str(tmp_path / "nope"), release="r1")
    with pytest.raises(ParseError, match="no hap.py summary.csv"):
        ingest_happy(LakeStore(lake_settings), str(tmp_path), release="r1")

"""Arrival rows and ready samples: complete inputs dispatch once, whatever the order or repeats."""

from __future__ import annotations

import itertools
import json
import re
from urllib.parse import quote_plus

import pytest

from ingest.arrivals import SampleInputs, arrival_row, ready_samples, waiting_samples
from ingest.classify import classify
from ingest.s3_events import object_created_events, parse_event_text
from lake.schemas import ARRIVALS
from lake.store import LakeStore

PLAIN = "s3-event-notification_ObjectCreated-Put_aws-docs.json"
SNS = "sns-wrapped-s3-ObjectCreated-Put_lambda-capture_powertools.json"


@pytest.fixture
def arrive(reference):
    """An arrival row for ``key``, made by editing the real S3 notification and parsing it."""
    template = parse_event_text((reference / "aws-events" / PLAIN).read_bytes(), PLAIN)

    def make(key, etag="0cc175b9c0f1b6a831c399e269772661", size=100,
             at="2024-06-01T10:00:00.000Z", via_sns=False):
        payload = json.loads(json.dumps(template))
        record = payload["Records"][0]
        record["eventTime"] = at
        record["s3"]["bucket"]["name"] = "seq-input"
        record["s3"]["object"].update(key=quote_plus(key, safe="/"), eTag=etag, size=size)
        if etag is None:
            del record["s3"]["object"]["eTag"]
        if via_sns:
            sns = parse_event_text((reference / "aws-events" / SNS).read_bytes(), SNS)
            sns["Records"][0]["Sns"]["Message"] = json.dumps(payload)
            payload = sns
        [obj] = object_created_events(payload, PLAIN)
        return arrival_row(obj, classify(obj.key))

    return make


ILLUMINA = [f"PRJ/NA12878/NA12878_S1_L00{lane}_R{mate}_001.fastq.gz"
            for lane in (1, 2) for mate in (1, 2)]


def test_arrival_row_fits_the_arrivals_table(arrive):
    row = arrive("PRJ/NA12878/NA12878_S1_L001_R1_001.fastq.gz")
    assert set(row) <= set(ARRIVALS.columns)
    assert row["object_uri"] == "s3://seq-input/PRJ/NA12878/NA12878_S1_L001_R1_001.fastq.gz"
    assert (row["input_kind"], row["mate"], row["project"], row["sample_id"]) == \
        ("fastq", "R1", "PRJ", "NA12878")
    assert (row["bucket"], row["size_bytes"], row["envelope"], row["reason"]) == \
        ("seq-input", 100, "s3", None)
    assert re.fullmatch(r"[0-9a-f]{32}", row["arrival_id"])


def test_arrival_id_names_the_object_version_not_the_delivery(arrive):
    key = "PRJ/S1/S1.cram"
    plain, via_sns = arrive(key), arrive(key, via_sns=True)
    assert via_sns["envelope"] == "sns"
    assert plain["arrival_id"] == via_sns["arrival_id"]
    assert plain["event_id"] == via_sns["event_id"]
    assert arrive(key, etag="92eb5ffee6ae2fec3ad71c777531578f")["arrival_id"] != \
        plain["arrival_id"]


def test_missing_etag_is_replaced_by_size_and_time(arrive):
    row = arrive("PRJ/S1/S1.cram", etag=None, size=2048, at="2024-06-01T10:00:00.000Z")
    assert row["etag"] == "no-etag:size=2048:at=2024-06-01T10:00:00+00:00"
    assert arrive("PRJ/S1/S1.cram", etag=None, size=2048)["arrival_id"] == row["arrival_id"]


def test_paired_fastq_is_ready_only_when_every_lane_has_both_mates(arrive):
    rows = [arrive(k, size=10 + i) for i, k in enumerate(ILLUMINA)]
    for n in range(1, 4):
        for subset in itertools.combinations(rows, n):
            assert bool(ready_samples(list(subset))) == _lanes_complete(subset)
    assert ready_samples(rows[:3]) == []  # L002 has R1 only
    [sample] = ready_samples(rows)
    assert (sample.project, sample.sample_id, sample.input_kind) == ("PRJ", "NA12878", "fastq")
    assert sample.input_uris == tuple(sorted(f"s3://seq-input/{k}" for k in ILLUMINA))
    assert sample.input_size_bytes == 10 + 11 + 12 + 13
    assert re.fullmatch(r"[0-9a-f]{16}", sample.run_id)


def _lanes_complete(rows) -> bool:
    lanes = {}
    for r in rows:
        lanes.setdefault(classify(r["object_key"]).lane, set()).add(r["mate"])
    return all(m == {"R1", "R2"} for m in lanes.values())


def test_one_complete_lane_is_ready_on_its_own(arrive):
    [sample] = ready_samples([arrive(ILLUMINA[0]), arrive(ILLUMINA[1])])
    assert len(sample.input_uris) == 2
    # when the second lane lands, the inputs differ: that is another run
    [more] = ready_samples([arrive(k) for k in ILLUMINA])
    assert more.run_id != sample.run_id


def test_order_and_duplicates_change_nothing(arrive):
    rows = [arrive(k) for k in ILLUMINA]
    rows.append(arrive(ILLUMINA[2], via_sns=True))  # the same object, delivered again
    expected = ready_samples(rows)
    assert len(expected) == 1 and len(expected[0].input_uris) == 4
    for perm in itertools.permutations(rows):
        assert ready_samples(list(perm)) == expected


def test_same_inputs_always_give_the_same_run_id(arrive):
    first = ready_samples([arrive(k) for k in ILLUMINA])
    later = ready_samples([arrive(k, at="2024-07-09T08:00:00.000Z", via_sns=True)
                           for k in reversed(ILLUMINA)])
    assert first[0].run_id == later[0].run_id


def test_chunks_must_pair_up(arrive):
    r1a = arrive("PRJ/S1/S1_S1_L001_R1_001.fastq.gz")
    r1b = arrive("PRJ/S1/S1_S1_L001_R1_002.fastq.gz")
    r2a = arrive("PRJ/S1/S1_S1_L001_R2_001.fastq.gz")
    assert ready_samples([r1a, r1b, r2a]) == []
    r2b = arrive("PRJ/S1/S1_S1_L001_R2_002.fastq.gz")
    assert len(ready_samples([r1a, r1b, r2a, r2b])[0].input_uris) == 4


@pytest.mark.parametrize(("key", "kind"), [("PRJ/HG002/HG002.cram", "cram"),
                                           ("PRJ/HG002/HG002.bam", "bam")])
def test_aligned_inputs_are_ready_on_arrival(arrive, key, kind):
    row = arrive(key, size=5_000)
    [sample] = ready_samples([row])
    assert sample == SampleInputs("PRJ", "HG002", kind, (f"s3://seq-input/{key}",), 5_000,
                                  sample.run_id, row["event_at"])


def test_fastq_and_cram_of_one_sample_are_separate_runs(arrive):
    rows = [arrive(ILLUMINA[0]), arrive(ILLUMINA[1]), arrive("PRJ/NA12878/NA12878.cram")]
    cram, fastq = ready_samples(rows)  # sorted by project, sample, kind
    assert (cram.input_kind, fastq.input_kind) == ("cram", "fastq")
    assert fastq.sample_id == cram.sample_id == "NA12878"
    assert fastq.run_id != cram.run_id


def test_ora_pairs_like_fastq(arrive):
    rows = [arrive("PRJ/S9/S9_S1_R1_001.fastq.ora"), arrive("PRJ/S9/S9_S1_R2_001.fastq.ora")]
    assert [s.input_kind for s in ready_samples(rows)] == ["ora"]
    assert ready_samples(rows[:1]) == []


def test_unknowns_and_sample_sheets_never_dispatch(arrive):
    rows = [arrive(k) for k in ("PRJ/S1/S1.cram.crai", "PRJ/S1/SampleSheet.csv",
                                "PRJ/S1/S1.fastq.gz", "PRJ/S1/S1_R1.fastq.gz.md5",
                                "PRJ/S1/S1_S1_L001_I1_001.fastq.gz")]
    assert [r["input_kind"] for r in rows] == ["unknown", "sample_sheet", "unknown", "unknown",
                                               "unknown"]
    assert ready_samples(rows) == []


def test_an_overwritten_object_counts_with_its_latest_content(arrive):
    r1, r2 = arrive(ILLUMINA[0]), arrive(ILLUMINA[1])
    r1_again = arrive(ILLUMINA[0], etag="92eb5ffee6ae2fec3ad71c777531578f",
                      at="2024-06-02T10:00:00.000Z")
    [before] = ready_samples([r1, r2])
    [after] = ready_samples([r1, r2, r1_again])
    assert after.input_uris == before.input_uris and after.run_id != before.run_id
    assert ready_samples([r1_again, r2, r1]) == [after]


def test_unknown_size_makes_the_total_unknown(arrive):
    rows = [arrive(ILLUMINA[0], size=None), arrive(ILLUMINA[1], size=7)]
    assert ready_samples(rows)[0].input_size_bytes is None


def test_same_sample_name_in_two_projects(arrive):
    rows = [arrive("A/S1/S1.cram"), arrive("B/S1/S1.cram")]
    assert [(s.project, s.sample_id) for s in ready_samples(rows)] == [("A", "S1"), ("B", "S1")]


def test_rows_read_back_from_the_lake_give_the_same_runs(arrive, lake_settings):
    rows = [arrive(k) for k in ILLUMINA] + [arrive("PRJ/NA12878/NA12878.cram"),
                                            arrive("PRJ/NA12878/SampleSheet.csv")]
    store = LakeStore(lake_settings)
    store.write("arrivals", rows)
    back = store.read("arrivals").to_pylist()
    assert len(back) == len(rows)
    assert ready_samples(back) == ready_samples(rows)


def test_a_sample_waiting_for_a_mate_says_which_and_in_which_lane(arrive):
    rows = [arrive("PRJ/X/X_S1_L001_R1_001.fastq.gz"), arrive("PRJ/X/X_S1_L001_R2_001.fastq.gz"),
            arrive("PRJ/X/X_S1_L002_R1_001.fastq.gz"), arrive("PRJ/Y/Y_R2.fastq.gz")]
    waiting = waiting_samples(rows)
    assert [(w.label, w.missing) for w in waiting] == [("PRJ/X", ("R2 of lane L002",)),
                                                       ("PRJ/Y", ("R1",))]
    assert ready_samples(rows) == []
    rows.append(arrive("PRJ/X/X_S1_L002_R2_001.fastq.gz"))
    assert [w.sample_id for w in waiting_samples(rows)] == ["Y"]
    (x,) = ready_samples(rows)
    assert [u.rsplit("/", 1)[1][:11] for u in x.input_uris] == [
        "X_S1_L001_R", "X_S1_L001_R", "X_S1_L002_R", "X_S1_L002_R"]
    assert [u.rsplit("_", 2)[1] for u in x.input_uris] == ["R1", "R2", "R1", "R2"]

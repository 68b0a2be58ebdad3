from datetime import UTC, datetime, timedelta

import pytest

from pipeline_runner.prices import PriceBook
from pipeline_runner.storage import (
    GIB,
    LifecyclePolicy,
    LifecycleRule,
    StoredObject,
    Transition,
    all_standard_cost,
    default_policy,
    estimate_run_storage,
    lifecycle_tags,
    lifecycle_time,
    object_timeline,
    s3_lifecycle_configuration,
)

CREATED = datetime(2026, 4, 10, 15, 30, tzinfo=UTC)
TAGS = {"project": "P1", "sample_id": "S1", "run_id": "R1"}


@pytest.fixture(scope="module")
def book():
    return PriceBook.load_default()


def obj(key, gib, created=CREATED, **kw):
    return StoredObject(key, int(gib * GIB), created, lifecycle_tags(key), **kw)


def test_outputs_are_tagged_by_kind_with_the_tags_the_buckets_filter_on():
    assert lifecycle_tags("runs/R1/S1.cram") == {
        "seqledger:archive": "true", "seqledger:data-class": "alignment"}
    assert lifecycle_tags("in/S1_R1.fastq.gz")["seqledger:data-class"] == "reads"
    assert lifecycle_tags("in/S1_R1.FASTQ.GZ")["seqledger:archive"] == "true"
    assert lifecycle_tags("runs/R1/S1.hard-filtered.vcf.gz") == {
        "seqledger:archive": "false", "seqledger:data-class": "variants"}
    assert lifecycle_tags("lake/qc/month=2026-04/part-1.parquet")["seqledger:archive"] == "false"
    assert lifecycle_tags("runs/R1/weird.bin") == {
        "seqledger:archive": "false", "seqledger:data-class": "other"}


def test_transitions_happen_at_the_midnight_after_n_days():
    assert lifecycle_time(CREATED, 30) == datetime(2026, 5, 11, tzinfo=UTC)
    midnight = datetime(2026, 4, 10, tzinfo=UTC)
    assert lifecycle_time(midnight, 30) == datetime(2026, 5, 10, tzinfo=UTC)


def test_timeline_follows_the_first_matching_rule():
    until = datetime(2026, 12, 1, tzinfo=UTC)
    cram = object_timeline(obj("a.cram", 1), default_policy(30), until)
    assert [(s.storage_class, s.start, s.end) for s in cram] == [
        ("STANDARD", CREATED, datetime(2026, 5, 11, tzinfo=UTC)),
        ("DEEP_ARCHIVE", datetime(2026, 5, 11, tzinfo=UTC), until),
    ]
    vcf = object_timeline(obj("a.vcf.gz", 1), default_policy(30), until)
    assert [(s.storage_class, s.end) for s in vcf] == [("STANDARD", until)]
    # Deleted before the transition: never moves.
    gone = object_timeline(
        obj("a.cram", 1, deleted_at=CREATED + timedelta(days=3)), default_policy(30), until
    )
    assert [(s.storage_class, s.ended_by_delete) for s in gone] == [("STANDARD", True)]
    assert object_timeline(obj("a.cram", 1), default_policy(30), CREATED) == []


def test_gb_months_are_byte_hours_over_the_hours_of_each_month(book):
    until = datetime(2026, 7, 1, tzinfo=UTC)
    rows = {
        r["component"]: r
        for r in estimate_run_storage("R1", TAGS, [obj("a.vcf.gz", 100)], book, until)
    }
    april_hours = (datetime(2026, 5, 1, tzinfo=UTC) - CREATED).total_seconds() / 3600
    assert rows["storage:STANDARD:2026-04"]["quantity"] == pytest.approx(
        100 * april_hours / (30 * 24)
    )
    assert rows["storage:STANDARD:2026-05"]["quantity"] == pytest.approx(100.0)
    assert rows["storage:STANDARD:2026-06"]["cost_usd"] == pytest.approx(100 * 0.023)
    r = rows["storage:STANDARD:2026-05"]
    assert (r["job_id"], r["attempt"], r["quantity_unit"], r["price_status"]) == (
        "R1",
        0,
        "GB-month",
        "list",
    )
    assert r["project"] == "P1" and r["run_id"] == "R1"


def test_archival_saving_against_all_standard(book):
    until = CREATED + timedelta(days=365)
    objects = [obj("S1.cram", 40), obj("S1.cram.crai", 0.001), obj("S1.vcf.gz", 1.5)]
    rows = estimate_run_storage("R1", TAGS, objects, book, until, default_policy(30))
    archived = sum(r["cost_usd"] for r in rows)
    standard = all_standard_cost(rows, book)
    # A year in Standard of 41.5 GiB at 0.023, against ~1 month Standard + 11 in Deep Archive.
    assert standard == pytest.approx(41.501 * 0.023 * 12, rel=0.01)
    assert 1 - archived / standard > 0.80
    deep = [
        r
        for r in rows
        if ":DEEP_ARCHIVE:" in r["component"] and r["component"].startswith("storage:")
    ]
    assert all(
        r["price_status"] == "approximate" for r in deep
    )  # Deep Archive price is approximate
    transitions = [r for r in rows if r["component"].startswith("storage_transition:")]
    assert [(r["component"], r["quantity"]) for r in transitions] == [
        ("storage_transition:DEEP_ARCHIVE:2026-05", pytest.approx(2 / 1000))
    ]
    assert transitions[0]["cost_usd"] == pytest.approx(2 / 1000 * 0.05)


def test_deleting_before_the_minimum_duration_is_charged_as_if_kept(book):
    policy = LifecyclePolicy(
        (
            LifecycleRule(
                "to-glacier",
                {"seqledger:archive": "true"},
                (Transition(0, "DEEP_ARCHIVE"),),
                expiration_days=60,
            ),
        )
    )
    until = CREATED + timedelta(days=400)
    rows = {
        r["component"]: r
        for r in estimate_run_storage("R1", TAGS, [obj("a.bam", 10)], book, until, policy)
    }
    early = [r for c, r in rows.items() if c.startswith("storage_early_delete:DEEP_ARCHIVE")]
    assert len(early) == 1
    moved = lifecycle_time(CREATED, 0)
    expired = lifecycle_time(CREATED, 60)
    owed_hours = (moved + timedelta(days=180) - expired).total_seconds() / 3600
    month_hours = 30 * 24  # expiry falls in June 2026
    assert early[0]["component"] == "storage_early_delete:DEEP_ARCHIVE:2026-06"
    assert early[0]["quantity"] == pytest.approx(10 * owed_hours / month_hours)


def test_missing_storage_prices_are_unpriced_not_zero(book):
    early_2026 = datetime(2026, 1, 5, tzinfo=UTC)  # Deep Archive prices start 2026-03-01
    rows = estimate_run_storage(
        "R1",
        TAGS,
        [obj("a.cram", 5, created=early_2026)],
        book,
        early_2026 + timedelta(days=40),
        default_policy(0),
    )
    deep = [r for r in rows if r["component"].startswith("storage:DEEP_ARCHIVE")]
    assert deep and all(r["cost_usd"] is None and r["price_status"] == "unpriced" for r in deep)
    assert "DEEP_ARCHIVE" in deep[0]["price_source"]
    glacier = LifecyclePolicy(
        (LifecycleRule("g", {"seqledger:archive": "true"}, (Transition(1, "GLACIER"),)),)
    )
    rows = estimate_run_storage(
        "R1", TAGS, [obj("a.cram", 5)], book, CREATED + timedelta(days=10), glacier
    )
    (t,) = [r for r in rows if r["component"].startswith("storage_transition:GLACIER")]
    assert t["cost_usd"] is None and t["price_status"] == "unpriced"


def test_the_policy_is_also_the_bucket_lifecycle_configuration():
    conf = s3_lifecycle_configuration(default_policy(45))
    assert conf == {"Rules": [{
        "ID": "archive-tagged", "Status": "Enabled",
        "Filter": {"Tag": {"Key": "seqledger:archive", "Value": "true"}},
        "Transitions": [{"Days": 45, "StorageClass": "DEEP_ARCHIVE"}]}]}
    two = LifecyclePolicy((LifecycleRule("x", {"a": "1", "b": "2"}, expiration_days=9),))
    assert s3_lifecycle_configuration(two)["Rules"][0]["Filter"] == {
        "And": {"Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}
    }
    with pytest.raises(ValueError):
        default_policy(-1)

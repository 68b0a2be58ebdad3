"""The DRAGEN licence: named models, a stated rule for attempts that did not finish, and the rate
you configure being the one estimates use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lake.errors import ConfigError
from lake.settings import Settings
from pipeline_runner.cost import AttemptUsage, licence_row
from pipeline_runner.licence import LicenceTerms
from pipeline_runner.prices import PriceBook

T0 = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)
TAGS = {"project": "p", "sample_id": "s", "run_id": "r", "workflow": "w",
        "pipeline_release": "dragen-4.2.4", "requested_by": "u", "cost_centre": "c"}


def _attempt(terms: LicenceTerms, finished: bool | None, **kw) -> AttemptUsage:
    return AttemptUsage(job_id="j", attempt=1, tags=TAGS, capacity="spot",
                        instance_type="f1.2xlarge", started_at=T0,
                        stopped_at=T0 + timedelta(minutes=90), input_bases=120_000_000_000,
                        licence=terms, finished=finished, **kw)


@pytest.fixture(scope="module")
def book():
    return (PriceBook.load_default()
            .with_licence_rate(40.0, model="per_sample")
            .with_licence_rate(3.5, model="per_instance_hour"))


def test_per_gbase_meters_a_reclaimed_attempt_by_default_and_says_so(book):
    row = licence_row(_attempt(LicenceTerms(), finished=False), book)
    assert row["cost_usd"] == pytest.approx(120 * 0.10)
    assert row["price_status"] == "assumed"  # the shipped rate: no published price
    assert "metered although the attempt did not finish (assumed:" in row["price_source"]
    free = licence_row(_attempt(LicenceTerms(failed="free"), finished=False), book)
    assert (free["cost_usd"], free["quantity"]) == (0.0, 120.0)
    assert free["price_source"] == "per_gbase; not metered: the attempt did not finish (configured)"
    done = licence_row(_attempt(LicenceTerms(failed="free"), finished=True), book)
    assert done["cost_usd"] == pytest.approx(12.0)


def test_per_sample_charges_the_completed_analysis_once(book):
    terms = LicenceTerms("per_sample")
    ok = licence_row(_attempt(terms, finished=True), book)
    assert (ok["quantity"], ok["quantity_unit"], ok["cost_usd"]) == (1.0, "sample", 40.0)
    assert ok["price_status"] == "list"
    failed = licence_row(_attempt(terms, finished=False), book)
    assert failed["cost_usd"] == 0.0 and "a sample is counted when" in failed["price_source"]
    unconfigured = licence_row(_attempt(terms, finished=True), PriceBook.load_default())
    assert unconfigured["cost_usd"] is None and unconfigured["price_status"] == "unpriced"
    assert "--licence-rate-usd" in unconfigured["price_source"]


def test_per_instance_hour_meters_every_hour_run_like_a_marketplace_ami(book):
    row = licence_row(_attempt(LicenceTerms("per_instance_hour"), finished=False), book)
    assert (row["quantity"], row["quantity_unit"]) == (1.5, "instance-h")
    assert row["cost_usd"] == pytest.approx(1.5 * 3.5)
    assert "Marketplace" in row["price_source"]


def test_prepaid_costs_nothing_per_analysis(book):
    row = licence_row(_attempt(LicenceTerms("prepaid"), finished=True), book)
    assert (row["cost_usd"], row["quantity"]) == (0.0, 120.0)
    assert "prepaid" in row["price_source"]


def test_unknown_models_and_rules_are_refused_by_name():
    with pytest.raises(ConfigError, match="licence model 'per_seat'"):
        LicenceTerms("per_seat")
    with pytest.raises(ConfigError, match="SEQLEDGER_LICENCE_MODEL='per_seat'"):
        Settings.from_env({"SEQLEDGER_LICENCE_MODEL": "per_seat"})
    with pytest.raises(ConfigError, match="SEQLEDGER_LICENCE_FAILED='sometimes'"):
        Settings.from_env({"SEQLEDGER_LICENCE_FAILED": "sometimes"})
    s = Settings.from_env({"SEQLEDGER_LICENCE_MODEL": "per_sample",
                           "SEQLEDGER_LICENCE_FAILED": "metered"})
    assert (s.licence_model, s.licence_failed) == ("per_sample", "metered")


def test_a_configured_rate_in_the_lake_replaces_the_shipped_assumption():
    shipped = PriceBook.load_default()
    configured = shipped.with_licence_rate(0.05)
    # the lake holds both: the shipped row (2017) and the configured one (dated 2000)
    book = shipped.with_lake_licence([*shipped.rows(), *configured.rows()])
    price = book.service("dragen-licence", T0)
    assert (price.usd, price.status) == (0.05, "list")
    assert shipped.with_lake_licence(shipped.rows()).service("dragen-licence", T0).usd == 0.10


def test_ingest_prices_sets_the_rate_the_next_estimates_use(tmp_path):
    """The defect: `ingest prices --licence-usd-per-gbase 0.05` was stored and ignored."""
    from seqledger.envelopes import object_created

    seqledger = Path(sys.executable).parent / "seqledger"
    (tmp_path / "projects.toml").write_text(
        '[projects.cardio]\ncost_centre = "CC-1"\nrequested_by = "a.lee"\n')
    env = {**os.environ, "SEQLEDGER_LAKE": str(tmp_path / "lake"),
           "SEQLEDGER_PROJECTS": str(tmp_path / "projects.toml"),
           "SEQLEDGER_OUTPUT_PREFIX": str(tmp_path / "out")}
    out = subprocess.run([str(seqledger), "ingest", "prices", "--licence-usd-per-gbase", "0.05"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    events = []
    for n, mate in enumerate(("R1", "R2")):
        path = tmp_path / f"{mate}.json"
        key = f"cardio/S1/S1_S1_L001_{mate}_001.fastq.gz"
        path.write_text(json.dumps(object_created("s3", "in", key, 30_000_000_000, f"e{n}",
                                                  datetime.now(UTC), f"{n:016X}")))
        events.append(str(path))
    run = subprocess.run([str(seqledger), "ingest", "event", *events], env=env,
                         capture_output=True, text=True, timeout=300)
    from lake.store import LakeStore

    costs = LakeStore(Settings(lake_uri=str(tmp_path / "lake"))).read("costs").to_pylist()
    licence = [c for c in costs if c["component"] == "licence"]
    assert licence, run.stdout + run.stderr
    assert {c["rate_usd"] for c in licence} == {0.05}
    assert {c["price_status"] for c in licence} == {"list"}

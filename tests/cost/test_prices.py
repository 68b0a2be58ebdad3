import csv
import json
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from lake.errors import ConfigError, ParseError
from pipeline_runner import prices as P

PRICES = resources.files("pipeline_runner") / "prices"


def _csv_rows(name):
    return list(csv.DictReader((PRICES / name).read_text().splitlines()))


@pytest.fixture(scope="module")
def book():
    return P.PriceBook.load_default()


def test_every_shipped_price_has_a_status_a_source_and_a_date(book):
    rows = book.rows()
    assert len(rows) > 100
    assert {r["price_status"] for r in rows} == {"list", "approximate", "assumed"}
    assert all(r["source"] and r["effective_from_at"].tzinfo for r in rows)


def test_on_demand_prices_match_the_reference_table(book, reference):
    ref = {
        r["instance_type"]: r
        for r in csv.DictReader(
            (reference / "aws-cur" / "ec2-instance-prices_us-east-1_linux_on-demand.csv").open()
        )
    }
    at = datetime(2026, 6, 1, tzinfo=UTC)
    for itype, r in ref.items():
        price = book.on_demand(itype, at)
        assert price.usd == pytest.approx(float(r["on_demand_usd_per_hour"]))
        # Anything the reference does not call a published list price is approximate here.
        expected = "list" if r["price_status"].startswith("published-list-price") else "approximate"
        assert price.status == expected, itype
        assert book.instance(itype).vcpus == int(r["vcpu"])


def test_reference_s3_and_athena_prices_and_their_marks(book, reference):
    ref = {
        r["item"]: r
        for r in csv.DictReader(
            (reference / "aws-cur" / "s3-and-athena-prices_us-east-1.csv").open()
        )
    }
    at = datetime(2026, 6, 1, tzinfo=UTC)
    assert book.storage("STANDARD", at).usd == float(
        ref["S3 Standard (first 50 TB / month)"]["usd"]
    )
    deep = book.storage("DEEP_ARCHIVE", at)
    assert deep.usd == float(ref["S3 Glacier Deep Archive"]["usd"])
    assert (
        "APPROXIMATE" in ref["S3 Glacier Deep Archive"]["price_status"]
        and deep.status == "approximate"
    )
    athena = book.service("athena-scanned", at)
    assert (
        athena.usd == float(ref["Amazon Athena (SQL queries over S3)"]["usd"])
        and athena.status == "list"
    )


def test_a_price_applies_from_its_date_until_the_next_one():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        P.Price(
            P.ON_DEMAND, "us-east-1", "x.large", "hour", usd, t0 + timedelta(days=d), "list", "s"
        )
        for usd, d in ((1.0, 0), (2.0, 10))
    ]
    book = P.PriceBook(rows)
    assert book.on_demand("x.large", t0 - timedelta(seconds=1)) is None  # before the first row
    assert book.on_demand("x.large", t0).usd == 1.0
    assert book.on_demand("x.large", t0 + timedelta(days=10) - timedelta(seconds=1)).usd == 1.0
    assert book.on_demand("x.large", t0 + timedelta(days=10)).usd == 2.0
    assert book.on_demand("x.large", t0, region="eu-west-1") is None
    assert book.on_demand("y.large", t0) is None


def test_spot_file_is_exactly_the_documented_derivation(book):
    on_demand = [p for p in book.prices if p.kind == P.ON_DEMAND]
    assert P.spot_csv(P.derive_spot_series(on_demand)) == (PRICES / "ec2_spot.csv").read_text()
    rows = _csv_rows("ec2_spot.csv")
    assert {r["status"] for r in rows} == {"approximate"}
    assert all(r["source"].startswith("DERIVED") for r in rows)
    # Spot is 30-40 % of On-Demand in every week of the series.
    od = {r["instance_type"]: float(r["usd_per_hour"]) for r in _csv_rows("ec2_on_demand.csv")}
    ratios = [float(r["usd_per_hour"]) / od[r["instance_type"]] for r in rows]
    assert min(ratios) >= 0.299 and max(ratios) <= 0.401
    assert {"f1.2xlarge", "f2.6xlarge"} <= {r["instance_type"] for r in rows}


def test_spot_segments_split_at_price_changes_and_refuse_stale_history(book):
    start = datetime(
        2026, 6, 7, 23, 0, tzinfo=UTC
    )  # Sunday night: the weekly price changes at 00:00
    pieces = book.spot_segments("f1.2xlarge", start, start + timedelta(hours=2))
    assert [(a.hour, b.hour) for a, b, _ in pieces] == [(23, 0), (0, 1)]
    rows = {
        r["effective_from"]: float(r["usd_per_hour"])
        for r in _csv_rows("ec2_spot.csv")
        if r["instance_type"] == "f1.2xlarge"
    }
    assert [p.usd for _, _, p in pieces] == [rows["2026-06-01"], rows["2026-06-08"]]
    assert (
        book.spot_segments(
            "f1.2xlarge", datetime(2024, 12, 1, tzinfo=UTC), datetime(2024, 12, 1, 1, tzinfo=UTC)
        )
        is None
    )
    late = P.SPOT_SERIES_END + P.SPOT_STALE_AFTER + timedelta(hours=1)
    assert book.spot_segments("f1.2xlarge", late, late + timedelta(hours=1)) is None


def test_bad_price_tables_name_the_file_and_line():
    text = (
        "region,item,unit,usd,effective_from,status,source\nus-east-1,a,u,1,2026-01-01,list,s\n"
        "us-east-1,b,u,abc,2026-01-01,list,s\n"
    )
    with pytest.raises(ConfigError, match=r"services.csv:3: 'abc' is not a number"):
        P.parse_price_csv(text, P.SERVICE, "services.csv")
    with pytest.raises(ConfigError, match=r"x.csv:2: status 'guess'"):
        P.parse_price_csv(text.replace(",list,s\n", ",guess,s\n", 1), P.SERVICE, "x.csv")
    with pytest.raises(ConfigError, match="needs a source"):
        P.parse_price_csv(text.replace(",list,s\n", ",list,\n", 1), P.SERVICE, "x.csv")
    with pytest.raises(ConfigError, match="missing column"):
        P.parse_price_csv("region,item\n", P.SERVICE, "x.csv")


def test_licence_rate_is_an_assumption_until_configured(book):
    at = datetime(2026, 6, 1, tzinfo=UTC)
    shipped = book.service("dragen-licence", at)
    assert shipped.status == "assumed" and "ASSUMPTION" in shipped.source
    mine = P.PriceBook.load_default(licence_usd_per_gbase=0.25).service("dragen-licence", at)
    assert (mine.usd, mine.status) == (0.25, "list")
    with pytest.raises(ConfigError):
        book.with_licence_rate(-1)


def test_real_spot_history_from_describe_spot_price_history():
    doc = {
        "SpotPriceHistory": [
            {
                "AvailabilityZone": "us-east-1a",
                "InstanceType": "f1.2xlarge",
                "ProductDescription": "Linux/UNIX",
                "SpotPrice": "0.495000",
                "Timestamp": "2026-06-01T10:00:00+00:00",
            }
        ]
    }
    (p,) = P.spot_history_from_aws(json.dumps(doc), "history.json")
    assert (p.item, p.usd, p.status, p.availability_zone) == (
        "f1.2xlarge",
        0.495,
        "list",
        "us-east-1a",
    )
    book = P.PriceBook([]).with_prices(P.relabel([p], availability_zone=""))
    t = datetime(2026, 6, 1, 11, tzinfo=UTC)
    assert book.spot_segments("f1.2xlarge", t, t + timedelta(hours=1))[0][2].usd == 0.495
    with pytest.raises(ParseError, match="history.json"):
        P.spot_history_from_aws("{}", "history.json")

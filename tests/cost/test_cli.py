import os
import re

import pytest
from click.testing import CliRunner

from analytics.cost import cost_by, reconcile
from analytics.engine import connect
from seqledger.cli import main
from tests.cost.test_reconcile import build
from tests.cost.text_tables import table_rows

SAMPLE = "aws-cur/Oct2018-WorkshopCUR-00001.snappy.parquet"


def run(settings, *args):
    result = CliRunner().invoke(main, list(args), env={"SEQLEDGER_LAKE": settings.lake_uri})
    return result.exit_code, result.output


def line_with(output, *words):
    lines = [ln for ln in output.splitlines() if all(w in ln for w in words)]
    assert len(lines) == 1, (words, output)
    return lines[0].split()


@pytest.fixture
def synthetic(tmp_path, lake_settings, reference):
    build(tmp_path, lake_settings, reference)
    return lake_settings


def test_ingest_cur_reports_rows_and_totals_and_is_idempotent(lake_settings, reference):
    code, out = run(lake_settings, "ingest", "cur", str(reference / SAMPLE))
    assert code == 0, out
    assert line_with(out, "legacy-cur")[-4:] == ["119,307", "119,307", "0", "4,064.48"]
    code, out = run(lake_settings, "ingest", "cur", str(reference / SAMPLE))
    assert code == 0 and line_with(out, "legacy-cur")[-4:] == ["119,307", "0", "0", "4,064.48"]
    code, out = run(lake_settings, "report", "untagged")
    assert code == 0
    assert line_with(out, "AWSGlue")[:4] == ["2018-10", "untagged", "AWSGlue", "2,389.33"]
    assert out.rstrip().endswith("total untagged or partially tagged: 4,064.48")


def test_ingest_cur_refuses_a_file_that_is_not_an_export(lake_settings, reference):
    code, out = run(
        lake_settings,
        "ingest",
        "cur",
        str(reference / "aws-cur" / "cur2-columns_cid-data-exports.csv"),
    )
    assert code == 1 and "not an AWS billing export: missing column(s)" in out


def test_report_cost_by_project_prints_estimated_with_the_approximate_mark_and_billed(synthetic):
    expected = {r["project"]: r for r in cost_by(connect(synthetic), ["project"])}
    code, out = run(synthetic, "report", "cost", "--by", "project")
    assert code == 0, out
    aou = line_with(out, "NIH-AOU")
    assert aou[1] == f"~{expected['NIH-AOU']['estimated_usd']:,.2f}"  # Spot prices are approximate
    assert aou[2] == f"{expected['NIH-AOU']['billed_usd']:,.2f}"
    assert "~ includes approximate prices" in out
    code, out = run(synthetic, "report", "cost", "--by", "project,cost_kind", "--month", "2026-06")
    gregor = next(
        r for r in table_rows(out) if r["project"] == "GREGOR" and r["cost_kind"] == "compute"
    )
    assert code == 0 and gregor["billed_usd"] == ""  # billed spend has no kind of cost
    code, out = run(synthetic, "report", "cost", "--by", "project", "--month", "2026-07")
    assert code == 0 and "total: estimated 0.00  billed 0.00" in out


def test_report_cost_rejects_unknown_columns_and_bad_months(synthetic):
    code, out = run(synthetic, "report", "cost", "--by", "colour")
    assert code == 2 and "cannot group cost by ['colour']" in out  # a usage error
    code, out = run(synthetic, "report", "cost", "--month", "June")
    assert code == 2 and "expected YYYY-MM" in out


def test_report_reconcile_per_project_and_per_attempt(synthetic):
    rows = {r["project"]: r for r in reconcile(connect(synthetic))}
    code, out = run(synthetic, "report", "reconcile")
    assert code == 0, out
    printed = {r["project"]: r for r in table_rows(out)}
    assert printed["GREGOR"]["billed_usd"] == f"{rows['GREGOR']['billed_usd']:,.2f}"
    assert (
        printed["(untagged)"]["unused_usd"] == f"{rows['(untagged)']['unused_capacity_usd']:,.2f}"
    )
    assert printed["(untagged)"]["residual"] == ""  # no billed spend to take a share of
    code, out = run(synthetic, "report", "reconcile", "--attempts")
    assert code == 0
    d1 = next(r for r in table_rows(out) if r["job_id"] == "job-d1")
    assert (d1["basis"], d1["residual"]) == ("split", "-50.0%")
    code, out = run(synthetic, "report", "reconcile", "--attempts", "--min-residual-share", "0.05")
    assert re.findall(r"^job-\S+", out, re.M) == ["job-d1"]


def test_report_reconcile_prints_a_lone_job_charged_its_whole_instance(
    tmp_path, lake_settings, reference
):
    build(tmp_path, lake_settings, reference, lives=True)
    code, out = run(lake_settings, "report", "reconcile", "--attempts")
    assert code == 0, out
    rows = {r["job_id"]: r for r in table_rows(out)}
    assert {j: r["charged"] for j, r in rows.items()} == {
        "job-a1": "whole instance", "job-a2": "whole instance", "job-e1": "whole instance",
        "job-b1": "packing share", "job-c1": "packing share", "job-d1": "packing share"}
    assert all(abs(float(r["residual"].rstrip("%"))) < 2 for r in rows.values()), out
    assert rows["job-e1"]["share"] == "1.000"


def test_report_savings_and_automation(synthetic):
    code, out = run(synthetic, "report", "savings")
    assert code == 0, out
    est = line_with(out, "gross (estimated)", "spot")
    assert est[-2].endswith("%") and 55 < float(est[-2][:-1]) < 75
    net = line_with(out, "net of retries (estimated)", "spot")
    assert net[-2].endswith("%") and float(net[-2][:-1]) <= float(est[-2][:-1])
    code, out = run(synthetic, "report", "automation")
    assert code == 0, out
    assert line_with(out, "lambda-requests")[1] == "3.0400"
    total = float(re.search(r"total a month: ([\d.,]+)", out).group(1).replace(",", ""))
    assert 1 < total < 5


def test_ingest_prices_and_the_savings_hint(lake_settings):
    os.mkdir(lake_settings.lake_uri)  # an empty lake: a hint, not an error (a missing one is)
    code, out = run(lake_settings, "report", "savings")
    assert code == 0 and "seqledger ingest prices" in out
    code, out = run(lake_settings, "ingest", "prices", "--licence-usd-per-gbase", "0.07")
    assert code == 0 and re.search(r"prices: [\d,]+ rows \([\d,]+ approximate or assumed\), "
                                   r"[\d,]+ new", out)
    code, again = run(lake_settings, "ingest", "prices", "--licence-usd-per-gbase", "0.07")
    assert ", 0 new\n" in again
    assert "DRAGEN licence: dragen-licence 0.07 $/Gbase\n" in again

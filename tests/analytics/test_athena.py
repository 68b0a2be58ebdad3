"""The Athena engine and the Athena views against moto's Athena and Glue (server on 127.0.0.1).

moto runs no SQL: a query's answer is preset (``/moto-api/static/athena/query-results``). What
these tests check is what seqledger sends (workgroup, database, query text, results location)
and what it does with the answer; that the SQL gives DuckDB's answers is test_contract.py's job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import sqlglot
from click.testing import CliRunner
from sqlglot import exp
from sqlglot.lineage import lineage

from analytics import athena
from analytics.athena import AthenaEngine
from analytics.cost import cost_by
from analytics.dialect import to_trino
from analytics.engine import QueryError, athena_price_usd, dedupe_sql
from lake import catalog
from lake.schemas import TABLES
from seqledger.cli import main

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
GLUE_TEMPLATE = ROOT / "infra" / "generated" / "glue-tables.json"
RESULTS = "s3://athena-results/seqledger/"
WORKGROUP = "seqledger-analysts"


@pytest.fixture
def aws(moto_endpoint, monkeypatch, request):
    """AWS_ENDPOINT_URL at moto, a results bucket, a workgroup and a fresh Glue database."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    database = "lake_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    boto3.client("s3").create_bucket(Bucket="athena-results")
    ath = boto3.client("athena")
    if WORKGROUP not in {w["Name"] for w in ath.list_work_groups()["WorkGroups"]}:
        ath.create_work_group(Name=WORKGROUP, Configuration={
            "BytesScannedCutoffPerQuery": 10 * 1024**3})
    boto3.client("glue").create_database(DatabaseInput={"Name": database})
    return {"endpoint": moto_endpoint, "database": database, "athena": ath,
            "glue": boto3.client("glue")}


def _deploy_generated_catalog(glue, database: str) -> None:
    """The Glue tables of infra/generated/glue-tables.json, as CloudFormation would create them
    (moto's CloudFormation skips AWS::Glue::*, so the test resolves Fn::Sub itself)."""
    params = {"LakeBucket": "centre-lake", "LakePrefix": "lake",
              "FirstMonth": catalog.DEFAULT_FIRST_MONTH}

    def resolve(v):
        if isinstance(v, dict) and "Fn::Sub" in v:
            text = v["Fn::Sub"].replace("${!month}", "\0")
            for k, val in params.items():
                text = text.replace(f"${{{k}}}", val)
            return text.replace("\0", "${month}")
        if isinstance(v, dict):
            return {k: resolve(x) for k, x in v.items()}
        if isinstance(v, list):
            return [resolve(x) for x in v]
        return v

    template = json.loads(GLUE_TEMPLATE.read_text())
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Glue::Table":
            glue.create_table(DatabaseName=database,
                              TableInput=resolve(res["Properties"]["TableInput"]))


def _preset(endpoint: str, columns: list[tuple[str, str]], rows: list[list[str]]) -> None:
    """The answer moto gives the next query (a FIFO queue)."""
    body = {"account_id": "123456789012", "region": "us-east-1", "results": [{
        "rows": [{"Data": [{"VarCharValue": c} for c, _ in columns]}]
        + [{"Data": [{"VarCharValue": v} for v in row]} for row in rows],
        "column_info": [{"CatalogName": "awsdatacatalog", "SchemaName": "x", "TableName": "x",
                         "Name": c, "Label": c, "Type": t, "Precision": 17, "Scale": 0,
                         "Nullable": "UNKNOWN", "CaseSensitive": False} for c, t in columns],
    }]}
    req = urllib.request.Request(f"{endpoint}/moto-api/static/athena/query-results",
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req)  # noqa: S310 - loopback only


COST_COLUMNS = [("project", "varchar"), ("estimated_usd", "double"), ("billed_usd", "double"),
                ("line_count", "bigint"), ("unpriced_rows", "bigint"),
                ("approximate_rows", "bigint")]


def _sent(ath) -> list[dict]:
    ids = ath.list_query_executions()["QueryExecutionIds"]
    return [ath.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]


def test_a_cost_report_on_athena_sends_trino_sql_to_the_workgroup_database_and_results(aws):
    _preset(aws["endpoint"], COST_COLUMNS, [["oncology", "12.5", "13.0", "40", "0", "2"],
                                            ["pgx", "3.25", "", "9", "1", "0"]])
    before = {q["QueryExecutionId"] for q in _sent(aws["athena"])}
    engine = AthenaEngine(database=aws["database"], workgroup=WORKGROUP, output=RESULTS,
                          poll_s=0.01)
    rows = cost_by(engine, ["project"], month="2026-10")
    assert [(r["project"], r["estimated_usd"], r["line_count"]) for r in rows] == [
        ("oncology", 12.5, 40), ("pgx", 3.25, 9)]
    assert rows[1]["billed_usd"] is None

    (q,) = [q for q in _sent(aws["athena"]) if q["QueryExecutionId"] not in before]
    assert q["QueryExecutionContext"]["Database"] == aws["database"]
    # moto echoes the location with the result file name appended
    assert q["ResultConfiguration"]["OutputLocation"].startswith(RESULTS)
    assert q["WorkGroup"] == WORKGROUP
    sent = q["Query"]
    assert engine.stats[-1].sql == sent and engine.stats[-1].query_id == q["QueryExecutionId"]
    # Trino text (parses as Trino), parameters bound as literals, no DuckDB '?' left
    tree = sqlglot.parse_one(sent, read="trino")
    assert "?" not in sent
    month_filters = [eq for eq in tree.find_all(exp.EQ)
                     if isinstance(eq.left, exp.Column) and eq.left.name == "month"
                     and eq.right.is_string and eq.right.name == "2026-10"]
    # the estimate side and the billed side are both filtered by month
    assert {f.left.table or "" for f in month_filters} == {""} and len(month_filters) == 2
    # moto scans nothing: the query costs Athena's 10 MB minimum
    assert engine.stats[-1].bytes_scanned == 0
    assert engine.stats[-1].cost_usd == pytest.approx(10 * 1024**2 / 1024**4 * 5)


@pytest.mark.parametrize(("view", "table"), [("cost_lines", "costs"),
                                             ("billed_allocated", "billed_costs")])
def test_the_month_filter_reaches_the_partition_column_through_the_views(view, table):
    """The ``month`` a report filters on is, view by view, the Glue table's partition key, and
    the deduplicating view partitions its window by month, so Athena prunes partitions."""
    views = {n: to_trino(s) for n, s in athena.view_definitions().items()}
    schema = {f"raw_{n}": {**{c["Name"]: c["Type"] for c in catalog.columns(spec)},
                           "month": "string"} for n, spec in TABLES.items()}
    node = lineage("month", f"SELECT month FROM {view}", schema, sources=views, dialect="trino")
    path = list(node.walk())
    leaves = [n for n in path if not n.downstream]
    assert {(leaf.name, leaf.source.sql()) for leaf in leaves} == {
        (f"raw_{table}.month", f"raw_{table} AS raw_{table}")}
    # passed through as is on every branch: never an aggregate, which a filter cannot cross
    assert not [n.name for n in path if n.expression.find(exp.AggFunc)]
    glue = catalog.glue_table_input(TABLES[table], "s3://b/lake/" + table)
    assert [k["Name"] for k in glue["PartitionKeys"]] == ["month"]
    window = sqlglot.parse_one(views[table], read="trino").find(exp.Window)
    assert "month" in [c.name for c in window.args["partition_by"]]
    assert dedupe_sql(TABLES[table], "t") in athena.view_definitions()[table].replace(
        f"raw_{table}", "t")


def test_athena_views_creates_every_view_and_check_passes_on_the_generated_catalog(aws):
    db = aws["database"]
    _deploy_generated_catalog(aws["glue"], db)
    runner = CliRunner(env={"AWS_ENDPOINT_URL": aws["endpoint"]})

    out = runner.invoke(main, ["infra", "athena-views", "--database", db])
    assert out.exit_code == 0, out.output
    wanted = list(athena.view_definitions())
    assert f"{len(wanted)} views, {len(wanted)} written" in out.output
    tables = athena.read_views(db)
    assert {n for n, t in tables.items() if t["TableType"] == "VIRTUAL_VIEW"} == set(wanted)
    assert {n for n, t in tables.items() if t["TableType"] == "EXTERNAL_TABLE"} == {
        f"raw_{n}" for n in TABLES}
    runs = athena.presto_view(tables["runs"])
    assert runs["catalog"] == "awsdatacatalog" and runs["schema"] == db
    assert "FROM raw_runs" in runs["originalSql"]
    assert ("status_at", "timestamp(3)") in [(c["name"], c["type"]) for c in runs["columns"]]
    # what Athena's own CREATE VIEW stores beside the Presto JSON
    assert tables["runs"]["ViewExpandedText"] == "/* Presto View */"
    assert tables["runs"]["Parameters"]["presto_view"] == "true"

    check = runner.invoke(main, ["infra", "athena-views", "--check", "--database", db])
    assert check.exit_code == 0, check.output
    assert f"{len(wanted)} views up to date" in check.output
    again = runner.invoke(main, ["infra", "athena-views", "--database", db])
    assert f"{len(wanted)} views, 0 written" in again.output  # idempotent


def test_check_names_a_changed_a_missing_and_a_stale_view(aws):
    db = aws["database"]
    glue = aws["glue"]
    inputs = athena.view_inputs(db)
    athena.put_views(db, inputs)
    changed = athena.view_input("cost_by_month", "SELECT 1 AS month", [("month", "integer")], db)
    glue.update_table(DatabaseName=db, TableInput=changed)
    glue.delete_table(DatabaseName=db, Name="savings")
    glue.create_table(DatabaseName=db, TableInput=athena.view_input(
        "old_view", "SELECT 1 AS x", [("x", "integer")], db))

    out = CliRunner(env={"AWS_ENDPOINT_URL": aws["endpoint"]}).invoke(
        main, ["infra", "athena-views", "--check", "--database", db])
    assert out.exit_code == 1
    assert "drift: view cost_by_month: its SQL differs from analytics/sql" in out.output
    assert "drift: view cost_by_month: its columns differ" in out.output
    assert "drift: view savings: missing from the Glue catalog" in out.output
    assert "drift: view old_view: in the Glue catalog but no longer generated" in out.output
    assert glue.get_table(DatabaseName=db, Name="cost_by_month")["Table"][
        "ViewOriginalText"] == changed["ViewOriginalText"]  # --check changed nothing


def test_athena_views_never_replaces_a_table_it_does_not_own(aws):
    db = aws["database"]
    # a stack from before the raw_ names: the Glue table "runs" holds data
    old = catalog.glue_table_input(TABLES["runs"], "s3://centre-lake/lake/runs")
    aws["glue"].create_table(DatabaseName=db, TableInput=old | {"Name": "runs"})
    out = CliRunner(env={"AWS_ENDPOINT_URL": aws["endpoint"]}).invoke(
        main, ["infra", "athena-views", "--database", db])
    assert out.exit_code == 3  # a setting or the deployment to fix (README: exit codes)
    assert f"Glue table {db}.runs exists and is not a view" in out.output
    assert aws["glue"].get_table(DatabaseName=db, Name="runs")["Table"]["TableType"] == (
        "EXTERNAL_TABLE")


def test_athena_views_on_a_missing_database_says_what_to_do(aws):
    out = CliRunner(env={"AWS_ENDPOINT_URL": aws["endpoint"]}).invoke(
        main, ["infra", "athena-views", "--check", "--database", "no_such_db"])
    assert out.exit_code == 3
    assert "Glue database 'no_such_db' does not exist" in out.output
    assert "Traceback" not in out.output


def test_report_cost_runs_on_athena_end_to_end_as_a_process(aws, tmp_path):
    _preset(aws["endpoint"], COST_COLUMNS, [["oncology", "1234.5", "1250.25", "400", "0", "0"]])
    env = {**os.environ, "AWS_ENDPOINT_URL": aws["endpoint"], "SEQLEDGER_QUERY_ENGINE": "athena",
           "SEQLEDGER_GLUE_DATABASE": aws["database"], "SEQLEDGER_ATHENA_WORKGROUP": WORKGROUP,
           "SEQLEDGER_ATHENA_OUTPUT": RESULTS, "SEQLEDGER_LAKE": str(tmp_path / "no-lake")}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "seqledger"), "report", "cost", "--by", "project",
         "--verbose"],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("oncology"))
    assert line.split()[:3] == ["oncology", "1,234.50", "1,250.25"]
    assert "athena: " in proc.stderr and "0 B scanned, $0.000048" in proc.stderr
    assert "total: 1 athena query" in proc.stderr
    assert not (tmp_path / "no-lake").exists()  # Athena answered; the local lake was not read


class _ScriptedAthena:
    """get_query_execution answers from a script (moto's queries finish at once, scan 0)."""

    def __init__(self, scanned: list[int], final: str = "SUCCEEDED") -> None:
        self.scanned, self.final, self.stopped = scanned, final, []

    def get_query_execution(self, QueryExecutionId: str) -> dict:  # noqa: N803 - boto3 shape
        n = self.scanned.pop(0)
        state = "RUNNING" if self.scanned else self.final
        return {"QueryExecution": {"Status": {"State": state, "StateChangeReason": "boom"},
                                   "Statistics": {"DataScannedInBytes": n}}}

    def stop_query_execution(self, QueryExecutionId: str) -> None:  # noqa: N803
        self.stopped.append(QueryExecutionId)


def test_a_query_that_scans_past_the_cap_is_stopped_while_it_runs():
    engine = AthenaEngine(database="d", workgroup="w", max_scan_bytes=5_000_000, poll_s=0)
    client = _ScriptedAthena([1_000_000, 4_000_000, 9_000_000, 12_000_000])
    with pytest.raises(QueryError, match="SEQLEDGER_ATHENA_MAX_SCAN_BYTES=5,000,000") as e:
        engine._wait(client, "q-1")
    assert client.stopped == ["q-1"] and "9,000,000 bytes" in str(e.value)
    under = _ScriptedAthena([1_000_000, 4_000_000])
    assert engine._wait(under, "q-2")["Statistics"]["DataScannedInBytes"] == 4_000_000
    assert under.stopped == []
    with pytest.raises(QueryError, match="failed: boom"):
        engine._wait(_ScriptedAthena([0], final="FAILED"), "q-3")


@pytest.mark.parametrize(("scanned", "usd"), [
    (0, 10 * 1024**2 / 1024**4 * 5),  # the 10 MB minimum
    (10 * 1024**2 + 1, 11 * 1024**2 / 1024**4 * 5),  # rounded up to the next megabyte
    (1024**4, 5.0),
])
def test_athena_price_is_5_usd_a_tb_with_a_10_mb_minimum(scanned, usd):
    assert athena_price_usd(scanned) == pytest.approx(usd)


def test_a_query_estimated_past_the_cap_is_refused_before_athena_sees_it(lake_settings):
    """With the lake readable, the Parquet footers tell what a query would scan."""
    from datetime import UTC, datetime

    from lake.store import LakeStore

    store = LakeStore(lake_settings)
    store.write("quarantine", [{
        "quarantine_id": f"q{i}", "quarantined_at": datetime(2026, 10, 2, tzinfo=UTC),
        "stage": "ingest.event", "source": f"evt-{i}", "reason": "malformed " * 40}
        for i in range(500)])
    sql = "SELECT count(*) AS n FROM quarantine WHERE reason LIKE ?"
    engine = AthenaEngine(database="d", workgroup="w", max_scan_bytes=1_000, store=store)
    estimate = engine.estimate_bytes(sql, ["%bad%"])
    assert estimate > 1_000
    # no AWS endpoint is set up: reaching Athena would fail differently
    with pytest.raises(QueryError, match=r"not sent to Athena: .* SEQLEDGER_ATHENA_MAX_SCAN"):
        engine.table(sql, ["%bad%"])
    assert engine.stats == []
    roomy = AthenaEngine(database="d", workgroup="w", max_scan_bytes=estimate, store=store)
    assert roomy.estimate_bytes(sql, ["%bad%"]) == estimate


def _new_queries(ath, before: set[str]) -> list[dict]:
    """The queries sent since ``before``, in the order they were started."""
    sent = [q for q in _sent(ath) if q["QueryExecutionId"] not in before]
    return sorted(sent, key=lambda q: q["Status"]["SubmissionDateTime"])


def _month_filters(sql: str) -> list[tuple[str, set[str]]]:
    """``(column, months)`` of each ``month IN (…)`` or ``month = …`` in Trino text."""
    tree = sqlglot.parse_one(sql, read="trino")
    found = [(i.this.sql(), {e.name for e in i.expressions}) for i in tree.find_all(exp.In)
             if isinstance(i.this, exp.Column) and i.this.name == "month"]
    return found + [(e.left.sql(), {e.right.name}) for e in tree.find_all(exp.EQ)
                    if isinstance(e.left, exp.Column) and e.left.name == "month"]


def test_the_overview_of_one_month_runs_on_athena_with_the_month_on_every_query(aws):
    """The dashboard's overview, end to end on moto: five queries, each pruned to the month."""
    from datetime import date

    from analytics import queries
    from analytics.filters import Filters

    answers = [  # in the order overview() asks
        ([("_col0", "bigint")], [["4"]]),
        ([(f"_col{i}", "bigint") for i in range(5)], [["4", "1", "2", "5", "2"]]),
        ([("_col0", "bigint"), ("_col1", "bigint")], [["0", "0"]]),
        ([(f"_col{i}", "bigint") for i in range(4)], [["2", "1", "1", "0"]]),
        ([("_col0", "double")], [["11.6"]]),
    ]
    for columns, rows in answers:
        _preset(aws["endpoint"], columns, rows)
    before = {q["QueryExecutionId"] for q in _sent(aws["athena"])}
    engine = AthenaEngine(database=aws["database"], workgroup=WORKGROUP, output=RESULTS,
                          poll_s=0.01)
    o = queries.overview(engine, filters=Filters(start=date(2026, 11, 1),
                                                 end=date(2026, 11, 30)))
    assert (o.samples, o.runs, o.runs_succeeded, o.runs_failed, o.runs_active, o.attempts,
            o.spot_reclaims, o.qc_gated, o.qc_pass_rate, o.total_cost_usd) == (
        4, 4, 1, 2, 1, 5, 2, 2, 0.5, 11.6)

    sent = _new_queries(aws["athena"], before)
    assert len(sent) == 5 == len(engine.stats)
    assert {(q["WorkGroup"], q["QueryExecutionContext"]["Database"]) for q in sent} == {
        (WORKGROUP, aws["database"])}
    assert all(q["ResultConfiguration"]["OutputLocation"].startswith(RESULTS) for q in sent)
    views = ["run_samples", "runs_daily", "attempts_daily", "qc_gates_daily", "costs_monthly"]
    for q, view in zip(sent, views, strict=True):
        tree = sqlglot.parse_one(q["Query"], read="trino")
        assert [t.name for t in tree.find_all(exp.Table)] == [view]
        # the month partition, unqualified: the view's month, i.e. the table's partition key
        assert _month_filters(q["Query"]) == [("month", {"2026-11"})], q["Query"]
    assert "suite = 'sample_qc'" in sent[3]["Query"]


@pytest.mark.parametrize(("view", "table"), [
    ("runs_daily", "rollup_runs_daily"), ("attempts_daily", "rollup_attempts_daily"),
    ("run_samples", "rollup_run_samples_monthly"), ("costs_monthly", "rollup_costs_monthly"),
    ("qc_gates_daily", "rollup_qc_gates_daily")])
def test_the_dashboards_month_is_the_partition_column_of_the_table_under_the_view(view, table):
    test_the_month_filter_reaches_the_partition_column_through_the_views(view, table)


def test_a_qc_verdicts_month_filters_rows_but_cannot_prune_partitions():
    """A run's verdict is its latest evaluation in any month (qc_results' key spans months), so
    the window is not by month and Athena reads every month of the columns it needs."""
    from analytics.scan import scan_plan

    sql = "SELECT count(*) FROM qc_verdicts WHERE suite = 'sample_qc' AND month IN ('2026-11')"
    (scan,) = scan_plan(sql, athena.view_definitions())
    assert scan.table == "qc_results" and scan.months is None
    assert TABLES["qc_results"].key_spans_months


STATUS_ANSWERS = [  # samples waiting, runs queued, runs retrying, quarantine: as Athena answers
    ([("project", "varchar"), ("sample_id", "varchar"), ("input_kind", "varchar"),
      ("lane", "varchar"), ("r1_files", "bigint"), ("r2_files", "bigint"),
      ("missing_mate", "varchar"), ("last_arrival_at", "timestamp")],
     [["cardio", "W", "fastq", "L002", "1", "0", "R2", "2026-03-02 10:00:00.000"]]),
    ([("run_id", "varchar"), ("project", "varchar"), ("sample_id", "varchar"),
      ("input_kind", "varchar"), ("dispatched_at", "timestamp")], []),
    ([("run_id", "varchar"), ("project", "varchar"), ("sample_id", "varchar"),
      ("failed_attempt", "integer"), ("failure_kind", "varchar"), ("action", "varchar"),
      ("next_capacity", "varchar"), ("decided_at", "timestamp"), ("reason", "varchar")],
     [["run-r", "cardio", "R", "1", "spot_reclaim", "retry", "spot", "2026-03-02 11:00:00.000",
       "reclaimed"]]),
    ([("stage", "varchar"), ("reason", "varchar"), ("inputs", "bigint"), ("example", "varchar"),
      ("last_at", "timestamp")],
     [["ingest.classify", "no mate marker in …", "2", "X_single.fastq.gz",
       "2026-03-02 09:00:00.000"]]),
]


def _athena_env(aws, tmp_path) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": aws["endpoint"], "SEQLEDGER_QUERY_ENGINE": "athena",
            "SEQLEDGER_GLUE_DATABASE": aws["database"], "SEQLEDGER_ATHENA_WORKGROUP": WORKGROUP,
            "SEQLEDGER_ATHENA_OUTPUT": RESULTS, "SEQLEDGER_LAKE": str(tmp_path / "no-lake")}


def test_status_runs_on_athena(aws, tmp_path):
    for columns, rows in STATUS_ANSWERS:
        _preset(aws["endpoint"], columns, rows)
    before = {q["QueryExecutionId"] for q in _sent(aws["athena"])}
    out = CliRunner(env=_athena_env(aws, tmp_path)).invoke(
        main, ["status", "--since", "2026-03-01", "--verbose"])
    assert out.exit_code == 0, out.output
    assert "samples waiting for a mate: 1" in out.output and "L002" in out.output
    assert "runs queued (dispatched, not started): 0" in out.output
    assert "runs retrying: 1" in out.output and "spot_reclaim" in out.output
    assert "quarantined since 2026-03-01, by reason: 1" in out.output
    assert "X_single.fastq.gz" in out.output
    # the rollup check needs the lake's files: not readable here, and it says so
    assert "rollup months behind their facts: not checked (no lake at" in out.output
    assert "total: 4 athena queries" in out.output

    sent = _new_queries(aws["athena"], before)
    assert [q["WorkGroup"] for q in sent] == [WORKGROUP] * 4
    assert {q["QueryExecutionContext"]["Database"] for q in sent} == {aws["database"]}
    texts = [q["Query"] for q in sent]
    for text in texts:
        sqlglot.parse_one(text, read="trino")
    assert "FROM arrivals" in texts[0] and "FROM run_latest" in texts[1]
    # Trino's regexp_replace replaces every match and takes no DuckDB 'g' flag
    replaces = list(sqlglot.parse_one(texts[3], read="trino").find_all(exp.RegexpReplace))
    assert len(replaces) == 2 and all(r.args.get("modifiers") is None for r in replaces)
    # --since as a UTC timestamp literal Athena can compare with timestamp(3)
    assert "quarantined_at >= CAST('2026-03-01 00:00:00' AS TIMESTAMP)" in texts[3]


def test_lake_tables_counts_rows_on_athena_in_one_query(aws, tmp_path):
    from lake.schemas import TABLES

    _preset(aws["endpoint"], [("name", "varchar"), ("n", "bigint")],
            [["runs", "41"], ["costs", "1200"]])
    before = {q["QueryExecutionId"] for q in _sent(aws["athena"])}
    out = CliRunner(env=_athena_env(aws, tmp_path)).invoke(main, ["lake", "tables"])
    assert out.exit_code == 0, out.output
    assert f"lake: Glue database {aws['database']} on Athena (workgroup {WORKGROUP})" in out.output
    lines = {ln.split()[0]: ln.split()[1] for ln in out.output.splitlines()[1:]
             if ln.startswith("  ")}
    assert lines["runs"] == "41" and lines["costs"] == "1,200" and lines["arrivals"] == "0"
    assert "files not counted: no lake at" in out.output
    (q,) = _new_queries(aws["athena"], before)
    tree = sqlglot.parse_one(q["Query"], read="trino")
    assert sorted(t.name for t in tree.find_all(exp.Table)) == sorted(TABLES)
    assert q["WorkGroup"] == WORKGROUP and q["QueryExecutionContext"]["Database"] == aws[
        "database"]


def test_release_list_runs_on_athena(aws, tmp_path):
    _preset(aws["endpoint"], [("pipeline_release", "varchar"), ("runs", "bigint"),
                              ("first_run_at", "timestamp"), ("last_run_at", "timestamp")],
            [["dragen-4.4.4", "12", "2026-10-02 08:00:00.000", "2026-10-20 17:30:00.000"]])
    _preset(aws["endpoint"], [("pipeline_release", "varchar"), ("samples", "bigint"),
                              ("first_loaded_at", "timestamp")], [])
    _preset(aws["endpoint"], [("pipeline_release", "varchar"), ("verdict", "varchar"),
                              ("evaluated_at", "timestamp")], [])
    before = {q["QueryExecutionId"] for q in _sent(aws["athena"])}
    out = CliRunner(env=_athena_env(aws, tmp_path)).invoke(main, ["release", "list", "--json"])
    assert out.exit_code == 0, out.output
    (state,) = json.loads(out.output)
    assert (state["release"], state["runs"], state["state"]) == ("dragen-4.4.4", 12,
                                                                 "not validated")
    sent = _new_queries(aws["athena"], before)
    assert [sorted({t.name for t in sqlglot.parse_one(q["Query"], read="trino").find_all(
        exp.Table)}) for q in sent] == [["release_runs"], ["happy_metrics"],
                                        ["release_validations"]]  # runs from their rollup
    assert {q["WorkGroup"] for q in sent} == {WORKGROUP}
    assert not (tmp_path / "no-lake").exists()


def test_duckdbs_global_regexp_flag_is_dropped_for_trino_and_other_flags_refused():
    """Trino replaces every match and takes no flags; DuckDB needs 'g' for the same."""
    from datetime import UTC, datetime, timedelta, timezone

    trino = to_trino("SELECT regexp_replace(reason, '[0-9]+', 'N', 'g') AS r FROM quarantine")
    (node,) = sqlglot.parse_one(trino, read="trino").find_all(exp.RegexpReplace)
    assert node.args.get("modifiers") is None and "'N'" in trino
    with pytest.raises(QueryError, match="regexp_replace flags 'i' have no Athena equivalent"):
        to_trino("SELECT regexp_replace(reason, 'x', 'y', 'i') FROM quarantine")
    # an aware time is sent as its UTC wall time (Athena's timestamps carry no zone)
    paris = datetime(2026, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    assert "CAST('2026-03-01 00:00:00' AS TIMESTAMP)" in to_trino(
        "SELECT 1 FROM runs WHERE status_at >= ?", [paris])
    assert to_trino("SELECT ?", [paris]) == to_trino("SELECT ?", [paris.astimezone(UTC)])

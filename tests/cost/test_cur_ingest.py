import csv
import gzip
import math
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from analytics.engine import connect
from ingest.cur import athena_column_name, load_cur_files, normalize_cur
from lake.errors import ParseError
from lake.store import LakeStore
from tests.cost.synthetic import cur2_table, interval, line_id

SAMPLE = "aws-cur/Oct2018-WorkshopCUR-00001.snappy.parquet"


@pytest.fixture(scope="module")
def sample_lake(tmp_path_factory, reference):
    from lake.settings import Settings

    settings = Settings(lake_uri=str(tmp_path_factory.mktemp("lake")))
    store = LakeStore(settings)
    first = load_cur_files([str(reference / SAMPLE)], store)
    return settings, store, first


def test_real_sample_totals_by_usage_type_equal_an_independent_sum(sample_lake, reference):
    settings, store, (first,) = sample_lake
    assert (
        first.error,
        first.export_format,
        first.rows_read,
        first.rows_loaded,
        first.quarantined,
    ) == (None, "legacy-cur", 119_307, 119_307, 0)
    raw = duckdb.sql(f"""
        SELECT line_item_usage_type, count(*) AS n, sum(line_item_unblended_cost) AS usd
        FROM read_parquet('{reference / SAMPLE}') GROUP BY 1""").fetchall()
    expected = {k: (n, usd) for k, n, usd in raw}
    con = connect(settings)
    loaded = {
        k or "": (n, usd)
        for k, n, usd in con.sql(
            "SELECT usage_type, count(*), sum(unblended_cost_usd) FROM billed_costs GROUP BY 1"
        ).fetchall()
    }
    assert len(expected) == 180 and loaded.keys() == {k or "" for k in expected}
    for k, (n, usd) in expected.items():
        assert loaded[k or ""][0] == n
        assert loaded[k or ""][1] == pytest.approx(usd, abs=1e-9), k
    assert math.fsum(u for _, u in expected.values()) == pytest.approx(first.unblended_cost_usd)
    assert first.unblended_cost_usd == pytest.approx(4064.4831315, abs=1e-6)


def test_real_sample_keeps_resource_usage_type_instance_type_and_capacity(sample_lake, reference):
    settings, _, _ = sample_lake
    con = connect(settings)
    spot = con.sql("""SELECT count(*), sum(unblended_cost_usd), count(DISTINCT resource_id)
                      FROM billed_costs WHERE capacity = 'spot'""").fetchone()
    raw = duckdb.sql(f"""SELECT count(*), sum(line_item_unblended_cost),
                                count(DISTINCT line_item_resource_id)
                         FROM read_parquet('{reference / SAMPLE}')
                         WHERE line_item_usage_type LIKE '%SpotUsage%'""").fetchone()
    assert spot[0] == raw[0] == 1313 and spot[1] == pytest.approx(raw[1]) and spot[2] == raw[2]
    types = dict(
        con.sql("""SELECT usage_type, max(instance_type) FROM billed_costs
                            WHERE usage_type LIKE '%Usage:%' AND product_code = 'AmazonEC2'
                            GROUP BY 1""").fetchall()
    )
    assert types["SpotUsage:c5.large"] == "c5.large" and types["BoxUsage:t2.micro"] == "t2.micro"
    capacity = dict(
        con.sql(
            "SELECT line_item_type, max(capacity) FROM billed_costs "
            "WHERE line_item_type = 'DiscountedUsage' GROUP BY 1"
        ).fetchall()
    )
    assert capacity == {"DiscountedUsage": "reserved"}
    tags = con.sql("""SELECT resource_tags['user_cost_center'], count(*) FROM billed_costs
                      WHERE resource_tags['user_cost_center'] IS NOT NULL
                      GROUP BY 1 ORDER BY 1""").fetchall()
    raw_tags = duckdb.sql(f"""SELECT resource_tags_user_cost_center, count(*)
                              FROM read_parquet('{reference / SAMPLE}')
                              WHERE resource_tags_user_cost_center <> ''
                              GROUP BY 1 ORDER BY 1""").fetchall()
    assert tags == raw_tags and len(tags) == 5


def test_loading_the_same_file_twice_adds_nothing(sample_lake, reference):
    settings, store, _ = sample_lake
    files = store.files("billed_costs")
    (again,) = load_cur_files([str(reference / SAMPLE)], store)
    assert again.rows_read == 119_307 and again.rows_loaded == 0
    assert store.files("billed_costs") == files
    assert connect(settings).sql("SELECT count(*) FROM raw_billed_costs").fetchone()[0] == 119_307


def test_real_sample_is_all_untagged_spend_for_our_tags(sample_lake):
    settings, _, _ = sample_lake
    con = connect(settings)
    untagged = con.sql("SELECT tag_status, sum(cost_usd) FROM untagged_spend GROUP BY 1").fetchall()
    assert untagged == [("untagged", pytest.approx(4064.4831315, abs=1e-6))]


def _corrupt(reference, tmp_path):
    tbl = pq.read_table(reference / SAMPLE).slice(0, 3000)
    rate = tbl.column("line_item_unblended_rate").to_pylist()
    ids = tbl.column("identity_line_item_id").to_pylist()
    start = tbl.column("line_item_usage_start_date").to_pylist()
    cost = tbl.column("line_item_unblended_cost").to_pylist()
    rate[4] = "abc"  # row 5
    ids[9] = ""  # row 10
    start[19] = None  # row 20
    cost[29] = float("nan")  # row 30
    for name, values in (
        ("line_item_unblended_rate", rate),
        ("identity_line_item_id", ids),
        ("line_item_usage_start_date", start),
        ("line_item_unblended_cost", cost),
    ):
        i = tbl.column_names.index(name)
        tbl = tbl.set_column(i, name, pa.array(values, tbl.schema.field(name).type))
    path = tmp_path / "corrupt.parquet"
    pq.write_table(tbl, path)
    return path, tbl


def test_rows_that_do_not_parse_are_quarantined_with_file_and_row(
    reference, tmp_path, lake_settings
):
    path, tbl = _corrupt(reference, tmp_path)
    store = LakeStore(lake_settings)
    (res,) = load_cur_files([str(path)], store)
    assert (res.error, res.rows_read, res.rows_loaded, res.quarantined) == (None, 3000, 2996, 4)
    q = {r["line"]: r for r in store.read("quarantine").to_pylist()}
    assert sorted(q) == [5, 10, 20, 30]
    assert {r["source"] for r in q.values()} == {str(path)} and {
        r["stage"] for r in q.values()
    } == {"ingest.cur"}
    assert "line_item_unblended_rate 'abc' is not a number" in q[5]["reason"]
    assert "identity_line_item_id is missing" in q[10]["reason"]
    assert "line_item_usage_start_date is missing" in q[20]["reason"]
    assert "line_item_unblended_cost is not a finite number" in q[30]["reason"]
    assert '"line_item_unblended_rate": "abc"' in q[5]["payload"]
    kept = [
        c
        for i, c in enumerate(tbl.column("line_item_unblended_cost").to_pylist())
        if i not in (4, 9, 19, 29)
    ]
    assert res.unblended_cost_usd == pytest.approx(math.fsum(kept))
    loaded = store.read("billed_costs")
    assert sorted(set(range(1, 3001)) - set(loaded.column("source_row").to_pylist())) == [
        5,
        10,
        20,
        30,
    ]
    # Loading it again adds neither rows nor quarantine rows.
    (again,) = load_cur_files([str(path)], store)
    assert again.rows_loaded == 0 and store.read("quarantine").num_rows == 4


def test_a_file_that_is_not_a_billing_export_is_refused_and_the_rest_load(
    reference, tmp_path, lake_settings
):
    store = LakeStore(lake_settings)
    not_cur = reference / "aws-cur" / "cur2-columns_cid-data-exports.csv"
    small = tmp_path / "small.parquet"
    pq.write_table(pq.read_table(reference / SAMPLE).slice(0, 100), small)
    bad, good = load_cur_files([str(not_cur), str(small)], store)
    assert "not an AWS billing export: missing column(s)" in bad.error and bad.rows_loaded == 0
    assert good.error is None and good.rows_loaded == 100
    (q,) = store.read("quarantine").to_pylist()
    assert (
        q["source"] == str(not_cur) and q["line"] is None and "identity_line_item_id" in q["reason"]
    )
    (missing,) = load_cur_files([str(tmp_path / "nope.parquet")], store)
    assert "cannot read the file" in missing.error
    with pytest.raises(ParseError, match="x.parquet: not an AWS billing export"):
        normalize_cur(pa.table({"a": [1]}), "x.parquet")


def test_unknown_columns_are_reported_not_silent(reference, tmp_path, lake_settings):
    tbl = pq.read_table(reference / SAMPLE).slice(0, 10)
    tbl = tbl.append_column("my_extra_column", pa.array(["x"] * 10))
    path = tmp_path / "extra.parquet"
    pq.write_table(tbl, path)
    store = LakeStore(lake_settings)
    (res,) = load_cur_files([str(path)], store)
    assert res.unknown_columns == ("my_extra_column",) and res.rows_loaded == 10
    (q,) = store.read("quarantine").to_pylist()
    assert q["reason"] == "unknown column(s) ignored: my_extra_column"


def test_legacy_csv_headings_load_like_the_athena_parquet(reference, tmp_path, lake_settings):
    headings = [
        r["column"]
        for r in csv.DictReader(
            (reference / "aws-cur" / "cur-legacy-columns_aws-cur-user-guide.csv").open()
        )
    ]
    tbl = pq.read_table(reference / SAMPLE).slice(0, 500)
    by_name = {athena_column_name(h): h for h in headings}
    # The documented headings name the sample's columns once converted (most of them).
    matched = [n for n in tbl.column_names if n in by_name]
    assert {
        "line_item_unblended_cost",
        "identity_line_item_id",
        "line_item_usage_type",
        "reservation_reservation_a_r_n",
        "pricing_public_on_demand_cost",
    } <= set(matched)
    assert len(matched) >= 90
    renamed = tbl.rename_columns([by_name.get(n, n) for n in tbl.column_names])
    renamed = renamed.rename_columns(
        [
            n.replace("resource_tags_user_cost_center", "resourceTags/user:CostCenter")
            for n in renamed.column_names
        ]
    )
    path = tmp_path / "legacy.csv.gz"
    import pyarrow.csv as pacsv

    with gzip.open(path, "wb") as f:
        pacsv.write_csv(renamed, f)
    store = LakeStore(lake_settings)
    (res,) = load_cur_files([str(path)], store)
    assert (res.error, res.rows_loaded, res.quarantined) == (None, 500, 0)
    expected = pc.sum(tbl.column("line_item_unblended_cost")).as_py()
    assert res.unblended_cost_usd == pytest.approx(expected)
    loaded = store.read("billed_costs")
    assert pc.sum(loaded.column("unblended_cost_usd")).as_py() == pytest.approx(expected)
    centres = sorted(
        {dict(m).get("user_cost_center") for m in loaded.column("resource_tags").to_pylist()}
        - {None}
    )
    raw = sorted(set(tbl.column("resource_tags_user_cost_center").to_pylist()) - {""})
    assert centres == raw and centres


# -- CUR 2.0 ---------------------------------------------------------------------------------------

H0 = datetime(2026, 6, 3, 10, tzinfo=UTC)
H1 = datetime(2026, 6, 3, 11, tzinfo=UTC)


def _cur2_rows():
    parent = {
        "identity_line_item_id": line_id("i-1"),
        "identity_time_interval": interval(H0, H1),
        "line_item_usage_start_date": H0,
        "line_item_usage_end_date": H1,
        "line_item_line_item_type": "Usage",
        "line_item_product_code": "AmazonEC2",
        "line_item_usage_type": "USE1-SpotUsage:f1.2xlarge",
        "line_item_resource_id": "i-1",
        "line_item_usage_amount": 1.0,
        "line_item_unblended_rate": 0.6,
        "line_item_unblended_cost": 0.6,
        "pricing_public_on_demand_cost": 1.65,
        "product_instance_type": "f1.2xlarge",
        "product_region_code": "us-east-1",
        "product": {"instance_type": "f1.2xlarge"},
        "resource_tags": {"user_cost_centre": "CC-IT"},
    }
    s3 = {
        "identity_line_item_id": line_id("bucket"),
        "identity_time_interval": interval(H0, H1),
        "line_item_usage_start_date": H0,
        "line_item_usage_end_date": H1,
        "line_item_line_item_type": "Usage",
        "line_item_product_code": "AmazonS3",
        "line_item_usage_type": "TimedStorage-ByteHrs",
        "line_item_resource_id": "results-bucket",
        "line_item_usage_amount": 10.0,
        "line_item_unblended_cost": 0.23,
        "resource_tags": {"user:project": "P1", "user:cost_centre": "CC-7"},
    }
    splits = []
    for task, tags, cpu_cost, mem_cost in (
        ("t1", {"user_project": "P1", "user_sample_id": "S1"}, 0.30, 0.03),
        ("t2", {"user_project": "P2", "user_sample_id": "S2"}, 0.15, 0.02),
    ):
        for kind, c in (("vCPU-Hours", cpu_cost), ("GB-Hours", mem_cost)):
            splits.append(
                {
                    "identity_line_item_id": line_id(task, kind),
                    "identity_time_interval": interval(H0, H1),
                    "line_item_usage_start_date": H0,
                    "line_item_usage_end_date": H1,
                    "line_item_line_item_type": "Usage",
                    "line_item_product_code": "AmazonECS",
                    "line_item_usage_type": f"USE1-ECS-EC2-{kind}",
                    "line_item_resource_id": f"arn:aws:ecs:us-east-1:1:task/b/{task}",
                    "line_item_usage_amount": 1.0,
                    "line_item_unblended_cost": 0.0,
                    "resource_tags": tags,
                    "split_line_item_parent_resource_id": "i-1",
                    "split_line_item_split_cost": c,
                    "split_line_item_unused_cost": c * 0.1 / 0.5,
                    "split_line_item_split_usage_ratio": 0.25,
                }
            )
    return [parent, s3, *splits]


def test_cur2_file_with_split_rows_never_double_counts(reference, tmp_path, lake_settings):
    path = tmp_path / "cur2.parquet"
    pq.write_table(cur2_table(reference, _cur2_rows()), path)
    store = LakeStore(lake_settings)
    (res,) = load_cur_files([str(path)], store)
    assert (res.error, res.export_format, res.rows_loaded, res.unknown_columns) == (
        None,
        "cur2",
        6,
        (),
    )
    con = connect(lake_settings)
    roles = dict(con.sql("SELECT line_role, count(*) FROM billed_lines GROUP BY 1").fetchall())
    assert roles == {"split_parent": 1, "line": 1, "split": 4}
    alloc = {
        (a, p): usd
        for a, p, usd in con.sql(
            "SELECT allocation, project, sum(cost_usd) FROM billed_allocated GROUP BY 1, 2"
        ).fetchall()
    }
    # Parent 0.60 is shared out: P1 0.33, P2 0.17, unused 0.10; plus the S3 line of P1.
    assert alloc == {
        ("split", "P1"): pytest.approx(0.33),
        ("split", "P2"): pytest.approx(0.17),
        ("unused", None): pytest.approx(0.10),
        ("line", "P1"): pytest.approx(0.23),
    }
    total = con.sql("SELECT sum(cost_usd) FROM billed_allocated").fetchone()[0]
    assert total == pytest.approx(0.6 + 0.23)
    # The naive sum of every row's cost (unblended plus split) counts the instance twice.
    naive = con.sql(
        "SELECT sum(unblended_cost_usd) + sum(coalesce(split_cost_usd, 0)) FROM billed_costs"
    ).fetchone()[0]
    assert naive == pytest.approx(0.6 + 0.23 + 0.5)
    tags = con.sql(
        "SELECT resource_id, project, sample_id, cost_centre FROM billed_costs ORDER BY 1"
    ).fetchall()
    assert ("results-bucket", "P1", None, "CC-7") in tags  # user:key spelling
    assert ("i-1", None, None, "CC-IT") in tags
    assert ("arn:aws:ecs:us-east-1:1:task/b/t1", "P1", "S1", None) in tags
    by_project = {
        r[0]: r[1] for r in con.sql("SELECT project, billed_usd FROM reconcile_months").fetchall()
    }
    assert by_project == {
        "P1": pytest.approx(0.56),
        "P2": pytest.approx(0.17),
        "(untagged)": pytest.approx(0.0),
    }
    unused = con.sql("SELECT sum(unused_capacity_usd) FROM reconcile_months").fetchone()[0]
    assert unused == pytest.approx(0.10)
    partial = con.sql("SELECT tag_status, sum(cost_usd) FROM untagged_spend GROUP BY 1").fetchall()
    assert dict(partial) == {
        "partial": pytest.approx(0.10 + 0.50)
    }  # unused (CE tag only), tasks lack cost centre


@pytest.mark.integration
def test_cur2_export_read_from_s3_into_an_s3_lake(reference, tmp_path, s3_settings):
    import pyarrow.fs as pafs

    from lake.store import filesystem

    fs, root = filesystem(s3_settings)
    bucket_key = f"{root}/exports/cur2.parquet"
    with fs.open_output_stream(bucket_key) as out:
        pq.write_table(cur2_table(reference, _cur2_rows()), out)
    assert isinstance(fs, pafs.S3FileSystem)
    store = LakeStore(s3_settings)
    # An s3:// export is read through the lake's S3 connection (here SeaweedFS).
    (res,) = load_cur_files([f"s3://{bucket_key}"], store)
    assert (res.error, res.export_format, res.rows_loaded) == (None, "cur2", 6)
    con = connect(s3_settings)
    total = con.sql("SELECT sum(cost_usd) FROM billed_allocated").fetchone()[0]
    assert total == pytest.approx(0.6 + 0.23)
    tags = con.sql("SELECT resource_tags['user_project'] FROM billed_costs "
                   "WHERE resource_id LIKE '%/t2'").fetchall()
    assert tags == [("P2",), ("P2",)]
    (again,) = load_cur_files([f"s3://{bucket_key}"], store)
    assert again.rows_loaded == 0
    (missing,) = load_cur_files([f"s3://{root}/exports/nope.parquet"], store)
    assert "cannot read the file" in missing.error

from pathlib import Path

import pytest

from lake.errors import ConfigError
from lake.settings import DEFAULT_LAKE, Settings


def test_default_lake_is_a_local_folder_resolved_to_absolute():
    s = Settings.from_env({})
    assert s.lake_uri == str(Path(DEFAULT_LAKE).resolve())
    assert not s.lake_is_s3


def test_s3_lake_keeps_the_uri_and_reads_the_endpoint_for_pyarrow():
    s = Settings.from_env(
        {
            "SEQLEDGER_LAKE": "s3://bucket/prefix/",
            "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:8333",
            "AWS_DEFAULT_REGION": "eu-west-2",
        }
    )
    assert s.lake_uri == "s3://bucket/prefix"
    assert s.lake_is_s3
    assert s.s3.endpoint_url == "http://127.0.0.1:8333"
    assert s.s3.region == "eu-west-2"


@pytest.mark.parametrize(
    ("value", "message"),
    [(" ", "is set but empty"), ("s3://", "no bucket"), ("gs://b/p", "only folders and s3://")],
)
def test_bad_lake_setting_names_the_variable(value, message):
    with pytest.raises(ConfigError, match=message) as e:
        Settings.from_env({"SEQLEDGER_LAKE": value})
    assert "SEQLEDGER_LAKE" in str(e.value)


def test_unknown_query_engine_is_refused():
    with pytest.raises(ConfigError, match="SEQLEDGER_QUERY_ENGINE"):
        Settings.from_env({"SEQLEDGER_QUERY_ENGINE": "spark"})


def test_temporary_credentials_keep_their_session_token():
    s = Settings.from_env(
        {
            "SEQLEDGER_LAKE": "s3://b/p",
            "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_SESSION_TOKEN": "token",
        }
    )
    assert s.s3.session_token == "token"
    from lake.store import filesystem

    fs, root = filesystem(s)
    assert root == "b/p" and type(fs).__name__ == "S3FileSystem"


def test_athena_is_an_engine_with_its_database_workgroup_results_location_and_cap():
    from analytics.athena import AthenaEngine
    from analytics.engine import open_engine

    s = Settings.from_env({
        "SEQLEDGER_QUERY_ENGINE": "athena", "SEQLEDGER_GLUE_DATABASE": "genomics",
        "SEQLEDGER_ATHENA_WORKGROUP": "finance", "SEQLEDGER_ATHENA_OUTPUT": "s3://r/athena/",
        "SEQLEDGER_ATHENA_MAX_SCAN_BYTES": "1000000000",
    })
    engine = open_engine(s)
    assert isinstance(engine, AthenaEngine)
    assert (engine.database, engine.workgroup, engine.output, engine.max_scan_bytes) == (
        "genomics", "finance", "s3://r/athena/", 1_000_000_000)
    # the older name of the database setting still works
    assert Settings.from_env({"SEQLEDGER_ATHENA_DATABASE": "old"}).athena_database == "old"


@pytest.mark.parametrize(("var", "value", "reason"), [
    ("SEQLEDGER_ATHENA_MAX_SCAN_BYTES", "10GB", "positive whole number"),
    ("SEQLEDGER_ATHENA_MAX_SCAN_BYTES", "0", "positive whole number"),
    ("SEQLEDGER_ATHENA_OUTPUT", "/tmp/results", "s3://"),
    ("SEQLEDGER_QUERY_ENGINE", "trino", "duckdb or athena"),
])
def test_bad_athena_settings_name_the_variable_and_the_reason(var, value, reason):
    with pytest.raises(ConfigError, match=var) as e:
        Settings.from_env({var: value})
    assert reason in str(e.value)

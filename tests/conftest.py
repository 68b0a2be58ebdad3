"""Shared fixtures: an isolated environment, a temporary lake, and the real servers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lake.settings import S3Options, Settings

# The real reference files the tests read live in the repository (tests/fixtures/reference-data,
# each file's source and licence in its README). SEQLEDGER_REFERENCE_DATA points at another copy,
# e.g. the full collection, which also holds the files we may not ship.
REFERENCE_ENV = "SEQLEDGER_REFERENCE_DATA"
REFERENCE = Path(
    os.environ.get(REFERENCE_ENV) or Path(__file__).resolve().parent / "fixtures" / "reference-data"
)


def pytest_configure(config: pytest.Config) -> None:
    # Never reach outside loopback: no instance metadata, fake credentials, no usage stats.
    os.environ.update(AWS_EC2_METADATA_DISABLED="true", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    for var in ("SEQLEDGER_LAKE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        os.environ.pop(var, None)


@pytest.fixture(scope="session")
def reference() -> Path:
    """The real reference files (DRAGEN metrics, AWS events, billing exports) in the repository."""
    if not REFERENCE.is_dir():
        pytest.fail(f"reference data not found at {REFERENCE} (set {REFERENCE_ENV})")
    return REFERENCE


@pytest.fixture(scope="session")
def real_reference() -> Path:
    """The full reference collection, for the extra checks against files the repository does not
    carry (their licence is unknown); skipped unless SEQLEDGER_REFERENCE_DATA points at it."""
    where = os.environ.get(REFERENCE_ENV)
    if not where or not Path(where).is_dir():
        pytest.skip(f"{REFERENCE_ENV} does not point at the full reference collection")
    return Path(where)


@pytest.fixture
def lake_settings(tmp_path: Path) -> Settings:
    """Settings for an empty local lake in a temporary folder."""
    return Settings(lake_uri=str(tmp_path / "lake"))


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory):
    """A real S3 server (SeaweedFS) on 127.0.0.1, with a bucket named ``lake``."""
    from tests.servers import start_seaweed

    server = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    yield server
    server.stop()


@pytest.fixture
def s3_settings(seaweed, request: pytest.FixtureRequest) -> Settings:
    """Settings for an empty lake under a unique prefix of the SeaweedFS bucket."""
    from tests.servers import ACCESS_KEY, SECRET_KEY

    prefix = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")[:60]
    return Settings(
        lake_uri=f"s3://lake/{prefix}-{os.urandom(3).hex()}",
        s3=S3Options(region="us-east-1", endpoint_url=seaweed.endpoint,
                     access_key=ACCESS_KEY, secret_key=SECRET_KEY),
    )


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's server on 127.0.0.1, for AWS APIs with no local server (Batch, Glue, SNS, …)."""
    from moto.server import ThreadedMotoServer

    from tests.servers import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A lake with a demo month in it (``seqledger demo``: 12 samples), shared by the session."""
    from seqledger.demo import play

    root = tmp_path_factory.mktemp("demo-lake")
    settings = Settings(lake_uri=str(root / "lake"))
    play(settings, samples=12, seed=11, workdir=root)
    return settings

"""The store through an S3 fault proxy in front of SeaweedFS: bounded bursts of 503, 500,
resets, truncated bodies and delays are retried through, and the lake ends as it would without
them (issue 17, finding 5; the harness of "What to build")."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ingest.dragen.service import ingest_folder
from lake.errors import LakeReadError
from lake.settings import Settings
from lake.store import LakeStore
from tests.fault.proxy import FaultPlan, FaultProxy
from tests.fault.trials import VOLATILE
from tests.ingest.dragen.conftest import RUN_AT

pytestmark = [pytest.mark.integration, pytest.mark.fault]
FOLDERS = ("TEST", "Sample_1", "T_SRR7890936_50pc")


def _through(settings: Settings, endpoint: str, retry_s: float) -> Settings:
    return replace(settings, s3=replace(settings.s3, endpoint_url=endpoint),
                   storage_retry_s=retry_s)


def _load(settings: Settings, dragen: Path) -> None:
    store = LakeStore(settings)
    for n, folder in enumerate(FOLDERS):
        ingest_folder(store, dragen / folder, sample_id=folder, run_id=f"run-{n}", run_at=RUN_AT)
    store.compact("qc_metrics", RUN_AT.strftime("%Y-%m"))


def _rows(settings: Settings) -> dict[str, list]:
    store = LakeStore(settings)
    out = {}
    for name in ("qc_metrics", "qc_histograms", "qc_contig_coverage", "quarantine"):
        tbl = store.read(name)
        keep = [c for c in tbl.column_names if c not in VOLATILE]
        out[name] = sorted(map(repr, tbl.select(keep).to_pylist()))
    return out


def test_bursts_of_s3_faults_are_retried_and_the_lake_is_the_same(reference: Path,
                                                                   s3_settings: Settings):
    dragen = reference / "dragen"
    clean = replace(s3_settings, lake_uri=f"{s3_settings.lake_uri}-clean")
    _load(clean, dragen)
    plan = FaultPlan(budget=25, rate=0.35, delay_s=1.0, seed=17)
    with FaultProxy(s3_settings.s3.endpoint_url, plan) as proxy:
        _load(_through(s3_settings, proxy.endpoint, retry_s=60), dragen)
    assert sum(plan.injected.values()) == 25 and set(plan.injected) >= {"503", "500", "reset"}
    assert _rows(s3_settings) == _rows(clean)  # read back directly, not through the proxy


def test_an_outage_longer_than_the_budget_is_one_clear_error(s3_settings: Settings):
    LakeStore(s3_settings).write("quarantine", [{
        "quarantine_id": "q", "quarantined_at": RUN_AT, "stage": "t", "source": "s",
        "reason": "r"}])
    plan = FaultPlan(budget=10_000, rate=1.0, kinds=("503",))
    with FaultProxy(s3_settings.s3.endpoint_url, plan) as proxy:
        store = LakeStore(_through(s3_settings, proxy.endpoint, retry_s=3))
        with pytest.raises(LakeReadError) as err:
            store.read("quarantine")
    message = str(err.value)
    assert message.startswith("listing s3://lake/") and " failed after " in message
    assert "\n" not in message and sum(plan.injected.values()) >= 3


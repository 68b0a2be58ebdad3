"""``seqledger ingest event`` when a resubmission fails transiently: a message and exit 75,
the failed attempt left undecided, and a redelivery of its event finishes the decision."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from click.testing import CliRunner

from lake.errors import TransientError
from lake.settings import Settings
from lake.store import LakeStore
from pipeline_runner.executors.simulated import SimulatedBatch
from seqledger.cli import main
from seqledger.envelopes import s3_notification

AT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


class ThrottledRetries(SimulatedBatch):
    """Every Spot attempt is reclaimed; resubmissions are throttled while ``throttled``."""

    throttled = True
    failed_events: list[dict] = []

    def submit_at(self, spec, at):  # what the runner calls: jobs start on its clock
        if spec.attempt > 1 and ThrottledRetries.throttled:
            raise TransientError(f"job {spec.job_name}: Batch refused SubmitJob "
                                 "(TooManyRequestsException): Rate exceeded")
        return super().submit_at(spec, at)

    def advance(self, until):
        events = super().advance(until)
        ThrottledRetries.failed_events += [e for e in events
                                           if e["detail"]["status"] == "FAILED"]
        return events


def test_a_throttled_resubmission_is_named_and_decided_on_redelivery(tmp_path, monkeypatch):
    import ingest.assembly

    projects = tmp_path / "projects.toml"
    projects.write_text('[projects.cardio]\ncost_centre = "CC-1"\nrequested_by = "a.lee"\n')
    lake = tmp_path / "lake"
    for name, value in {"SEQLEDGER_LAKE": str(lake), "SEQLEDGER_PROJECTS": str(projects),
                        "SEQLEDGER_OUTPUT_PREFIX": str(tmp_path / "out")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(ingest.assembly, "make_executor", lambda settings, now=None:
                        ThrottledRetries(seed=3, clock_start=now, spot_reclaim_rate=1.0,
                                         app_failure_rate=0.0, infra_failure_rate=0.0))
    files = []
    for n, mate in enumerate(("R1", "R2")):
        path = tmp_path / f"{mate}.json"
        key = f"cardio/T1/T1_S1_L001_{mate}_001.fastq.gz"
        path.write_text(json.dumps(s3_notification("in", key, 30 * 10**9, f"e{n}", AT, f"{n:08X}")))
        files.append(str(path))

    out = CliRunner().invoke(main, ["ingest", "event", *files])
    assert out.exit_code == 75, out.output  # EX_TEMPFAIL: run the same files again later
    assert "transient errors (run the same files again): 1" in out.stdout
    (line,) = [x for x in out.stdout.splitlines() if "resubmitting attempt 2 failed" in x]
    assert "TooManyRequestsException" in line
    store = LakeStore(Settings(lake_uri=str(lake)))
    assert store.read("decisions").num_rows == 0  # undecided: resumable, not given up
    assert store.read("quarantine").num_rows == 0
    assert {r["status"] for r in store.read("runs").to_pylist()} == {"DISPATCHED", "RUNNING"}

    # Batch recovers; the FAILED event is delivered again
    ThrottledRetries.throttled = False
    event = tmp_path / "failed.json"
    event.write_text(json.dumps(ThrottledRetries.failed_events[-1]))
    out = CliRunner().invoke(main, ["ingest", "event", "--no-follow", str(event)])
    assert out.exit_code == 0, out.output
    (decision,) = store.read("decisions").to_pylist()
    assert (decision["attempt"], decision["action"]) == (1, "retry")
    attempts = {(r["attempt"], r["status"]) for r in store.read("job_attempts").to_pylist()}
    assert (2, "SUBMITTED") in attempts

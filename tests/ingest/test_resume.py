"""Tracking → decision → results, interrupted at each step and resumed by a redelivery of the
event: the lake ends as an uninterrupted run's (issue 17, item 2 and the Resumability bullet)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.assembly import build_event_service
from lake.settings import Settings
from lake.store import LakeStore
from pipeline_runner.executors.simulated import SimulatedBatch
from seqledger.envelopes import s3_notification

AT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
TABLES = ("runs", "job_attempts", "decisions", "costs", "qc_metrics")


class Crash(Exception):
    """Stands for a process killed at this point."""


def settings_for(tmp_path, name: str) -> Settings:
    projects = tmp_path / "projects.toml"
    projects.write_text('[projects.cardio]\ncost_centre = "CC-1"\nrequested_by = "a.lee"\n')
    return Settings(
        lake_uri=str(tmp_path / name),
        projects_file=str(projects),
        output_prefix=str(tmp_path / "out"),
    )


def arrivals() -> list[tuple[str, dict]]:
    return [
        (
            f"{mate}.json",
            s3_notification(
                "in",
                f"cardio/R9/R9_S1_L001_{mate}_001.fastq.gz",
                30 * 10**9,
                f"e{n}",
                AT,
                f"{n:08X}",
            ),
        )
        for n, mate in enumerate(("R1", "R2"))
    ]


def simulator(**rates) -> SimulatedBatch:
    return SimulatedBatch(
        seed=7,
        clock_start=AT,
        app_failure_rate=0.0,
        infra_failure_rate=0.0,
        capacity_shortage_rate=0.0,
        **rates,
    )


def play(settings: Settings, executor: SimulatedBatch, crash_on: str | None = None) -> list:
    """Dispatch and follow every job; stop at the first write to ``crash_on``.
    Returns the events not yet fully processed (the one that crashed first)."""
    real = LakeStore.write

    def write(self, name, rows, recorded_at=None):
        if name == crash_on:
            raise Crash(name)
        return real(self, name, rows, recorded_at)

    service = build_event_service(settings, executor=executor, now=AT)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LakeStore, "write", write)
        pending: list = arrivals()
        try:
            service.process(pending, now=AT)
            while (at := executor.next_event_at()) is not None:
                pending = [
                    (f"batch:{e['id']}", e) for e in executor.advance(at + timedelta(minutes=30))
                ]
                service.process(pending, now=at)
            pending = []
        except Crash:
            return pending + [(f"batch:{e['id']}", e) for e in _drain(executor)]
    return []


def _drain(executor: SimulatedBatch):
    while (at := executor.next_event_at()) is not None:
        yield from executor.advance(at + timedelta(minutes=30))


def lake(settings: Settings) -> dict[str, list[tuple]]:
    store = LakeStore(settings)
    return {
        name: sorted(
            tuple(sorted((k, str(v)) for k, v in r.items() if not k.endswith("_at")))
            for r in store.read(name).to_pylist()
        )
        for name in TABLES
    }


@pytest.mark.parametrize("reclaims", [False, True], ids=["succeeds", "reclaimed-then-retried"])
@pytest.mark.parametrize("point", ["decisions", "runs", "qc_metrics", "costs"])
def test_a_crash_after_any_step_of_tracking_resumes_to_the_same_lake(tmp_path, point, reclaims):
    rates = {"spot_reclaim_rate": 1.0 if reclaims else 0.0}
    clean = settings_for(tmp_path, "clean")
    assert play(clean, simulator(**rates)) == []
    expected = lake(clean)
    assert expected["qc_metrics"] and expected["costs"]  # the results stage ran

    crashed = settings_for(tmp_path, "crashed")
    executor = simulator(**rates)
    pending = play(crashed, executor, crash_on=point)
    assert pending, f"no write to {point} happened"
    # A fresh process (a Lambda retry) gets the event again, then whatever followed it.
    service = build_event_service(crashed, executor=executor, now=AT)
    service.process(pending, now=AT)
    while (at := executor.next_event_at()) is not None:
        events = executor.advance(at + timedelta(minutes=30))
        service.process([(f"batch:{e['id']}", e) for e in events], now=at)
    assert lake(crashed) == expected

"""The collector is paused over a large batch and left as it was found."""

from __future__ import annotations

import gc
from types import SimpleNamespace

import pytest

from ingest.gc_pause import paused_gc


@pytest.fixture
def collector():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_inside_and_enabled_again_after_even_on_error(collector):
    gc.enable()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("a batch failed")
    assert gc.isenabled()


def test_a_caller_that_paused_it_finds_it_paused(collector):
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_a_large_batch_is_processed_with_the_collector_paused(collector):
    from ingest.service import COLUMNAR_FROM, EventService

    seen = []
    service = SimpleNamespace(_process=lambda payloads, now: seen.append(gc.isenabled()))
    gc.enable()
    small = [("e.json", b"{}")] * (COLUMNAR_FROM - 1)
    EventService.process(service, small)
    EventService.process(service, small + small)
    assert seen == [True, False] and gc.isenabled()

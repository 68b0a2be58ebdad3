"""A batch of event payloads spread over worker processes, every run's events in one of them.

``seqledger ingest event --jobs N`` forks N long-lived workers, each holding its own
``EventService`` (and so its own Runner memory of the runs in flight). The parent reads the
files and routes each payload by a key found in its bytes, without parsing it:

* a Batch job-state payload goes to the worker of its run: the ``run_id`` tag, else the run
  part of the job name (what ``pipeline_runner.service.run_id_of`` reads), else the job id (a
  job that names no run: the Runner looks it up by id). The key is hashed with CRC-32, so a
  run has one worker for the whole command and its events are processed in their order;
* everything else that is not an instance event (S3 object-created events, files that are not
  events) goes to worker 0 *before* the batch's job changes: arrivals dispatch runs, so a job
  event never meets a run this command has not written yet, as in one process;
* EC2 instance state changes go to worker 0 *after* them: an instance that ended restates the
  compute of the attempts recorded on it, as ``EventService.process`` does last.

A payload holding the events of several runs (an SNS or SQS batch, a DescribeJobs reply) goes
to the worker of its first run. Its other runs are then tracked by a second process when their
own events are elsewhere: safe as two ``ingest event`` processes are (the lake's claims make
every submission happen once, ``lake.claims``), but not the exact rows of one process in a
race. Replays and backfills (EventBridge archives: one event a file) never hit it.

Each worker sums what it did in an ``EventSummary`` (plain values: it crosses the pipe) that
the parent folds in order, so the report and the exit status are those of one process.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import multiprocessing as mp
import re
import traceback
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingest.summary import EventSummary

Payload = tuple[str, bytes]

_EC2 = b"EC2 Instance State-change Notification"
# "key": "value" in a payload, or in a JSON string inside it (an SNS or SQS body: \"key\")
_FIELD = re.compile(rb'\\?"(run_id|jobName|JobName|jobId|JobId)\\?"\s*:\s*\\?"([^"\\]*)')
_VALUE = re.compile(rb'\s*:\s*"([^"\\]*)"')
_ATTEMPT = re.compile(rb"-a\d+$")


def run_key(payload: bytes) -> bytes | None:
    """The run a job-state payload names, for routing: its first ``run_id`` tag, else its first
    job name's run, else its first job id; None if it names none of them."""
    at = payload.find(b'"run_id"')  # the common case: one event, tagged
    if at >= 0 and (m := _VALUE.match(payload, at + 8)) and m.group(1):
        return m.group(1)
    name = job = None
    for m in _FIELD.finditer(payload):
        kind, value = m.group(1), m.group(2)
        if kind == b"run_id" and value:
            return value
        if kind in (b"jobName", b"JobName") and name is None and _ATTEMPT.search(value):
            name = _ATTEMPT.sub(b"", value)
        elif kind in (b"jobId", b"JobId") and job is None and value:
            job = value
    return name or job


@dataclass
class Routed:
    """One batch's payloads by where and when they are processed."""

    first: list[Payload] = field(default_factory=list)  # worker 0, before the job changes
    jobs: list[list[Payload]] = field(default_factory=list)  # by worker
    last: list[Payload] = field(default_factory=list)  # worker 0, after the job changes


def route(payloads: Iterable[Payload], workers: int) -> Routed:
    """Split a batch by worker, each run's payloads in their order (module docstring)."""
    out = Routed(jobs=[[] for _ in range(workers)])
    for item in payloads:
        data = item[1]
        # a job id as a JSON key ("jobId", "JobId"; \"jobId\" in an SNS or SQS body), not in
        # an object's name
        if b"Batch Job State Change" in data or b'obId"' in data or b'obId\\"' in data:
            key = run_key(data) or b""
            out.jobs[zlib.crc32(key) % workers].append(item)
        elif _EC2 in data:
            out.last.append(item)
        else:
            out.first.append(item)
    return out


def _serve(conn, service) -> None:
    """A worker: process each batch sent, answer with its summary, until told to stop."""
    while (message := conn.recv()) is not None:
        payloads, now = message
        try:
            summary = EventSummary()
            summary.add(service.process(payloads, now=now))
            service.forget_finished()  # memory holds the open runs, not all the month's
            conn.send(("ok", summary))
        except Exception as e:  # noqa: BLE001 - raised in the parent, the one error boundary
            try:
                conn.send(("error", e))
            except Exception:  # noqa: BLE001 - one that cannot be pickled: said as text
                conn.send(("error", RuntimeError(traceback.format_exc())))
    conn.close()


# imported by the batch path on first use (ingest.service, the columnar reader and tracker,
# the results stage): in each worker, without this, ~0.3 s of CPU
BATCH_MODULES = ("pyarrow.json", "pyarrow.compute", "pyarrow.dataset", "pyarrow.parquet",
                 "ingest.event_columns", "ingest.dragen.service", "ingest.happy",
                 "ingest.tagging", "pipeline_runner.change_columns", "lake.claims")


def import_batch_modules() -> None:
    """What a large batch imports on first use, imported now (once a process)."""
    for module in BATCH_MODULES:
        importlib.import_module(module)


class WorkerDied(Exception):
    """A worker process ended without answering: the command ends as that process did (a
    killed process's status), and a re-run does what it left (nothing is done twice)."""

    def __init__(self, worker: int, status: int) -> None:
        super().__init__(f"event worker {worker} died (exit status {status}): run the same "
                         "files again, nothing is done twice")
        self.status = status


class WorkerPool:
    """``workers`` forked processes, each with its own copy of ``service`` (built by the parent,
    used only by them from then on)."""

    def __init__(self, service, workers: int) -> None:
        # What a batch imports on first use, imported once here: the workers share it
        import_batch_modules()
        gc.freeze()  # the parent's objects out of the collector's sight: no copy on a pass
        ctx = mp.get_context("fork")
        self.conns = []
        self.procs = []
        for _ in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child, service), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    def process(self, routed: Routed, now: datetime | None,
                meanwhile: Callable[[], Any] | None = None) -> list[EventSummary]:
        """The batch's summaries in order: worker 0's first part, then every worker's job
        changes (at once), then worker 0's last part. ``meanwhile`` runs in this process while
        the workers track the job changes (reading the next batch's files)."""
        out = []
        if routed.first:
            out.append(self._ask(0, routed.first, now))
        busy = [w for w, part in enumerate(routed.jobs) if part]
        for w in busy:
            self.conns[w].send((routed.jobs[w], now))
        if meanwhile is not None:
            meanwhile()
        out += [self._answer(w) for w in busy]
        if routed.last:
            out.append(self._ask(0, routed.last, now))
        return out

    def _ask(self, worker: int, payloads: list[Payload], now: datetime | None) -> EventSummary:
        self.conns[worker].send((payloads, now))
        return self._answer(worker)

    def _answer(self, worker: int) -> EventSummary:
        try:
            status, value = self.conns[worker].recv()
        except EOFError:  # killed (the OOM killer, kill -9) or exited without a word
            proc = self.procs[worker]
            proc.join(timeout=10)
            code = proc.exitcode
            raise WorkerDied(worker, 128 - code if code is not None and code < 0 else
                             code if code else 1) from None
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):  # already gone
                conn.send(None)
        for proc in self.procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
        for conn in self.conns:
            conn.close()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def latest_time(chunks: Iterable[list[str]], read: Callable[[list[str]], list[Payload]],
                workers: int) -> datetime | None:
    """``ingest.service.batch_time`` over every chunk of files (``read`` gives their payloads),
    the chunks spread over ``workers`` short-lived processes: a pass over the files before the
    service exists (the simulated executor's clock starts at their latest event)."""
    timed = _Timed(read)
    if workers <= 1:
        times = map(timed, chunks)
        return max((t for t in times if t is not None), default=None)
    with mp.get_context("fork").Pool(workers) as pool:
        times = pool.imap(timed, chunks)
        return max((t for t in times if t is not None), default=None)


class _Timed:
    """``batch_time`` of a chunk of files, picklable (``Pool.imap`` sends it to the workers)."""

    def __init__(self, read: Callable[[list[str]], list[Payload]]) -> None:
        self.read = read

    def __call__(self, chunk: list[str]) -> datetime | None:
        from ingest.service import batch_time

        return batch_time(self.read(chunk))

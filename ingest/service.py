"""The event path: S3 arrivals and Batch job-state changes in, lake rows and jobs out.

One function serves the Lambda handlers, ``seqledger ingest event`` and the demo. A batch of
payloads is processed together: each table is written once per batch, and one bad payload or
record is quarantined without stopping the others.

1. S3 object-created events (any envelope) → classified ``arrivals`` rows; samples whose inputs
   are complete are dispatched (once: the run id comes from the inputs).
2. Batch job-state changes (any shape) → the Runner's state machine and retry policy.
3. Runs that finished → their attempts priced (``costs``), their DRAGEN metrics loaded.
4. EC2 instance state changes → ``instances`` (with DescribeInstances' attributes); when an
   instance ends, the compute of the attempts on it is restated (``ingest.instance_costs``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from ingest.arrivals import (
    SampleInputs,
    WaitingSample,
    arrival_row,
    ready_samples,
    waiting_samples,
)
from ingest.batch_events import job_state_changes
from ingest.classify import classify
from ingest.ec2_events import ec2_state_changes
from ingest.gc_pause import paused_gc
from ingest.instance_costs import Restated, new_instance_rows, restate_instances
from ingest.layout import DEFAULT, InputLayout
from ingest.results import RunResults, finish_runs
from ingest.s3_events import SkippedEvent, detect_kind, parse_event_text, read_s3_events
from lake.errors import InvalidEvent, SeqledgerError, TerminalError
from lake.quarantine import quarantine_row
from lake.schemas import table as lake_table
from lake.store import LakeStore, latest_by_key
from pipeline_runner.change_columns import SEQ_STRIDE, changes_to_table
from pipeline_runner.instances import BILLED_UNTIL
from pipeline_runner.licence import LicenceTerms
from pipeline_runner.prices import PriceBook
from pipeline_runner.projects import ProjectRegistry
from pipeline_runner.records import JobStateChange
from pipeline_runner.service import (
    DispatchResult,
    FinishedRun,
    Runner,
    TrackResult,
    recent_months,
)
from pipeline_runner.workflows import RunRequest

# From this many payloads a batch is read as columns: below it, importing and setting up the
# columnar reader costs more than it saves (a Lambda invocation of a few events).
COLUMNAR_FROM = 200


@dataclass
class EventOutcome:
    """What one batch of payloads did."""

    payloads: int = 0
    objects: int = 0
    arrivals_written: int = 0
    # objects (object versions), not rows: one object through four envelopes is one object
    objects_new: set[str] = field(default_factory=set)  # arrival ids first seen in this batch
    objects_known: set[str] = field(default_factory=set)  # already recorded before
    non_inputs: dict[str, str] = field(default_factory=dict)  # uri -> why it is not an input
    waiting: list[WaitingSample] = field(default_factory=list)
    samples: dict[str, str] = field(default_factory=dict)  # run id -> project/sample
    skipped: list[SkippedEvent] = field(default_factory=list)
    dispatched: list[DispatchResult] = field(default_factory=list)
    job_changes: int = 0
    track: TrackResult | None = None
    finished: list[RunResults] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    transient: list[str] = field(default_factory=list)  # errors a retry may fix
    instance_changes: int = 0  # instances rows written (EC2 state changes, DescribeInstances)
    restated: Restated | None = None  # compute priced again from instance lives

    @property
    def runs_dispatched(self) -> list[str]:
        return [d.run_id for d in self.dispatched if d.dispatched]


@dataclass
class EventService:
    """Wires the event normalizers to the Runner and the results stage."""

    store: LakeStore
    runner: Runner
    projects: ProjectRegistry
    prices: PriceBook
    output_prefix: str
    pipeline_release: str
    layout: InputLayout = DEFAULT
    # Replays on the simulated executor run on the events' own clock: a run is dispatched at
    # the time its last input arrived, whatever invocation or order delivered it.
    event_clock: bool = False
    # What this service has read or written, so a long-lived process (the demo, a local server)
    # reads the lake once; a Lambda invocation starts empty and reads only what it needs.
    # (project, release) -> why a dispatch is refused (an unvalidated release), or None
    release_gate: Callable[[str, str], str | None] | None = None
    # Other processes write the same lake (Lambda invocations, several CLI runs): a sample still
    # waiting for a mate after our write is read again. False for a lone process (the demo).
    shared_lake: bool = True
    licence: LicenceTerms = field(default_factory=LicenceTerms)
    # instance ids -> DescribeInstances rows (ingest.ec2_describe), on AWS: the attributes
    # (type, Spot or On-Demand, zone) that EC2 state-change events do not carry
    describe_instances: Callable[[list[str]], list[dict[str, Any]]] | None = None
    # ECS container instance ARNs -> EC2 instance ids (ingest.ecs_describe), on AWS: the
    # instance of every attempt, not only of those Batch names in a reclaim's reason
    container_instances: Callable[[list[str]], dict[str, str]] | None = None
    # Job-state changes read and tracked as columns (ingest.event_columns): the same rows at
    # a fraction of the cost. None: for batches of COLUMNAR_FROM payloads or more.
    columnar: bool | None = None
    _arrivals_by_sample: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    _run_inputs_cache: dict[str, tuple[str | None, int | None]] = field(
        default_factory=dict, repr=False
    )
    _known_ids: set[str] = field(default_factory=set, repr=False)
    _tagger: Any = field(default=None, repr=False)
    _known_rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    def process(
        self, payloads: Iterable[tuple[str, Any]], now: datetime | None = None
    ) -> EventOutcome:
        """Process (source name, payload) pairs; a payload is raw bytes/text or parsed JSON."""
        payloads = list(payloads)
        if len(payloads) < COLUMNAR_FROM:
            return self._process(payloads, now)
        with paused_gc():  # a large batch: see ingest.gc_pause
            return self._process(payloads, now)

    def _process(self, payloads: list[tuple[str, Any]], now: datetime | None) -> EventOutcome:
        out = EventOutcome()
        now = now or datetime.now(UTC)
        objects, changes = [], []
        instance_rows: list[dict[str, Any]] = []
        columns, seqs = None, []
        if self.columnar if self.columnar is not None else len(payloads) >= COLUMNAR_FROM:
            from ingest.event_columns import read_job_changes

            columns = read_job_changes(payloads)
            out.payloads += len(payloads) - len(columns.rest)
            rows = [(i, payloads[i]) for i in columns.rest]
        else:
            rows = list(enumerate(payloads))
        for index, (source, payload) in rows:
            out.payloads += 1
            try:
                doc = (
                    parse_event_text(payload, source)
                    if isinstance(payload, str | bytes)
                    else payload
                )
                kind = detect_kind(doc)
                if kind == "s3":
                    events = read_s3_events(doc, source)
                    objects += events.created
                    out.skipped += events.skipped
                    out.quarantine += [_quarantine("ingest.event", e, doc) for e in events.invalid]
                elif kind == "batch":
                    batch = job_state_changes(doc, source)
                    changes += batch.changes
                    seqs += [index * SEQ_STRIDE + n for n in range(len(batch.changes))]
                    out.quarantine += [_quarantine("ingest.event", e, doc) for e in batch.invalid]
                elif kind == "ec2":
                    instance_rows += ec2_state_changes(doc, source)
                else:
                    raise InvalidEvent(
                        source,
                        None,
                        "neither an S3 object-created event, a Batch job-state change nor an "
                        "EC2 instance state-change notification (in any envelope)",
                    )
            except SeqledgerError as e:
                out.quarantine.append(_quarantine("ingest.event", e, payload))
        out.objects = len(objects)
        if objects:
            self._arrivals(objects, out, now)
        if columns is not None and (changes or columns.changes.num_rows):
            table = self._linked_columns(
                pa.concat_tables([columns.changes, changes_to_table(changes, seqs)]), out)
            out.job_changes = table.num_rows
            self._tracked(self.runner.on_job_state_columns(table), out)
        elif changes:
            self._changes(self._linked(changes, out), out)
        if instance_rows:
            self._instances(instance_rows, out)
        if out.quarantine:
            for q in out.quarantine:  # processing time (simulated time in the demo)
                q["quarantined_at"] = now
            # A replayed bad input is named again but not re-recorded: replaying changes nothing.
            known = self._known_quarantine_ids({q["quarantine_id"] for q in out.quarantine})
            new = [q for q in out.quarantine if q["quarantine_id"] not in known]
            self.store.write("quarantine", new)
        return out

    def forget_finished(self) -> int:
        """Between batches of a long replay: the runs that are over leave the Runner's memory
        and this service's (``Runner.forget_finished``), so memory holds the runs in flight."""
        forgotten = self.runner.forget_finished()
        self._run_inputs_cache = {r: v for r, v in self._run_inputs_cache.items()
                                  if self.runner.knows(r)}
        return forgotten

    def _known_quarantine_ids(self, ids: set[str]) -> set[str]:
        """Which of ``ids`` are recorded already: filtered in the scan, so a batch holds its
        own ids, not every id the lake's history quarantined."""
        files = self.store.files("quarantine")
        if not files or not ids:
            return set()
        known = ds.dataset(files, format="parquet", filesystem=self.store.fs).to_table(
            columns=["quarantine_id"], filter=pc.field("quarantine_id").isin(sorted(ids)))
        return set(known.column(0).to_pylist())

    # -- arrivals and dispatch -----------------------------------------------------------------
    def _arrivals(self, objects: list, out: EventOutcome, now: datetime) -> None:
        rows = []
        for obj in objects:
            c = classify(obj.key, self.layout, self.projects.projects)
            rows.append(arrival_row(obj, c))
            if c.refused:  # meant as an input, cannot be one
                out.quarantine.append(
                    quarantine_row(
                        "ingest.classify",
                        obj.uri,
                        TerminalError(c.reason or "unknown object"),
                        payload=obj.key,
                    )
                )
            elif c.kind in ("unknown", "sample_sheet"):  # routine: recorded, not a problem
                out.non_inputs[obj.uri] = c.reason or "sample sheet (lists samples, not data)"
        touched = {r["sample_id"] for r in rows if r["sample_id"] and r["input_kind"] != "unknown"}
        months = sorted({m for at in [now, *(r["event_at"] for r in rows if r["event_at"])]
                         for m in recent_months(at)})
        # before writing: what was known before this batch
        by_sample = self._known_arrivals(touched, {r["arrival_id"] for r in rows}, months)
        # A row the lake already holds as it is (a replayed event) is not written again, so a
        # replay adds no file; a redelivery that differs is written and the views decide.
        known = self._known_rows  # every recorded row read: inputs and non-inputs alike
        new = [r for r in rows
               if not any(all(k.get(c) == v for c, v in r.items()) for k in known.get(
                   r["arrival_id"], []))]
        out.arrivals_written = self.store.write("arrivals", new).rows_written
        for r in rows:
            (out.objects_known if r["arrival_id"] in self._known_ids else out.objects_new).add(
                r["arrival_id"])
        out.objects_known -= out.objects_new  # a row repeated within the batch is still new
        for r in rows:
            if r["arrival_id"] not in self._known_ids:
                self._known_ids.add(r["arrival_id"])
                by_sample.setdefault(r["sample_id"], []).append(r)
        for r in new:  # what this process wrote is known to it from now on
            self._known_rows.setdefault(r["arrival_id"], []).append(r)
        if not touched:
            return
        touched_rows = [r for t in touched for r in by_sample.get(t, [])]
        waiting = {s.sample_id for s in waiting_samples(touched_rows)}
        if waiting and self.shared_lake:
            # Another invocation may have recorded a mate between our read and our write: read
            # the waiting samples again now that ours is written. Of two invocations holding one
            # mate each, the later reader sees both (the claim makes a double dispatch one job).
            fresh = self._reread(waiting, months)
            for sample in waiting:
                ids = {r["arrival_id"] for r in by_sample.get(sample, [])}
                by_sample.setdefault(sample, []).extend(
                    r for r in fresh.get(sample, []) if r["arrival_id"] not in ids)
            touched_rows = [r for t in touched for r in by_sample.get(t, [])]
        out.waiting = waiting_samples(touched_rows)
        ready = ready_samples(touched_rows)
        requests = []
        for sample in ready:
            try:
                requests.append(self._request(sample))
            except SeqledgerError as e:
                out.quarantine.append(
                    quarantine_row(
                        "dispatch",
                        f"sample {sample.sample_id}",
                        e,
                        payload=" ".join(sample.input_uris),
                    )
                )
        for r in requests:
            self._run_inputs_cache[r.run_id] = (r.input_kind, r.input_size_bytes)
            out.samples[r.run_id] = f"{r.project}/{r.sample_id}" if r.project else r.sample_id
        at = {s.run_id: s.ready_at for s in ready if s.ready_at} if self.event_clock else None
        for result in self.runner.dispatch_many(requests, now, at=at, months=months):
            out.dispatched.append(result)
            if result.error is not None and result.error.retryable:
                # not quarantined: the event goes back to its queue and is tried again
                out.transient.append(f"run {result.run_id}: {result.error}")
            elif result.error is not None:
                out.quarantine.append(
                    quarantine_row("dispatch", f"run {result.run_id}", result.error)
                )

    def _known_arrivals(
        self, samples: set[str], ids: set[str], months: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """The arrivals recorded for ``samples`` (read once per sample) and which of ``ids`` are
        recorded, from the partitions of ``months`` only.

        Completeness is the sample's own business: its files arrive within days of each other,
        so the months around the arrivals are read, filtered to these samples and objects; never
        the whole ``arrivals`` table, whose history grows every day.
        """
        cache = self._arrivals_by_sample
        unread = sorted(samples - cache.keys())
        unknown = sorted(ids - self._known_ids)
        if not unread and not unknown:
            return cache
        for sample in unread:
            cache[sample] = []
        files = self.store.files("arrivals", months)
        if files:
            spec = lake_table("arrivals")
            dataset = ds.dataset(files, schema=spec.schema, format="parquet",
                                 filesystem=self.store.fs)
            wanted = (pc.field("sample_id").isin(pa.array(unread, pa.string()))
                      | pc.field("arrival_id").isin(pa.array(unknown, pa.string())))
            for r in latest_by_key(dataset.to_table(filter=wanted), spec).to_pylist():
                self._known_ids.add(r["arrival_id"])
                self._known_rows.setdefault(r["arrival_id"], []).append(r)
                if r["sample_id"] in unread:
                    cache[r["sample_id"]].append(r)
        return cache

    def _reread(self, samples: set[str], months: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The arrivals of ``samples`` as the lake holds them now (no cache)."""
        files = self.store.files("arrivals", months)
        if not files:
            return {}
        spec = lake_table("arrivals")
        dataset = ds.dataset(files, schema=spec.schema, format="parquet", filesystem=self.store.fs)
        wanted = pc.field("sample_id").isin(pa.array(sorted(samples), pa.string()))
        out: dict[str, list[dict[str, Any]]] = {}
        for r in latest_by_key(dataset.to_table(filter=wanted), spec).to_pylist():
            out.setdefault(r["sample_id"], []).append(r)
        return out

    def _request(self, s: SampleInputs) -> RunRequest:
        tags = self.projects.tags_for(s.project, s.sample_id)
        release = tags.pipeline_release or self.pipeline_release
        if self.release_gate is not None and (why := self.release_gate(s.project or "", release)):
            raise TerminalError(f"sample {s.sample_id}: {why}")
        return RunRequest(
            project=s.project or "",
            sample_id=s.sample_id,
            run_id=s.run_id,
            input_kind=s.input_kind,
            input_uris=s.input_uris,
            input_size_bytes=s.input_size_bytes or 0,
            pipeline_release=release,
            requested_by=tags.requested_by,
            cost_centre=tags.cost_centre,
            output_prefix=self.output_prefix,
        )

    # -- job-state changes and results ---------------------------------------------------------
    def _changes(self, changes: Sequence[JobStateChange], out: EventOutcome) -> None:
        out.job_changes = len(changes)
        self._tracked(self.runner.on_job_state_changes(sorted(changes, key=lambda c: c.status_at)),
                      out)

    def _linked(self, changes: list[JobStateChange], out: EventOutcome) -> list[JobStateChange]:
        """``changes`` with the EC2 instance id of their ECS container instance filled in. A
        failed lookup never fails the batch: the changes go on without the id (a later state's
        event of the same attempt brings it), and a throttled one is reported transient."""
        ids = self._ec2_ids({c.container_instance_arn for c in changes
                             if c.container_instance_arn and not c.instance_id}, out)
        return [replace(c, instance_id=ids[c.container_instance_arn])
                if not c.instance_id and c.container_instance_arn in ids else c for c in changes]

    def _linked_columns(self, table: pa.Table, out: EventOutcome) -> pa.Table:
        """``_linked`` for changes held as columns."""
        arns = table.column("container_instance_arn").to_pylist()
        known = table.column("instance_id").to_pylist()
        ids = self._ec2_ids({a for a, i in zip(arns, known, strict=True) if a and not i}, out)
        if not ids:
            return table
        filled = [i or (ids.get(a) if a else None) for a, i in zip(arns, known, strict=True)]
        return table.set_column(table.schema.get_field_index("instance_id"), "instance_id",
                                pa.array(filled, pa.string()))

    def _ec2_ids(self, arns: set[str], out: EventOutcome) -> dict[str, str]:
        """Container instance ARN -> EC2 instance id; {} when the lookup failed (reported)."""
        if not arns or self.container_instances is None:
            return {}
        try:
            return self.container_instances(sorted(arns))
        except SeqledgerError as e:
            if e.retryable:
                out.transient.append(str(e))
            else:
                out.quarantine.append(_quarantine("ingest.ecs", e, sorted(arns)))
            return {}

    def _tracked(self, track: TrackResult, out: EventOutcome) -> None:
        out.track = track
        out.transient += track.errors
        # Not ours, or contradicting what is recorded: kept with the reason, never dropped.
        out.quarantine += [
            quarantine_row(
                "track",
                ig.event_id or f"job {ig.job_id}",
                TerminalError(ig.reason),
                payload=f"job {ig.job_id}",
            )
            for ig in track.ignored
        ]
        finished = [*track.succeeded_runs, *track.failed_runs]
        if finished:
            inputs = self._run_inputs([r.run_id for r in finished])
            out.finished = finish_runs(self.store, finished, self.prices, inputs, self.licence,
                                       self._tag_run)
            self._restate_finished(finished, out)

    def _instances(self, rows: list[dict[str, Any]], out: EventOutcome) -> None:
        """Record instance state changes (with DescribeInstances' attributes for launches) and
        restate the compute of the attempts that ran on the instances that ended."""
        launched = sorted({r["instance_id"] for r in rows if r["state"] in ("pending", "running")})
        if launched and self.describe_instances is not None:
            try:
                rows = rows + self.describe_instances(launched)
            except SeqledgerError as e:  # the events are kept; the attributes come next time
                if e.retryable:
                    out.transient.append(f"DescribeInstances {', '.join(launched)}: {e}")
                else:
                    out.quarantine.append(_quarantine("ingest.ec2", e, launched))
        at = max(r["state_at"] for r in rows)
        new = new_instance_rows(self.store, rows, recent_months(at))
        out.instance_changes += self.store.write("instances", new).rows_written
        ended = [r["instance_id"] for r in rows if r["state"] in BILLED_UNTIL]
        if ended:
            out.restated = restate_instances(self.store, ended, self.prices, recent_months(at))

    def _restate_finished(self, finished: list[FinishedRun], out: EventOutcome) -> None:
        """A run that finished after its instance ended (a reclaim reported late): priced
        again now that both are known."""
        ids = sorted({a.instance_id for r in finished for a in r.attempts if a.instance_id})
        if ids:
            at = max(r.finished_at for r in finished)
            out.restated = restate_instances(self.store, ids, self.prices, recent_months(at))

    def _tag_run(self, run: FinishedRun) -> int:
        """Tag a succeeded run's objects by its project's retention policy (ingest.tagging)."""
        from ingest.tagging import S3Tagger, tag_local_run, tag_s3_run

        policy = self.projects.retention_for(run.project)
        if run.output_uri.startswith("s3://"):
            if self._tagger is None:
                self._tagger = S3Tagger(self.store.settings.s3)
            request = self.runner.run_request(run.run_id)
            inputs = request.input_uris if request is not None else ()
            return tag_s3_run(self._tagger, run.output_uri, inputs, policy).objects
        return tag_local_run(run.output_uri, policy, run.finished_at).objects

    def _run_inputs(self, run_ids: list[str]) -> dict[str, tuple[str | None, int | None]]:
        # the Runner has just loaded (or dispatched) these runs: no lake read
        for run_id in run_ids:
            if run_id not in self._run_inputs_cache:
                request = self.runner.run_request(run_id)
                if request is not None:
                    self._run_inputs_cache[run_id] = (
                        request.input_kind, request.input_size_bytes
                    )
        return {r: self._run_inputs_cache[r] for r in run_ids if r in self._run_inputs_cache}


def batch_time(payloads: Iterable[tuple[str, Any]]) -> datetime | None:
    """The time of the latest object or job event among ``payloads`` (None if none can be
    read): the one clock a batch replayed on the simulated executor is recorded on, so its
    dispatches, the simulated jobs and the quarantine all share the events' own time."""
    payloads = list(payloads)
    times: list[datetime] = []
    if len(payloads) >= COLUMNAR_FROM:  # the job events read as columns, the others as rows
        from ingest.event_columns import read_job_changes

        columns = read_job_changes(payloads)
        if columns.changes.num_rows:
            times.append(pc.max(columns.changes.column("status_at")).as_py())
        payloads = [payloads[i] for i in columns.rest]
    for source, payload in payloads:
        try:
            doc = parse_event_text(payload, source) if isinstance(payload, str | bytes) \
                else payload
            kind = detect_kind(doc)
            if kind == "s3":
                times += [o.event_at for o in read_s3_events(doc, source).created]
            elif kind == "batch":
                times += [c.status_at for c in job_state_changes(doc, source).changes]
            elif kind == "ec2":
                times += [r["state_at"] for r in ec2_state_changes(doc, source)]
        except SeqledgerError:
            continue  # process() quarantines it; it has no time to give
    return max(times, default=None)


def _quarantine(stage: str, error: SeqledgerError, payload: Any) -> dict[str, Any]:
    source = getattr(error, "source", None) or "event"
    text = payload if isinstance(payload, str | bytes) else _json(payload)
    return quarantine_row(stage, source, error, payload=text)


def _json(payload: Any) -> str:
    import json

    try:
        return json.dumps(payload)[:4096]
    except (TypeError, ValueError):
        return repr(payload)[:4096]

"""What one event costs as the lake's history grows: the dispatcher and the recorder on SeaweedFS.

One S3 lake on SeaweedFS (127.0.0.1) grows from 200 to 2,000 to 20,000 files of history in the
four tables an event could look in (arrivals, runs, job_attempts, decisions): 25 files per table
and month, spread over 2, 20 and 200 past months. Each size's events happen in a month of their
own whose partitions (and the month before) start with the same 25 files per table, so only the
history differs between the rows. At each size, ``--events`` samples arrive (both mates in one
SQS batch -> one dispatcher invocation, which dispatches the run to moto's Batch) and then each
job's SUCCEEDED event goes to the recorder; every invocation is a fresh service, as a Lambda
invocation is. Printed: the median time per event and the ratio to the 200-file lake (the
baseline). Flat is the goal: an event reads the partitions around it and the job's own tags,
never the history.

    uv run python benchmarks/bench_event_cost.py                 # 200 / 2,000 / 20,000 files
    uv run python benchmarks/bench_event_cost.py --sizes 200 2000 --events 3
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HISTORY_TABLES = ("arrivals", "runs", "job_attempts", "decisions")
FILES_PER_TABLE_MONTH = 25
ROWS_PER_FILE = 20
LAST_HISTORY_MONTH = "2026-02"  # history is older than every month an event below reads


def _now(step: int) -> datetime:
    """When the events of the step-th size happen: a fresh month each, after the history."""
    return datetime(2030 + step, 5, 12, 9, 0, tzinfo=UTC)


def _months_back(last: str, n: int) -> list[str]:
    y, m = map(int, last.split("-"))
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def _rows(name: str, month: str, n: int) -> list[dict]:
    """n rows of a table in a month, shaped like the runner's (tags, ids, times)."""
    y, m = map(int, month.split("-"))
    at = datetime(y, m, 10, tzinfo=UTC)
    rows = []
    for i in range(n):
        run, job = f"hist-{month}-{i}", f"job-{month}-{i}"
        tags = {"project": "cardio", "sample_id": f"H{month}{i}", "run_id": run}
        if name == "arrivals":
            rows.append({"arrival_id": f"a-{month}-{i}", "object_uri": f"s3://in/{run}_R1.fastq.gz",
                         "etag": f"e{i}", "event_at": at, "sample_id": tags["sample_id"],
                         "project": "cardio", "input_kind": "fastq"})
        elif name == "runs":
            rows.append({**tags, "status": "SUCCEEDED", "status_at": at})
        elif name == "job_attempts":
            rows.append({**tags, "job_id": job, "attempt": 1, "status": "SUCCEEDED",
                         "status_at": at})
        else:
            rows.append({**tags, "job_id": job, "attempt": 1, "decided_at": at,
                         "action": "complete"})
    return rows


def _parquet(name: str, month: str) -> bytes:
    import pyarrow.parquet as pq

    from lake.schemas import table
    from lake.store import to_table

    buf = io.BytesIO()
    pq.write_table(to_table(table(name), _rows(name, month, ROWS_PER_FILE)), buf,
                   compression="zstd")
    return buf.getvalue()


def _add_files(store, months: list[str], progress: str) -> int:
    """FILES_PER_TABLE_MONTH files per history table in each month (uploaded in parallel)."""
    jobs = []
    for month in months:
        for name in HISTORY_TABLES:
            body = _parquet(name, month)
            for i in range(FILES_PER_TABLE_MONTH):
                path = f"{store.table_path(name)}/month={month}/part-hist{i:04d}.parquet"
                jobs.append((path, body))

    def put(job: tuple[str, bytes]) -> None:
        with store.fs.open_output_stream(job[0]) as f:
            f.write(job[1])

    with ThreadPoolExecutor(16) as pool:
        for n, _ in enumerate(pool.map(put, jobs), 1):
            if n % 1000 == 0:
                print(f"  {progress}: {n:,}/{len(jobs):,} files", file=sys.stderr)
    return len(jobs)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[200, 2000, 20000],
                   help="history files in the lake at each step (multiples of 100)")
    p.add_argument("--events", type=int, default=5, help="samples (and jobs) per size")
    args = p.parse_args(argv)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    os.environ.pop("AWS_PROFILE", None)

    from moto.server import ThreadedMotoServer

    from ingest.assembly import build_event_service
    from lake.settings import S3Options, Settings
    from lake.store import LakeStore
    from pipeline_runner.executors.batch import BatchExecutor, describe_to_event
    from seqledger.envelopes import object_created
    from tests.servers import ACCESS_KEY, SECRET_KEY, free_port, make_moto_batch, start_seaweed

    per_table_month = len(HISTORY_TABLES) * FILES_PER_TABLE_MONTH
    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
        work = Path(tmp)
        seaweed = start_seaweed(work / "seaweed")
        port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
        moto.start()
        try:
            batch = make_moto_batch(f"http://127.0.0.1:{port}", "events")
            projects = work / "projects.toml"
            projects.write_text('[projects.cardio]\ncost_centre = "CC-1"\nrequested_by = "a"\n')
            settings = Settings(
                lake_uri="s3://lake/events",
                s3=S3Options(region="us-east-1", endpoint_url=seaweed.endpoint,
                             access_key=ACCESS_KEY, secret_key=SECRET_KEY),
                executor="batch", spot_queue=batch.spot_queue,
                on_demand_queue=batch.on_demand_queue, job_definition=batch.job_definition,
                projects_file=str(projects), output_prefix="s3://lake/out")
            store = LakeStore(settings)
            client = batch.client()

            def one_event(sample: str, at: datetime) -> tuple[float, float]:
                """(dispatch s, record s) of one sample's arrival and its job's SUCCEEDED."""
                records = []
                for n, mate in enumerate(("R1", "R2")):
                    key = f"cardio/{sample}/{sample}_S1_L001_{mate}_001.fastq.gz"
                    records += object_created("sqs-sns", "in", key, 40 * 10**9,
                                              f"e{sample}{n}", at, f"{n:08X}")["Records"]
                service = build_event_service(settings, BatchExecutor(client,
                                                                      batch.job_definition))
                t = time.perf_counter()
                out = service.process([("sqs", {"Records": records})], now=at)
                dispatched = time.perf_counter() - t
                (result,) = out.dispatched
                (job,) = client.describe_jobs(jobs=[result.job_id])["jobs"]
                event = describe_to_event(job, at + timedelta(hours=2))
                service = build_event_service(settings, BatchExecutor(client,
                                                                      batch.job_definition))
                t = time.perf_counter()
                out = service.process([("eventbridge", event)], now=at + timedelta(hours=2))
                recorded = time.perf_counter() - t
                if [r.run_id for r in out.finished] != [result.run_id]:
                    raise SystemExit(f"the recorder did not finish {result.run_id}: {out}")
                return dispatched, recorded

            # One untimed round first: what a process pays once (imports, clients, caches) is
            # not what an event costs.
            one_event("warm-up", datetime(2029, 5, 12, tzinfo=UTC))
            results = []
            have = 0
            for step, size in enumerate(sorted(args.sizes)):
                months = _months_back(LAST_HISTORY_MONTH, size // per_table_month)
                have += _add_files(store, months[have // per_table_month:], f"{size:,} files")
                now = _now(step)  # its month and the one before start with the same files
                _add_files(store, [f"{now.year}-04", f"{now.year}-05"], "current months")
                timed = [one_event(f"N{size}-{i}", now + timedelta(minutes=i))
                         for i in range(args.events)]
                dispatch_s, record_s = [d for d, _ in timed], [r for _, r in timed]
                results.append((size, dispatch_s, record_s))
                print(f"  {size:,} files: done", file=sys.stderr)
        finally:
            moto.stop()
            seaweed.stop()

    print(f"\nPer-event time on SeaweedFS ({args.events} events per size; fresh service per "
          "event): median, and the best run (less exposed to other load on the machine)\n")
    print(f"{'history files':>14}{'months':>8}{'dispatch s':>12}{'best':>7}{'x base':>8}"
          f"{'record s':>10}{'best':>7}{'x base':>8}")
    base_d, base_r = (statistics.median(x) for x in results[0][1:])
    for size, d, r in results:
        md, mr = statistics.median(d), statistics.median(r)
        print(f"{size:>14,}{size // per_table_month:>8}{md:>12.3f}{min(d):>7.3f}"
              f"{md / base_d:>8.2f}{mr:>10.3f}{min(r):>7.3f}{mr / base_r:>8.2f}")
    print(f"\n(the events' own two months start with {2 * per_table_month} files at each size; "
          "x base: median against the first row's)")


if __name__ == "__main__":
    main()

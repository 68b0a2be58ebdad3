"""Cold start of the Lambda functions, run from the artefact `seqledger infra package` builds.

Each measurement is a fresh interpreter (``python -I -S``) with only the unzipped artefact on
``sys.path``, as Lambda's python3.11 runtime loads it: the handler module's import (Lambda's init
phase) and the first invocation (which loads pyarrow, the runner and boto3), for the dispatcher
(an SQS batch with both mates of a new sample -> one SubmitJob) and the recorder (that job's
SUCCEEDED event -> attempt, decision, run status). The lake is on SeaweedFS and Batch is moto's
server, both on 127.0.0.1. The baseline is the bare interpreter's start; the same invocations
from the project venv (where pandas and numpy are installed, so ``import pyarrow.dataset``
loads them) show what the trimmed runtime saves. Goals: import <= 0.3 s, first invocation <= 1 s
of CPU.

    uv run python benchmarks/bench_lambda_cold_start.py            # builds the zip first
    uv run python benchmarks/bench_lambda_cold_start.py --zip build/lambda/seqledger-lambda.zip
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# argv: path entries (os.pathsep-joined), handler, event file. Prints the figures as JSON.
PROBE = """
import json, sys, time
sys.path[:0] = [p for p in sys.argv[1].split(__import__("os").pathsep) if p]
w0, c0 = time.perf_counter(), time.process_time()
import ingest.handlers as h
w1, c1 = time.perf_counter(), time.process_time()
event = json.load(open(sys.argv[3]))
getattr(h, sys.argv[2])(event, None)
w2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import_wall": w1 - w0, "import_cpu": c1 - c0,
                  "invoke_wall": w2 - w1, "invoke_cpu": c2 - c1}))
"""


def _probe(python: list[str], path: str, handler: str, event: dict, env: dict[str, str],
           work: Path) -> dict[str, float]:
    event_file = work / "event.json"
    event_file.write_text(json.dumps(event))
    done = subprocess.run([*python, "-c", PROBE, path, handler, str(event_file)], env=env,
                          capture_output=True, text=True, check=False, cwd=work, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"{handler} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _bare_start(python: list[str]) -> float:
    import time

    t = time.perf_counter()
    subprocess.run([*python, "-c", "pass"], check=True)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--zip", type=Path, default=None, help="an already built artefact")
    p.add_argument("--runs", type=int, default=5, help="cold starts per handler (median shown)")
    args = p.parse_args(argv)
    # Loopback servers only: never the user's credentials or instance metadata.
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    os.environ.pop("AWS_PROFILE", None)

    from moto.server import ThreadedMotoServer

    from pipeline_runner.executors.batch import describe_to_event
    from seqledger import lambda_build
    from seqledger.envelopes import object_created
    from tests.servers import ACCESS_KEY, SECRET_KEY, free_port, make_moto_batch, start_seaweed

    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        work = Path(tmp)
        zip_path = args.zip
        if zip_path is None:
            print("building the artefact …", file=sys.stderr)
            zip_path = work / "seqledger-lambda.zip"
            lambda_build.build(ROOT, zip_path)
        zipped_mib = zip_path.stat().st_size / 2**20
        artefact = work / "function"
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(artefact)
        print("starting SeaweedFS and moto …", file=sys.stderr)
        seaweed = start_seaweed(work / "seaweed")
        port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
        moto.start()
        endpoint = f"http://127.0.0.1:{port}"
        try:
            batch = make_moto_batch(endpoint, "bench")
            projects = work / "projects.toml"
            projects.write_text('[projects.cardio]\ncost_centre = "CC-1"\nrequested_by = "a"\n')
            env = {
                "SEQLEDGER_LAKE": "s3://lake/cold", "SEQLEDGER_S3_ENDPOINT": seaweed.endpoint,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_BATCH": endpoint,
                "AWS_EC2_METADATA_DISABLED": "true", "SEQLEDGER_EXECUTOR": "batch",
                "SEQLEDGER_SPOT_QUEUE": batch.spot_queue,
                "SEQLEDGER_ONDEMAND_QUEUE": batch.on_demand_queue,
                "SEQLEDGER_JOB_DEFINITION": batch.job_definition,
                "SEQLEDGER_PROJECTS": str(projects), "SEQLEDGER_OUTPUT_PREFIX": "s3://lake/out",
                "PATH": "/usr/bin:/bin",
            }
            clean = [sys.executable, "-I", "-S"]
            venv = [sys.executable, "-I"]  # site-packages of the project venv on the path
            setups = [("artefact", clean, str(artefact)), ("project venv", venv, str(ROOT))]
            results: dict[tuple[str, str], list[dict[str, float]]] = {}
            client = batch.client()
            at = datetime(2026, 5, 1, tzinfo=UTC)
            n = 0
            for label, python, path in setups:
                for _ in range(args.runs):
                    n += 1
                    print(f"  {label}: cold start {n}", file=sys.stderr)
                    sample = f"B{n:03d}"
                    records = []
                    for i, mate in enumerate(("R1", "R2")):
                        key = f"cardio/{sample}/{sample}_S1_L001_{mate}_001.fastq.gz"
                        records += object_created("sqs-sns", "in", key, 40 * 10**9, f"e{n}{i}",
                                                  at, f"{n:06X}{i:02X}")["Records"]
                    results.setdefault((label, "dispatcher"), []).append(
                        _probe(python, path, "on_object_created", {"Records": records}, env,
                               work))
                    ids = [j["jobId"] for j in client.list_jobs(
                        jobQueue=batch.spot_queue, jobStatus="SUCCEEDED")["jobSummaryList"]]
                    (job,) = [j for j in client.describe_jobs(jobs=ids)["jobs"]
                              if j["tags"]["sample_id"] == sample]
                    event = describe_to_event(job, at + timedelta(hours=2))
                    results.setdefault((label, "recorder"), []).append(
                        _probe(python, path, "on_job_state_change", event, env, work))
            bare = statistics.median(_bare_start(clean) for _ in range(args.runs))
        finally:
            moto.stop()
            seaweed.stop()

    print(f"\nLambda cold start (median of {args.runs} fresh interpreters; "
          f"artefact {zipped_mib:.1f} MiB zipped)\n")
    print(f"{'step':<44}{'wall s':>9}{'cpu s':>9}{'x base':>9}")
    print(f"{'interpreter start, python -I -S (baseline)':<44}{bare:>9.3f}{'':>9}{1:>9.1f}")
    for (label, fn), runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"{label + ': ' + fn + ' import':<44}{med['import_wall']:>9.3f}"
              f"{med['import_cpu']:>9.3f}{med['import_wall'] / bare:>9.1f}")
        print(f"{label + ': ' + fn + ' first invocation':<44}{med['invoke_wall']:>9.3f}"
              f"{med['invoke_cpu']:>9.3f}{med['invoke_wall'] / bare:>9.1f}")
    print("\ngoals: import <= 0.300 s, first invocation <= 1.000 s CPU")


if __name__ == "__main__":
    main()

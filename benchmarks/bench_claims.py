"""What a durable claim costs per submitted attempt, against recording that attempt in the lake.

    uv run python benchmarks/bench_claims.py [--attempts 200] [--s3]

For each attempt the dispatcher now does a claim (one conditional create) and a job record (a
second one) besides the lake writes it always did (a ``runs`` and a ``job_attempts`` file). The
baseline is those two lake writes, measured in the same run on the same back end. ``--s3``
starts a SeaweedFS server on 127.0.0.1 (the ``weed`` binary of the dev dependencies) and
measures there too. The figures are per attempt, median of the attempts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lake.claims import ClaimStore  # noqa: E402
from lake.settings import S3Options, Settings  # noqa: E402
from lake.store import LakeStore  # noqa: E402

AT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def measure(settings: Settings, attempts: int) -> tuple[float, float]:
    """(median claim + job record seconds, median lake record seconds) per attempt."""
    store, claims = LakeStore(settings), ClaimStore.for_settings(settings)
    claim_s, record_s = [], []
    for i in range(attempts):
        run_id, at = f"run{i:05d}", AT + timedelta(seconds=i)
        t0 = time.perf_counter()
        state = claims.acquire(run_id, 1, f"{run_id}-a1", at)
        assert state.won
        claims.record_job(run_id, 1, f"job-{i}")
        t1 = time.perf_counter()
        store.write("runs", [{"run_id": run_id, "status": "DISPATCHED", "status_at": at}])
        store.write("job_attempts", [{"run_id": run_id, "job_id": f"job-{i}", "attempt": 1,
                                      "status": "SUBMITTED", "status_at": at}])
        t2 = time.perf_counter()
        claim_s.append(t1 - t0)
        record_s.append(t2 - t1)
    return statistics.median(claim_s), statistics.median(record_s)


def report(label: str, claim: float, record: float) -> None:
    print(f"{label:<22} claim+job record {claim * 1000:7.2f} ms   lake record "
          f"{record * 1000:7.2f} ms   claim/record {claim / record:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--s3", action="store_true", help="also measure on SeaweedFS")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report("local folder", *measure(Settings(lake_uri=f"{tmp}/lake"), args.attempts))
        if args.s3:
            from tests.servers import ACCESS_KEY, SECRET_KEY, start_seaweed

            server = start_seaweed(Path(tmp) / "seaweed")
            try:
                settings = Settings(lake_uri="s3://lake/bench", s3=S3Options(
                    endpoint_url=server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY))
                report("SeaweedFS (127.0.0.1)", *measure(settings, args.attempts))
            finally:
                server.stop()


if __name__ == "__main__":
    main()

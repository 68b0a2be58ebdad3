"""What a `seqledger` command costs before it does any work: start-up and imports.

Run:  uv run python benchmarks/bench_cli_start.py [--repeat 5]

Each command runs as a process ``--repeat`` times; the median wall and CPU time (user + system)
are printed, with the ratio to the baseline measured in the same run: a bare Python interpreter
(``python -c pass``). ``import pyarrow`` is the floor of any command that touches the lake.
The one-folder ingest loads one real run (``TEST`` from the reference files) into a fresh lake
each time, in the single-run form and in the bulk form. The last column lists the heavy
libraries the command imported (pandas, duckdb, great_expectations, streamlit, boto3): a
command that does not use them should not pay for them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("SEQLEDGER_REFERENCE_DATA")
                 or ROOT.parent / "shared" / "reference-data") / "dragen"
HEAVY = ("pandas", "duckdb", "great_expectations", "streamlit", "boto3")
# Runs the CLI in a process and reports, on the last line of stderr, the heavy modules it loaded.
PROBE = """\
import sys
from seqledger.cli import main
try:
    main(sys.argv[1:], prog_name="seqledger")
except SystemExit:
    pass
finally:
    print("HEAVY:" + ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    before = os.times()
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system
                                                          - before.children_system)
    heavy = next((line[6:] for line in out.stderr.splitlines()[::-1]
                  if line.startswith("HEAVY:")), "")
    return wall, cpu, heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    python = sys.executable
    probe = [python, "-c", PROBE.format(heavy=HEAVY)]
    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        run = work / "runs" / "TEST"
        shutil.copytree(REFERENCE / "TEST", run)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEQLEDGER_")}
        cases = [
            ("python -c pass (baseline)", [python, "-c", "pass"], False),
            ("python -c 'import pyarrow'", [python, "-c", "import pyarrow"], False),
            ("seqledger --help", [*probe, "--help"], False),
            ("seqledger ingest dragen --help", [*probe, "ingest", "dragen", "--help"], False),
            ("ingest dragen DIR --sample-id … (1 run)",
             [*probe, "ingest", "dragen", str(run), "--sample-id", "S", "--run-id", "R",
              "--run-at", "2025-03-01"], True),
            ("ingest dragen ROOT (bulk form, 1 run)",
             [*probe, "ingest", "dragen", str(run.parent), "--run-at", "2025-03-01"], True),
        ]
        print(f"{'command':<42} {'wall s':>7} {'CPU s':>6} {'x base':>6}  heavy imports")
        base = None
        for label, cmd, fresh_lake in cases:
            walls, cpus, heavy = [], [], ""
            for i in range(args.repeat):
                lake = work / f"lake-{label[:10]}-{i}"
                wall, cpu, heavy = timed(cmd, {**env, "SEQLEDGER_LAKE": str(lake)})
                walls.append(wall)
                cpus.append(cpu)
                if fresh_lake:
                    shutil.rmtree(lake, ignore_errors=True)
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            base = base or cpu
            print(f"{label:<42} {wall:>7.2f} {cpu:>6.2f} {cpu / base:>6.1f}  {heavy or '-'}",
                  flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""What a local job runs in: the job's command, then its exit status written to a file.

The dispatch that starts a job on the DRAGEN server may die before the job ends (kill -9, a
reboot of the machine it runs on, ^C). The job goes on (it is in a session of its own), and
this wrapper writes how it ended beside the executor's record of it, so the next run of the
dispatch learns the real exit code instead of guessing (``LocalExecutor.adopt``).

    python -m pipeline_runner.executors.local_job EXIT_FILE -- COMMAND…
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

NOT_FOUND_EXIT = 127  # what a shell reports for a command it cannot run


def write_exit(path: Path, exit_code: int | None, reason: str | None = None) -> None:
    """The exit file, whole or not at all (a reader never sees half of it)."""
    doc = {"exit_code": exit_code, "stopped_at": datetime.now(UTC).isoformat(),
           "reason": reason}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_text(json.dumps(doc))
    tmp.replace(path)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m pipeline_runner.executors.local_job EXIT_FILE -- COMMAND…",
              file=sys.stderr)
        return 2
    exit_file, command = Path(argv[0]), argv[2:]
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)  # noqa: S603 - argv, no shell
    except OSError as e:
        write_exit(exit_file, NOT_FOUND_EXIT, f"could not start {command[0]}: {e}")
        return NOT_FOUND_EXIT

    def forward(signum: int, _frame: object) -> None:  # terminate() reaches the job itself
        proc.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    code = proc.wait()
    exit_code = 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a container
    write_exit(exit_file, exit_code)
    return exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A command run as a process and measured as a whole tree: wall, CPU, peak memory.

Shared by the benchmarks that time what a user runs (``seqledger ingest dragen``, MultiQC,
``seqledger ingest event --jobs N``). The tree matters: worker processes do most of the work,
and ``os.times`` counts their CPU once they are waited for, but their memory only shows while
they live, so ``/proc`` is sampled as the command runs.
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    wall_s: float
    cpu_s: float  # the tree's user + system time
    tree_mib: float  # the largest sum of the tree's RSS seen
    largest_mib: float  # the largest high-water mark (VmHWM) of one process of the tree
    out: str
    err: str
    returncode: int


def measure(command: list[str], env: dict[str, str] | None = None,
            every_s: float = 0.02) -> Measured:
    """Run ``command`` to its end, sampling its tree's memory every ``every_s`` seconds."""
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    peak = {"tree": 0, "largest": 0}

    def sample() -> None:
        while proc.poll() is None:
            pids = descendants(proc.pid)
            peak["tree"] = max(peak["tree"], sum(status_kib(p, "VmRSS:") for p in pids))
            peak["largest"] = max([peak["largest"], *(status_kib(p, "VmHWM:") for p in pids)])
            time.sleep(every_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    sampler.join()
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system
                                                          - before.children_system)
    return Measured(wall, cpu, peak["tree"] / 1024, peak["largest"] / 1024, out, err,
                    proc.returncode)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (Linux /proc; none found elsewhere)."""
    out, i = [pid], 0
    while i < len(out):
        try:
            for task in os.listdir(f"/proc/{out[i]}/task"):
                with open(f"/proc/{out[i]}/task/{task}/children") as f:
                    out += map(int, f.read().split())
        except OSError:  # gone meanwhile, or no /proc
            pass
        i += 1
    return out


def status_kib(pid: int, field: str) -> int:
    """A ``/proc/PID/status`` figure in KiB (``"VmRSS:"``, ``"VmHWM:"``); 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def own_peak_mib() -> float:
    """This process's peak RSS since it started (or since ``/proc/self/clear_refs`` reset it):
    the kernel's ``VmHWM``. ``getrusage``'s ``ru_maxrss`` is the fallback only: in a child it
    keeps the parent's RSS at the fork (a child of a 3 GB parent reported 3 GB for 10 MB)."""
    kib = status_kib(os.getpid(), "VmHWM:")
    return kib / 1024 if kib else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

"""The user's path for a month of DRAGEN run folders, against MultiQC on the same folders.

Run:  uv run python benchmarks/bench_dragen_vs_multiqc.py [--runs 50,200,400] [--workers N]
                                                           [--month 2000] [--baseline REF]

For each size, the script builds that many run folders from the real reference files
(``$SEQLEDGER_REFERENCE_DATA/dragen``, else ``../shared/reference-data/dragen``): it cycles
through four real runs (germline WGS ``TEST``, tumour/normal WGS ``T_SRR7890936_50pc`` with its
replay, exome ``NA12878_NFE_B_A04_NS2000``, the tumour/normal ``_nodedup`` re-run) and gives
each copy its own output prefix (``S00001`` …, the file names change, the bytes do not), in
folders of 100 runs (``month/b00/S00001/``). Then, on the same folders, one after the other:

- **seqledger**: ``seqledger ingest dragen ROOT --run-at … --no-progress`` as a process, into a
  fresh local lake: discovery, parsing, lake writes, everything a user waits for;
- **seqledger again**: the same command a second time (every run already loaded: skipped);
- **MultiQC**: ``multiqc -m dragen --no-report -f -o OUT ROOT`` (its DRAGEN module, data files
  only, no HTML report), from its own virtual environment ``.tools/multiqc`` (created here with
  uv when missing: MultiQC is GPL and is never a dependency of seqledger).

Both run as installed tools do, with compiled bytecode: ``PYTHONDONTWRITEBYTECODE`` is removed
from their environment and each first loads four runs, untimed (otherwise every process compiles
pyarrow, pandas or MultiQC from source, seconds that no installed tool pays).

Printed per size: wall time, CPU time (user + system of the process and its workers), peak
memory (the largest sum of RSS over the process tree, sampled every 20 ms), and MultiQC's
time divided by seqledger's (the speed-up; > 1 means seqledger is faster). The last lines
extrapolate the largest size to a 4,000-run month, linearly, and say so; a bar chart of the
wall times closes the output.

``--baseline REF`` (a git commit or branch, e.g. ``main``) adds the before -> after of a change:
at each size, that commit's code (exported with ``git archive`` into a temporary folder) and this
checkout's load the same folders into fresh lakes, alternately, ``--repeat`` times each (default
3), both launched the same way (``python -c`` with the code's folder first on the path); the
line gives the median wall and CPU of each and their ratio. The machine's load moves between
calls; alternating at the same moment is what makes the two comparable.

``--month N`` then measures seqledger alone (first call and again) on N run folders: a month's
scale, where MultiQC would take most of an hour on a shared machine. Its line gives the time per
run and the 4,000-run month it implies (measured at N, scaled linearly when N < 4,000).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import process_tree  # benchmarks/: a command measured as a process tree

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("SEQLEDGER_REFERENCE_DATA")
                 or ROOT.parent / "shared" / "reference-data") / "dragen"
MULTIQC_VENV = ROOT / ".tools" / "multiqc"
MULTIQC_VERSION = "1.35"
SOURCES = ("TEST", "T_SRR7890936_50pc", "NA12878_NFE_B_A04_NS2000", "T_SRR7890936_50pc_nodedup")
MONTH = 4000
RUN_AT = "2025-03-01T00:00:00Z"


def build_month(root: Path, runs: int) -> int:
    """``runs`` run folders under ``root``, copies of the reference runs with their own prefix."""
    total = 0
    for i in range(runs):
        source = REFERENCE / SOURCES[i % len(SOURCES)]
        old = SOURCES[i % len(SOURCES)].removesuffix("_nodedup")
        new = f"S{i + 1:05d}"
        folder = root / f"b{i // 100:02d}" / new
        folder.mkdir(parents=True)
        for path in sorted(source.iterdir()):
            data = path.read_bytes()
            (folder / path.name.replace(old, new)).write_bytes(data)
            total += len(data)
    return total


def measure(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall time, CPU time of the process tree, peak tree RSS; raises if the command fails."""
    m = process_tree.measure(cmd, env)
    if m.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({m.returncode}):\n{m.out[-2000:]}\n{m.err[-2000:]}")
    return {"wall": m.wall_s, "cpu": m.cpu_s, "rss_mb": m.tree_mib, "out": m.out}


def export(ref: str, into: Path) -> Path:
    """The tree of git commit ``ref`` of this repository, written under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def code_ingest(code: Path, month: Path, workers: list[str]) -> list[str]:
    """``seqledger ingest dragen`` run from the code in folder ``code`` (first on the path)."""
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(code)!r}); "
            "from seqledger.cli import main; sys.argv[0] = 'seqledger'; main()",
            "ingest", "dragen", str(month), "--run-at", RUN_AT, "--no-progress", *workers]


def alternate(codes: dict[str, Path], month: Path, env: dict[str, str], workers: list[str],
              repeat: int, tmp: Path) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) of each code's first call on ``month``, the codes taking turns."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in codes}
    for i in range(repeat):
        for name, code in codes.items():
            lake = tmp / f"lake-{name}-{i}"
            m = measure(code_ingest(code, month, workers), {**env, "SEQLEDGER_LAKE": str(lake)})
            shutil.rmtree(lake)
            times[name].append((m["wall"], m["cpu"]))
    return {name: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
            for name, t in times.items()}


def multiqc() -> list[str]:
    """The command that runs MultiQC, installed into its own environment when missing.

    ``python -m multiqc``, not the ``multiqc`` script: a virtual environment that was moved
    keeps a script whose first line names the old place, and the interpreter works wherever.
    """
    python = MULTIQC_VENV / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", "import multiqc"],
                                          capture_output=True).returncode == 0:
        return [str(python), "-m", "multiqc"]
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    print(f"installing MultiQC {MULTIQC_VERSION} into {MULTIQC_VENV} (once)", file=sys.stderr)
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(MULTIQC_VENV)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python),
                    f"multiqc=={MULTIQC_VERSION}"], check=True)
    return [str(python), "-m", "multiqc"]


def _chart(bars: list[tuple[int, float, float]], width: int = 50) -> None:
    """Wall times as bars: seqledger against MultiQC, per size."""
    top = max((max(a, b) for _, a, b in bars), default=0) or 1
    print("\nwall time (s)")
    for n, ours, theirs in bars:
        print(f"{n:>5} seqledger {'#' * max(1, round(ours / top * width)):<{width}} {ours:.1f}")
        print(f"{'':>5} MultiQC   {'#' * max(1, round(theirs / top * width)):<{width}} "
              f"{theirs:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="50,200,400", help="comma-separated folder counts")
    parser.add_argument("--workers", type=int, default=None, help="seqledger --workers")
    parser.add_argument("--workdir", default=None, help="parent of the temporary folders")
    parser.add_argument("--month", type=int, default=0,
                        help="then seqledger alone on this many run folders (e.g. 4000)")
    parser.add_argument("--baseline", default=None, metavar="REF",
                        help="also time this git commit's code against this checkout's, "
                             "alternately, on the same folders (before -> after)")
    parser.add_argument("--repeat", type=int, default=3, help="calls of each code (--baseline)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.runs.split(",")]
    seqledger = str(Path(sys.executable).with_name("seqledger"))
    mqc = multiqc()
    # Both tools run as installed ones do: with their compiled bytecode. A shell that sets
    # PYTHONDONTWRITEBYTECODE would make each process compile every module it imports
    # (seconds for pandas, MultiQC, pyarrow), a cost no installed tool pays.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SEQLEDGER_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(MPLBACKEND="Agg", MULTIQC_NO_VERSION_CHECK="1")
    workers = ["--workers", str(args.workers)] if args.workers else []
    baseline_dir = tempfile.TemporaryDirectory(dir=args.workdir, prefix="bench-dragen-base-")
    codes = {"before": export(args.baseline, Path(baseline_dir.name)), "after": ROOT} \
        if args.baseline else {}
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="bench-dragen-warm-") as tmp:
        build_month(Path(tmp, "month"), len(SOURCES))  # compiles both tools' bytecode (untimed)
        measure([seqledger, "ingest", "dragen", str(Path(tmp, "month")), "--run-at", RUN_AT,
                 "--no-progress"], {**env, "SEQLEDGER_LAKE": str(Path(tmp, "lake"))})
        for name, code in codes.items():
            measure(code_ingest(code, Path(tmp, "month"), []),
                    {**env, "SEQLEDGER_LAKE": str(Path(tmp, f"lake-{name}"))})
        measure([*mqc, "-m", "dragen", "--no-report", "-f", "-o", str(Path(tmp, "mqc")),
                 str(Path(tmp, "month"))], env)
    print(f"seqledger vs MultiQC {MULTIQC_VERSION} (-m dragen --no-report), {os.cpu_count()} "
          f"CPU(s), load average {os.getloadavg()[0]:.1f} at the start (the machine is shared: "
          "both tools see the same load, one after the other)")
    print(f"{'runs':>5} {'MB':>6} | {'seqledger s':>11} {'CPU s':>6} {'RSS MB':>6} | "
          f"{'again s':>7} | {'MultiQC s':>9} {'CPU s':>6} {'RSS MB':>6} | "
          f"{'x wall':>6} {'x CPU':>6} | {'load':>4}")
    last = None
    bars: list[tuple[int, float, float]] = []
    changes: list[str] = []
    for n in sizes:
        with tempfile.TemporaryDirectory(dir=args.workdir, prefix="bench-dragen-") as tmp:
            month, lake, out = Path(tmp, "month"), Path(tmp, "lake"), Path(tmp, "multiqc")
            size = build_month(month, n) / 1e6
            ours = measure([seqledger, "ingest", "dragen", str(month), "--run-at", RUN_AT,
                            "--no-progress", *workers], {**env, "SEQLEDGER_LAKE": str(lake)})
            if f"{n} loaded" not in ours["out"]:
                raise SystemExit(f"seqledger did not load {n} runs:\n{ours['out'][-2000:]}")
            again = measure([seqledger, "ingest", "dragen", str(month), "--run-at", RUN_AT,
                             "--no-progress", *workers], {**env, "SEQLEDGER_LAKE": str(lake)})
            if f"{n} skipped" not in again["out"]:
                raise SystemExit(f"the second call loaded something:\n{again['out'][-2000:]}")
            theirs = measure([*mqc, "-m", "dragen", "--no-report", "-f", "-o", str(out),
                              str(month)], env)
            if codes:
                load = os.getloadavg()[0]
                t = alternate(codes, month, env, workers, args.repeat, Path(tmp))
                (bw, bc), (aw, ac) = t["before"], t["after"]
                changes.append(f"{n:>5} runs: {bw:.1f} -> {aw:.1f} s wall ({bw / aw:.2f}x), "
                               f"{bc:.1f} -> {ac:.1f} s CPU ({bc / ac:.2f}x); load {load:.1f} -> "
                               f"{os.getloadavg()[0]:.1f}")
        print(f"{n:>5} {size:>6.0f} | {ours['wall']:>11.1f} {ours['cpu']:>6.1f} "
              f"{ours['rss_mb']:>6.0f} | {again['wall']:>7.1f} | {theirs['wall']:>9.1f} "
              f"{theirs['cpu']:>6.1f} {theirs['rss_mb']:>6.0f} | "
              f"{theirs['wall'] / ours['wall']:>6.1f} {theirs['cpu'] / ours['cpu']:>6.1f} | "
              f"{os.getloadavg()[0]:>4.1f}", flush=True)
        last = (n, ours)
        bars.append((n, ours["wall"], theirs["wall"]))
    _chart(bars)
    if changes:
        print(f"\n{args.baseline} -> this checkout, same folders, alternately, median of "
              f"{args.repeat} calls each (first call, fresh lake):")
        print("\n".join(changes))
    baseline_dir.cleanup()
    if last is not None:
        n, ours = last
        print(f"\n{MONTH:,}-run month, extrapolated linearly from {n} runs (not measured): "
              f"~{ours['wall'] / n * MONTH:.0f} s wall, ~{ours['cpu'] / n * MONTH:.0f} s CPU")
    if args.month:
        _month(args.month, seqledger, env, workers, args.workdir, codes)


def _month(n: int, seqledger: str, env: dict[str, str], workers: list[str],
           workdir: str | None, codes: dict[str, Path]) -> None:
    """seqledger alone on ``n`` run folders: first call, then again (all skipped); with
    ``codes`` (--baseline), then each code's first call once, before then after."""
    with tempfile.TemporaryDirectory(dir=workdir, prefix="bench-dragen-month-") as tmp:
        month, lake = Path(tmp, "month"), Path(tmp, "lake")
        size = build_month(month, n) / 1e6
        load = os.getloadavg()[0]
        cmd = [seqledger, "ingest", "dragen", str(month), "--run-at", RUN_AT, "--no-progress",
               *workers]
        ours = measure(cmd, {**env, "SEQLEDGER_LAKE": str(lake)})
        if f"{n} loaded" not in ours["out"]:
            raise SystemExit(f"seqledger did not load {n} runs:\n{ours['out'][-2000:]}")
        again = measure(cmd, {**env, "SEQLEDGER_LAKE": str(lake)})
        if f"{n} skipped" not in again["out"]:
            raise SystemExit(f"the second call loaded something:\n{again['out'][-2000:]}")
        change = None
        if codes:
            before_load = os.getloadavg()[0]
            t = alternate(codes, month, env, workers, 1, Path(tmp))
            (bw, bc), (aw, ac) = t["before"], t["after"]
            change = (f"{n:,} runs, before -> after (one call each, one after the other): "
                      f"{bw:.1f} -> {aw:.1f} s wall ({bw / aw:.2f}x), {bc:.1f} -> {ac:.1f} s CPU "
                      f"({bc / ac:.2f}x); load {before_load:.1f} -> {os.getloadavg()[0]:.1f}")
    scaled = "measured" if n >= MONTH else f"scaled linearly from {n} measured runs"
    print(f"\nseqledger alone, {n:,} runs ({size:.0f} MB), load {load:.1f} -> "
          f"{os.getloadavg()[0]:.1f}: {ours['wall']:.1f} s wall, {ours['cpu']:.1f} s CPU "
          f"({ours['cpu'] / n * 1000:.1f} ms CPU a run), {ours['rss_mb']:.0f} MB peak; "
          f"again {again['wall']:.1f} s")
    print(f"{MONTH:,}-run month ({scaled}): ~{ours['wall'] / n * MONTH:.0f} s wall, "
          f"~{ours['cpu'] / n * MONTH:.0f} s CPU")
    if change:
        print(change)


if __name__ == "__main__":
    main()

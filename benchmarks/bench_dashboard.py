"""First render of every dashboard page, cold cache, on the demo lake and on a synthetic year.

    uv run python benchmarks/bench_dashboard.py                      # demo lake + 12 seed months
    uv run python benchmarks/bench_dashboard.py --months 1 --scale 0.1   # a quicker year
    uv run python benchmarks/bench_dashboard.py --no-year            # the demo lake only
    uv run python benchmarks/bench_dashboard.py --year-lake PATH --pages QC,Runs   # a year built
                                                       # elsewhere (with every rollup), two pages

Every page listed in ``SECTIONS`` of ``dashboards/app.py`` is run once through Streamlit's AppTest
with what the app draws around it (``dashboards.shell``: the lake check, the sidebar's filter
options, the footer), after clearing Streamlit's caches: the time a person waits the first time
they open that page after the server started (the DuckDB connection and its views included). The
baseline, measured in the same process the same way, is a page that only writes one line: what
AppTest, the shell and opening the lake cost without any figure. Each page is rendered twice,
alternated: with every view made at connect (``analytics.engine.LAZY = False``, as before) and
with views made as the page's queries name them (``analytics.lazy_views``). Goals (issue 14):
2 s on the demo lake, 5 s on a seed-scale year. The CPU time of the process is printed beside
the wall time: on a shared machine it is the steadier figure.

Also printed: what the lake fingerprint costs (``lake.fingerprint``, taken once per page load to
know whether cached results are still current), on a local folder and, with ``--s3``, on the
same demo lake copied to SeaweedFS on 127.0.0.1.

The demo lake is made once by ``seqledger demo`` into ``--cache``; the year is built by
``benchmarks/bench_year.py``'s ``build`` (same cache layout, shared with it).
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from lake.settings import S3Options, Settings  # noqa: E402

APP = ROOT / "dashboards" / "app.py"
BASELINE_PAGE = "import streamlit as st\n\nst.write('baseline: one line, no query')\n"


def note(message: str) -> None:
    print(f"[bench_dashboard] {message}", file=sys.stderr, flush=True)


def pages() -> list[tuple[str, str]]:
    """``(title, file)`` of every ``st.Page`` in ``SECTIONS`` of app.py, in order (read, not run:
    running app.py needs a Streamlit session)."""
    tree = ast.parse(APP.read_text())
    out = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "SECTIONS"
                                                 for t in node.targets)):
            for call in ast.walk(node.value):
                if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "Page":
                    path = call.args[0]
                    name = path.right.value if isinstance(path, ast.BinOp) else path.value
                    title = next(k.value.value for k in call.keywords if k.arg == "title")
                    out.append((title, str(APP.parent / "views" / name)))
    if not out:
        raise SystemExit("no st.Page found in SECTIONS of dashboards/app.py")
    return out


def render(page_file: str, lake: str, timeout: float = 300
           ) -> tuple[float, float, list[str]]:
    """Wall and CPU seconds (this process, DuckDB's threads included) of one cold first render
    of ``page_file`` over ``lake``, and its exceptions."""
    import streamlit as st

    from tests.dashboards.harness import page_test

    os.environ["SEQLEDGER_LAKE"] = lake
    st.cache_data.clear()
    st.cache_resource.clear()
    at = page_test(Path(page_file).stem, timeout=timeout)
    if not Path(page_file).is_relative_to(APP.parent / "views"):
        at.args = (page_file,)
    started, cpu = time.perf_counter(), time.process_time()
    at.run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds, cpu, [e.value for e in at.exception] + [e.value for e in at.error]


def demo_lake(cache: Path) -> Path:
    lake = cache / "demo" / "lake"
    if not (lake / "runs").is_dir():
        note(f"playing the demo month into {lake} (a few minutes, once)")
        lake.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SEQLEDGER_LAKE": str(lake)}
        subprocess.run([str(Path(sys.executable).with_name("seqledger")), "demo"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
    return lake


def year_lake(cache: Path, months: int, scale: float) -> tuple[Path, dict]:
    import bench_year
    import synth

    n_jobs = int(bench_year.JOBS_PER_MONTH * scale)
    where = cache / "year" / f"jobs-{n_jobs}"
    state = bench_year.build(where, synth.months_from(bench_year.FIRST_MONTH, months), n_jobs)
    return where / "lake", state


def fingerprint_ms(settings: Settings, repeat: int = 20) -> float:
    from lake.fingerprint import fingerprint

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fingerprint(settings)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def lake_files(lake: Path) -> int:
    return sum(1 for _ in lake.rglob("*.parquet"))


def render_both(page_file: str, lake: str) -> dict[bool, tuple[float, float, list[str]]]:
    """``render`` with views made at connect (``engine.LAZY = False``: before) and as queries
    name them (seqledger), one after the other so the machine's load hits both alike."""
    from analytics import engine

    out = {}
    for lazy in (False, True):
        engine.LAZY = lazy
        out[lazy] = render(page_file, lake)
    return out


def measure(label: str, lake: Path, goal_s: float, wanted: set[str] | None = None) -> None:
    print(f"\n{label}: {lake}  (load {os.getloadavg()[0]:.1f}; {lake_files(lake):,} Parquet "
          f"files; fingerprint "
          f"{fingerprint_ms(Settings(lake_uri=str(lake))):.2f} ms, median of 20)")
    print("each page rendered twice, alternated: views made at connect (before) -> views made "
          "as queries name them (seqledger)")
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "baseline.py"
        bare.write_text(BASELINE_PAGE)
        render_both(str(bare), str(lake))  # imports warmed: every page below pays only its own
        base = render_both(str(bare), str(lake))
    print(f"{'page':<20} {'wall before':>12} {'wall after':>11} {'CPU before':>11} "
          f"{'CPU after':>10} {'after x baseline':>17}  goal {goal_s:g} s")

    def row(title: str, r: dict[bool, tuple[float, float, list[str]]], flag: bool) -> None:
        (w0, c0, _), (w1, c1, problems) = r[False], r[True]
        over = "  over the goal" if flag and w1 > goal_s else ""
        shown = f"  ! {problems[0][:80]}" if problems else ""
        print(f"{title:<20} {w0:>10.2f} s {w1:>9.2f} s {c0:>9.2f} s {c1:>8.2f} s "
              f"{w1 / base[True][0]:>16.1f}x{over}{shown}", flush=True)

    row("(baseline)", base, False)
    for title, path in pages():
        if wanted and title not in wanted:
            continue
        row(title, render_both(path, str(lake)), True)
    print(f"load at the end {os.getloadavg()[0]:.1f}")


def s3_fingerprint(lake: Path) -> None:
    import pyarrow.fs as pafs

    from tests.servers import ACCESS_KEY, SECRET_KEY, start_seaweed

    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_seaweed(Path(tmp) / "seaweed")
        try:
            s3 = S3Options(region="us-east-1", endpoint_url=server.endpoint,
                           access_key=ACCESS_KEY, secret_key=SECRET_KEY)
            settings = Settings(lake_uri="s3://lake/bench-dashboard", s3=s3)
            from lake.store import filesystem

            fs, root = filesystem(settings)
            pafs.copy_files(str(lake), root, source_filesystem=pafs.LocalFileSystem(),
                            destination_filesystem=fs)
            print(f"fingerprint of the same lake on S3 (SeaweedFS {server.endpoint}): "
                  f"{fingerprint_ms(settings, 10):.1f} ms, median of 10 (one listing per table)")
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=ROOT / ".seqledger" / "bench-dashboard")
    p.add_argument("--months", type=int, default=12, help="months of the year lake")
    p.add_argument("--scale", type=float, default=1.0, help="share of the seed's monthly volume")
    p.add_argument("--no-year", action="store_true", help="the demo lake only")
    p.add_argument("--s3", action="store_true", help="also the fingerprint on SeaweedFS")
    p.add_argument("--year-lake", type=Path,
                   help="a year lake already built (e.g. a copy with every rollup run): "
                        "measured instead of building one")
    p.add_argument("--pages", help="comma-separated page titles to measure (default: every page)")
    args = p.parse_args(argv)
    wanted = set(args.pages.split(",")) if args.pages else None

    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; pages from SECTIONS "
          "of dashboards/app.py")
    # What a server pays once, at its first page load, whatever the page: not a page's figure.
    started = time.perf_counter()
    import altair  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.compute  # noqa: F401
    import streamlit  # noqa: F401
    print(f"imports of streamlit, altair, pandas (once per server process): "
          f"{time.perf_counter() - started:.2f} s")
    demo = demo_lake(args.cache)
    measure("demo lake", demo, 2.0, wanted)
    if args.s3:
        s3_fingerprint(demo)
    if args.year_lake:
        measure("year lake (given)", args.year_lake, 5.0, wanted)
    elif not args.no_year:
        lake, state = year_lake(args.cache, args.months, args.scale)
        jobs = state["jobs_per_month"] * len(state["months"])
        measure(f"year lake: {len(state['months'])} month(s) x {state['jobs_per_month']:,} jobs "
                f"= {jobs:,} jobs (scale {args.scale:g})", lake, 5.0, wanted)


if __name__ == "__main__":
    main()

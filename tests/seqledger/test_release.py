"""Release validation from the demo lake, as a user runs it: the CLI as a process, the report in
Chromium offline, and production dispatch held back on a release that has not passed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lake.settings import Settings
from seqledger.demo import play
from seqledger.demo_releases import CANDIDATE, CANDIDATE_RC

SEQLEDGER = Path(sys.executable).parent / "seqledger"  # the installed console script
PRODUCTION = "dragen-4.2.4"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("release-demo")
    settings = Settings(lake_uri=str(root / "lake"))
    result = play(settings, samples=3, seed=5, workdir=root)
    return settings, result, root


def _run(settings: Settings, *args: str, env: dict[str, str] | None = None):
    full = {**os.environ, "SEQLEDGER_LAKE": settings.lake_uri, **(env or {})}
    return subprocess.run([str(SEQLEDGER), *args], env=full, capture_output=True, text=True,
                          timeout=300)


def test_the_demo_validates_two_candidates_and_catches_the_regression(demo):
    _, result, _ = demo
    releases = {r["release"]: r for r in result.summary["releases"]}
    assert list(releases) == [PRODUCTION, CANDIDATE_RC, CANDIDATE]
    assert releases[PRODUCTION]["verdict"] == "warn"  # nothing before it: floors only
    assert releases[CANDIDATE_RC]["verdict"] == "fail"
    assert releases[CANDIDATE_RC]["baseline"] == PRODUCTION
    assert {"indel_recall_regression", "indel_f1_regression"} <= set(
        releases[CANDIDATE_RC]["failed"])
    assert releases[CANDIDATE]["verdict"] == "pass"
    assert releases[CANDIDATE]["baseline"] == PRODUCTION  # the failed candidate is never a baseline
    # the production month's figures do not count the validation cohort
    assert result.summary["runs"] == 3


def test_release_validate_exits_0_on_the_good_candidate_and_1_on_the_regressed_one(demo):
    settings, _, _ = demo
    good = _run(settings, "release", "validate", "--release", CANDIDATE, "--baseline", PRODUCTION)
    assert good.returncode == 0, good.stderr
    assert f"release {CANDIDATE} against {PRODUCTION} on 7 sample(s): PASS" in good.stdout
    bad = _run(settings, "release", "validate", "--release", CANDIDATE_RC)
    assert bad.returncode == 1, bad.stderr
    assert "FAIL (failed: indel_f1_regression, indel_recall_regression)" in bad.stdout
    assert "indel_recall_regression  HG002" in bad.stdout


def test_release_list_json_gives_each_release_and_its_state(demo):
    settings, _, _ = demo
    out = _run(settings, "release", "list", "--json")
    assert out.returncode == 0, out.stderr
    states = {r["release"]: r["state"] for r in json.loads(out.stdout)}
    assert states == {PRODUCTION: "passed with warnings", CANDIDATE_RC: "failed",
                      CANDIDATE: "passed"}


def test_every_qc_verdict_names_the_release_and_dragen_version_it_judged(demo):
    settings, _, _ = demo
    from lake.store import LakeStore

    rows = LakeStore(settings).read("qc_results").to_pylist()
    assert rows and all(r["pipeline_release"] for r in rows)
    by_release = {(r["pipeline_release"], r["dragen_version"]) for r in rows}
    assert (CANDIDATE, "07.021.636.4.3.6") in by_release
    assert any(rel == PRODUCTION and ver.endswith("4.2.4") for rel, ver in by_release)


def test_a_production_sample_waits_for_a_validated_release(demo, tmp_path):
    settings, _, root = demo
    from seqledger.envelopes import object_created

    at = datetime(2026, 11, 3, 9, tzinfo=UTC)
    events = []
    for n, mate in enumerate(("R1", "R2")):
        key = f"cardio-wgs/CARD9999/CARD9999_S1_L001_{mate}_001.fastq.gz"
        path = tmp_path / f"{mate}.json"
        path.write_text(json.dumps(object_created("s3", "in", key, 30_000_000_000, f"e{n}", at,
                                                  f"{n:016X}")))
        events.append(str(path))
    env = {"SEQLEDGER_PROJECTS": str(root / "projects.toml"),
           "SEQLEDGER_REQUIRE_VALIDATED_RELEASE": "true",
           "SEQLEDGER_OUTPUT_PREFIX": str(tmp_path / "out")}
    refused = _run(settings, "ingest", "event", *events,
                   env={**env, "SEQLEDGER_PIPELINE_RELEASE": CANDIDATE_RC})
    from lake.store import LakeStore

    q = [r["reason"] for r in LakeStore(settings).read("quarantine").to_pylist()
         if "CARD9999" in r["reason"]]
    assert q and f"release {CANDIDATE_RC} failed its validation" in q[0], refused.stdout
    runs = LakeStore(settings).read("runs").to_pylist()
    assert not [r for r in runs if r["sample_id"] == "CARD9999"]
    allowed = _run(settings, "ingest", "event", *events,
                   env={**env, "SEQLEDGER_PIPELINE_RELEASE": CANDIDATE})
    runs = LakeStore(settings).read("runs").to_pylist()
    mine = {(r["run_id"], r["pipeline_release"]) for r in runs if r["sample_id"] == "CARD9999"}
    assert [release for _, release in mine] == [CANDIDATE], allowed.stdout + allowed.stderr


@pytest.mark.browser
def test_the_report_renders_offline_in_chromium(demo, tmp_path):
    _, result, _ = demo
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.fail(f"{chromium} is missing: `make system` (apt-get install chromium) installs it")
    from playwright.sync_api import sync_playwright

    report = next(r["report"] for r in result.summary["releases"] if r["release"] == CANDIDATE_RC)
    outside: list[str] = []

    def guard(route):
        if route.request.url.startswith(("file://", "data:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    shot = tmp_path / "release-report.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1600})
            page.route("**/*", guard)
            page.goto(Path(report).as_uri())
            verdict = page.locator("#verdict").inner_text()
            charts = page.locator("svg.chart").count()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert verdict == "FAIL"
    assert charts >= 10  # accuracy, QC, runtime and cost, each release over the other
    assert outside == []
    assert shot.stat().st_size > 50_000
    if os.environ.get("SEQLEDGER_KEEP_SCREENSHOT_DIR"):
        Path(os.environ["SEQLEDGER_KEEP_SCREENSHOT_DIR"], "release-report.png").write_bytes(
            shot.read_bytes())


def test_the_releases_page_shows_each_release_and_the_failed_checks(demo, monkeypatch):
    settings, _, _ = demo
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SEQLEDGER_LAKE", settings.lake_uri)
    app = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
    at = AppTest.from_file(str(app), default_timeout=120).run()
    at.switch_page("views/releases.py").run()
    assert not at.exception
    assert at.title[0].value == "Releases"
    releases = at.dataframe[0].value
    assert releases["release"].tolist() == [PRODUCTION, CANDIDATE_RC, CANDIDATE]
    assert releases["validation"].tolist() == ["passed with warnings", "failed", "passed"]
    assert releases["reference samples"].tolist() == [7, 7, 7]
    at.selectbox(key="rel_validation").set_value(CANDIDATE_RC).run()
    # against the production release, or the final candidate once that passed (a re-validation)
    assert at.error[0].value.startswith(f"**{CANDIDATE_RC}**: failed against dragen-4.")
    failed = at.dataframe[-1].value  # the checks not passed, last on the page
    assert set(failed.loc[failed["verdict"] == "fail", "check_id"]) == {
        "indel_f1_regression", "indel_recall_regression"}
    assert at.get("download_button")

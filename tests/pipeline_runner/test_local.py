"""The local executor: real subprocesses, reported as Batch job-state events."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lake.errors import SubmitError
from pipeline_runner.executors.local import LocalExecutor, render_command
from pipeline_runner.workflows import build_job_spec
from tests.pipeline_runner.events import to_change

WRITE = ("import os, sys, pathlib; "
         "pathlib.Path(os.environ['SEQLEDGER_OUTPUT'], 'done.txt').write_text(sys.argv[1])")


@pytest.fixture
def executor(tmp_path):
    executors = []

    def make(command, **kw):
        ex = LocalExecutor(command, log_dir=tmp_path / "logs", **kw)
        executors.append(ex)
        return ex

    yield make
    for ex in executors:
        ex.close()


def statuses(events, job_id):
    return [(e["detail"]["status"], e["detail"]["container"].get("exitCode"))
            for e in events if e["detail"]["jobId"] == job_id]


def test_a_job_runs_and_reports_success(executor, make_run, config):
    spec = build_job_spec(make_run("NA12878-A01"), 1, "on-demand", config)
    ex = executor([sys.executable, "-c", WRITE, "{sample_id}"])
    job_id = ex.submit(spec)
    events = ex.wait(30)
    assert statuses(events, job_id) == [("SUBMITTED", None), ("RUNNING", None), ("SUCCEEDED", 0)]
    out = Path(spec.environment["SEQLEDGER_OUTPUT"])
    assert (out / "done.txt").read_text() == "NA12878-A01"
    last = events[-1]["detail"]
    assert last["container"]["command"] == [sys.executable, "-c", WRITE, "NA12878-A01"]
    assert last["tags"]["run_id"] == spec.tags["run_id"] and last["jobName"] == spec.job_name
    change = to_change(events[-1])
    assert (change.status, change.exit_code, change.job_id) == ("SUCCEEDED", 0, job_id)
    assert change.started_at is not None and change.stopped_at >= change.started_at


@pytest.mark.parametrize(("code", "expected"), [
    ("import sys; sys.exit(3)", 3),
    ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", 143),  # 128 + SIGTERM
])
def test_the_real_exit_code_is_reported(executor, make_run, config, code, expected):
    ex = executor([sys.executable, "-c", code])
    job_id = ex.submit(build_job_spec(make_run(), 1, "on-demand", config))
    assert statuses(ex.wait(30), job_id)[-1] == ("FAILED", expected)


def test_a_missing_program_fails_with_127(executor, make_run, config):
    ex = executor(["/nonexistent/dragen", "--version"])
    job_id = ex.submit(build_job_spec(make_run(), 1, "on-demand", config))
    events = ex.poll()
    assert statuses(events, job_id)[-1] == ("FAILED", 127)
    assert "could not start /nonexistent/dragen" in events[-1]["detail"]["container"]["reason"]


def test_one_job_at_a_time_by_default(executor, make_run, config):
    ex = executor([sys.executable, "-c", "import time; time.sleep(0.3)"])
    first = ex.submit(build_job_spec(make_run("S1"), 1, "on-demand", config))
    second = ex.submit(build_job_spec(make_run("S2"), 1, "on-demand", config))
    events = ex.wait(30)
    assert [s for s, _ in statuses(events, second)] == ["SUBMITTED", "RUNNABLE", "RUNNING",
                                                        "SUCCEEDED"]
    order = [(e["detail"]["jobId"], e["detail"]["status"]) for e in events]
    assert order.index((first, "SUCCEEDED")) < order.index((second, "RUNNING"))


def test_command_templates(make_run, config):
    spec = build_job_spec(make_run("S9"), 2, "spot", config)
    assert render_command(None, spec) == list(spec.command)
    assert render_command(lambda s: ["echo", s.job_name], spec) == ["echo", spec.job_name]
    assert render_command(["x", "{output}", "{attempt}", "{run_id}"], spec) == [
        "x", spec.environment["SEQLEDGER_OUTPUT"], "2", spec.tags["run_id"]]
    with pytest.raises(SubmitError, match="unknown field 'nope'"):
        render_command(["{nope}"], spec)


# -- a job outlives the process that started it ---------------------------------------------------


def test_a_later_executor_finds_and_adopts_a_job_that_ended_meanwhile(executor, make_run, config):
    spec = build_job_spec(make_run("A1"), 1, "on-demand", config)
    first = executor([sys.executable, "-c", "import sys; sys.exit(3)"])
    job_id = first.submit(spec)
    first._jobs[job_id].process.wait()  # it ends while its watcher is gone (never polled)
    later = executor([sys.executable, "-c", "pass"])
    assert later.find(spec) == [job_id]  # from the record the first one left
    assert later.adopt(spec, job_id, None) is True
    assert later.adopt(spec, job_id, None) is False  # once
    events = later.poll()
    assert statuses(events, job_id) == [("SUBMITTED", None), ("RUNNING", None), ("FAILED", 3)]
    assert later.active == 0


def test_a_job_still_running_is_watched_again_to_its_end(executor, make_run, config):
    spec = build_job_spec(make_run("A2"), 1, "on-demand", config)
    first = executor([sys.executable, "-c", WRITE + "; import time; time.sleep(0.5)", "x"])
    job_id = first.submit(spec)
    later = executor(["unused"])
    assert later.adopt(spec, job_id, None) is True
    assert later.active == 1
    events = later.wait(30)
    assert statuses(events, job_id)[-1] == ("SUCCEEDED", 0)
    assert (Path(spec.environment["SEQLEDGER_OUTPUT"]) / "done.txt").read_text() == "x"


def test_a_job_gone_without_an_exit_status_is_a_failed_attempt(executor, make_run, config):
    import os
    import signal

    spec = build_job_spec(make_run("A3"), 1, "on-demand", config)
    first = executor([sys.executable, "-c", "import time; time.sleep(60)"])
    job_id = first.submit(spec)
    process = first._jobs[job_id].process
    os.killpg(process.pid, signal.SIGKILL)  # the server restarted: wrapper and job both gone
    process.wait()
    later = executor(["unused"])
    assert later.adopt(spec, job_id, None) is True
    last = later.poll()[-1]["detail"]
    assert (last["jobId"], last["status"], last["container"].get("exitCode")) == (
        job_id, "FAILED", None)
    assert f"process {process.pid} ended without recording an exit status" in last["statusReason"]


def test_a_job_never_recorded_is_a_failed_attempt(executor, make_run, config):
    spec = build_job_spec(make_run("A4"), 1, "on-demand", config)
    ex = executor(["unused"])
    assert ex.adopt(spec, "0000-lost", None) is True
    last = ex.poll()[-1]["detail"]
    assert (last["status"], last["container"].get("exitCode")) == ("FAILED", None)
    assert last["statusReason"].startswith("no record of job 0000-lost in ")


def test_a_job_waiting_its_turn_is_queued_again_not_failed(executor, make_run, config):
    first = executor([sys.executable, "-c", "import time; time.sleep(0.3)"])
    running = first.submit(build_job_spec(make_run("A5"), 1, "on-demand", config))
    waiting_spec = build_job_spec(make_run("A6"), 1, "on-demand", config)
    waiting = first.submit(waiting_spec)  # one at a time: it waits, and its watcher dies
    assert first._jobs[waiting].process is None and first._jobs[running].process is not None
    later = executor([sys.executable, "-c", "pass"])
    assert later.adopt(waiting_spec, waiting, None) is True
    assert [s for s, _ in statuses(later.wait(30), waiting)] == ["SUBMITTED", "RUNNING",
                                                                 "SUCCEEDED"]

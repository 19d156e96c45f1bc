import threading

import pytest

from core.errors import UserError
from core.jobs import CANCELLED, DONE, FAILED, Cancelled, JobRegistry, SubProgress


def test_result_progress_and_metrics():
    registry = JobRegistry()

    def work(ctx):
        for i in range(3):
            ctx.progress((i + 1) / 3, f"step {i + 1}")
            ctx.metric(epoch=i, loss=1.0 / (i + 1))
        ctx.log("finished")
        return "answer"

    job = registry.submit("demo", work, kind="test")
    assert job.wait(5)
    assert (job.status, job.result, job.progress, job.message) == (DONE, "answer", 1.0, "step 3")
    assert [m["epoch"] for m in job.metrics] == [0, 1, 2]
    assert list(job.log) == ["finished"]
    assert registry.active() == [] and registry.all() == [job]


def test_cancel_stops_the_worker_at_its_next_check():
    registry = JobRegistry()
    started, steps = threading.Event(), []

    def work(ctx):
        started.set()
        while True:
            ctx.check_cancelled()
            steps.append(1)
            threading.Event().wait(0.01)

    job = registry.submit("endless", work, kind="test")
    started.wait(5)
    assert registry.active() == [job]
    job.cancel()
    assert job.wait(5)
    assert job.status == CANCELLED and job.error is None
    assert job.finished is not None


def test_user_errors_and_bugs_become_messages():
    registry = JobRegistry()

    def user_error(ctx):
        raise UserError("The file is empty. Upload one with text.")

    def bug(ctx):
        return {}["missing"]

    a = registry.submit("a", user_error, kind="test")
    b = registry.submit("b", bug, kind="test")
    assert a.wait(5) and b.wait(5)
    assert (a.status, a.error) == (FAILED, "The file is empty. Upload one with text.")
    assert b.status == FAILED and b.error.startswith("Unexpected error (KeyError)")
    assert any("KeyError" in line for line in b.log)


def test_same_key_while_running_returns_the_running_job():
    registry = JobRegistry()
    gate = threading.Event()
    first = registry.submit("x", lambda ctx: gate.wait(5), kind="test", key="sample-lee")
    second = registry.submit("x", lambda ctx: None, kind="test", key="sample-lee")
    assert second is first
    gate.set()
    first.wait(5)
    third = registry.submit("x", lambda ctx: None, kind="test", key="sample-lee")
    assert third is not first


def test_finished_jobs_are_trimmed():
    registry = JobRegistry(keep_finished=2)
    jobs = [registry.submit(str(i), lambda ctx: None, kind="test") for i in range(5)]
    for job in jobs:
        job.wait(5)
    registry.submit("last", lambda ctx: None, kind="test").wait(5)
    assert len(registry.all()) <= 3


def test_sub_progress_maps_a_step_onto_its_share_of_the_bar():

    seen = []

    class Recorder:
        def progress(self, fraction, message=None):
            seen.append((round(fraction, 3), message))

        def metric(self, **values):
            seen.append(values)

        def log(self, message): ...

        def check_cancelled(self):
            raise Cancelled()

    step = SubProgress(Recorder(), 0.2, 0.6)
    step.progress(0.0, "start")
    step.progress(0.5)
    step.progress(1.0, "end")
    step.metric(loss=1.0)
    assert seen == [(0.2, "start"), (0.4, None), (0.6, "end"), {"loss": 1.0}]
    with pytest.raises(Cancelled):
        step.check_cancelled()


def test_every_reporter_satisfies_the_progress_protocol():
    from core.jobs import Job, JobContext, NoJob, Progress, SubProgress

    ctx = JobContext(Job(title="t", kind="test"))
    for reporter in (ctx, NoJob(), SubProgress(ctx, 0.2, 0.4)):
        assert isinstance(reporter, Progress)

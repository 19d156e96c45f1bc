import threading

from streamlit.testing.v1 import AppTest

from core.jobs import CANCELLED, REGISTRY
from ui.jobs import CHART_AFTER_SECONDS


def panel_script(job_id):
    from core.jobs import REGISTRY
    from ui.jobs import job_panel

    job = REGISTRY.get(job_id)
    if job.is_finished:
        import streamlit as st

        st.write(f"finished: {job.status}")
    else:
        job_panel(job)


def test_panel_shows_progress_metrics_and_cancels():
    started = threading.Event()

    def work(ctx):
        ctx.progress(0.25, "Training epoch 1 of 4")
        ctx.metric(loss=2.0)
        ctx.metric(loss=1.5)
        started.set()
        while True:
            ctx.check_cancelled()
            threading.Event().wait(0.01)

    job = REGISTRY.submit("Train", work, kind="test")
    assert started.wait(5)
    at = AppTest.from_function(panel_script, args=(job.id,), default_timeout=30).run()
    assert not at.exception
    assert at.get("progress")[0].value == 25
    chart = at.main.children[0].children[1]  # the live loss chart's slot (AppTest has no chart element type)
    assert chart.type != "vega_lite_chart"  # a job of a few seconds shows its curve with its result, not live
    job.started -= CHART_AFTER_SECONDS  # as if it had run that long
    at.run()
    assert at.main.children[0].children[1].type == "vega_lite_chart"
    at.button(key=f"cancel-{job.id}").click().run()
    assert job.wait(5) and job.status == CANCELLED
    at.run()
    assert at.markdown[0].value == "finished: cancelled"


def finished_script(job_id):
    import streamlit as st

    from ui.jobs import finished_job

    if "seeded" not in st.session_state:  # as a start button would, once
        st.session_state.seeded = st.session_state.job = job_id
    job = finished_job("job", panel=lambda running: st.write("running"))
    st.write(f"result: {job.result if job else None}")


def test_a_job_dropped_from_the_registry_says_it_expired():
    release = threading.Event()
    job = REGISTRY.submit("Slow", lambda ctx: release.wait(5) and 42, kind="test")
    at = AppTest.from_function(finished_script, args=(job.id,), default_timeout=30).run()
    assert at.markdown[0].value == "running"
    release.set()
    assert job.wait(5)
    with REGISTRY._lock:  # what trimming does once 50 newer jobs have finished
        del REGISTRY._jobs[job.id]
    at.run()
    assert not at.exception
    assert "expired" in at.info[0].value
    assert "job" not in at.session_state
    at.run()
    assert not at.info and at.markdown[-1].value == "result: None"  # said once, then the page is as before


def summary_script():
    from ui.jobs import active_jobs_summary

    active_jobs_summary()


def test_a_queued_heavy_job_shows_its_place_and_cancels_from_the_line():
    gate, running = threading.Event(), threading.Event()

    def first(ctx):
        running.set()
        ctx.progress(0.5, "Epoch 2 of 4")
        gate.wait(30)

    ahead = REGISTRY.submit("Training CBOW on secret-notes.txt", first, kind="vectors", owner="someone-else")
    assert running.wait(30)
    waiting = REGISTRY.submit("Drawing my map", lambda ctx: "never", kind="map")
    try:
        at = AppTest.from_function(panel_script, args=(waiting.id,), default_timeout=30).run()
        text = at.get("progress")[0].proto.text.replace("\\", "")  # md() escapes Markdown
        assert "next in line" in text and "Running now: Training vectors (another session)" in text
        assert "secret-notes" not in text  # another session's job: its kind, not its data
        side = AppTest.from_function(summary_script, default_timeout=30).run()
        rows = [p.proto.text.replace("\\", "") for p in side.get("progress")]
        assert "Training vectors (another session) · running" in rows
        assert "Drawing my map · waiting, 1 in line" in rows
        at.button(key=f"cancel-{waiting.id}").click().run()
        assert waiting.wait(5) and waiting.status == CANCELLED
    finally:
        gate.set()
    assert ahead.wait(10)


def test_cancel_is_shown_at_once_while_the_job_finishes_its_step():
    step = threading.Event()

    def work(ctx):
        ctx.progress(0.5, "Step 3/8")
        step.wait(10)  # a step that cannot be interrupted (a validation batch, an optimizer step)
        ctx.check_cancelled()

    job = REGISTRY.submit("Fine-tune", work, kind="test")
    at = AppTest.from_function(panel_script, args=(job.id,), default_timeout=30).run()
    at.button(key=f"cancel-{job.id}").click().run()
    assert not job.is_finished  # still in its step, and the page already says so
    assert at.get("progress")[0].proto.text.startswith("Cancelling…")
    assert at.button(key=f"cancel-{job.id}").disabled
    step.set()
    assert job.wait(5) and job.status == CANCELLED

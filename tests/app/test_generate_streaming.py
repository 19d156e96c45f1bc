"""The Generate page mid-stream: Stop ends the run at the next token and keeps its text; a crash ends
the job with a message.

The tiny GPT-2 writes in milliseconds, so its forward pass is held at a gate (or fails) after a few
tokens: the page is then really mid-stream when Stop is pressed.
"""

import threading

from streamlit.testing.v1 import AppTest

from core import models
from tests.app.conftest import open_page, wait_until

TINY = "tiny-gpt2"


def tiny_page() -> AppTest:
    at = open_page("views/generate.py")
    at.selectbox(key="gen_model").set_value(TINY).run()
    if "gen_load" in [b.key for b in at.button]:
        at.button(key="gen_load").click().run()
        wait_until(at, lambda a: "gen_go" in [b.key for b in a.button])
    at.segmented_control(key="gen_preset").set_value("precise").run()
    at.number_input(key="gen_max_new_tokens").set_value(60).run()
    at.text_area(key="gen_prompt").set_value("abc").run()
    return at


def test_stop_during_streaming_keeps_the_text_so_far(monkeypatch):
    at = tiny_page()
    m = models.load(TINY)  # the page's model, from the shared cache
    gate, calls, forward = threading.Event(), [0], m.model.forward

    def held_forward(*args, **kwargs):
        calls[0] += 1
        if calls[0] > 8:  # the prompt and 7 tokens pass; then the model waits, mid-stream
            gate.wait(60)
        return forward(*args, **kwargs)

    monkeypatch.setattr(m.model, "forward", held_forward)
    try:
        at.button(key="gen_go").click().run()
        job_id = at.session_state.gen_job
        wait_until(at, lambda a: a.code and a.code[0].value.rstrip("▌"))  # streamed text under the cursor
        partial = at.code[0].value
        assert partial.endswith("▌") and any(c.value.startswith("Generating with") for c in at.caption)
        at.button(key=f"stop-{job_id}").click().run()
        assert at.button(key=f"stop-{job_id}").disabled  # pressed: the run ends at its next token
    finally:
        gate.set()
    wait_until(at, lambda a: "gen_last" in a.session_state and "gen_job" not in a.session_state)
    g = at.session_state.gen_last
    assert g.finish == "cancelled" and g.text.startswith(partial.rstrip("▌")) and len(g.tokens) < 60
    assert g.text in at.code[0].value
    assert any("stopped by you; the text so far is kept" in c.value for c in at.caption)
    assert not at.exception


def test_a_crash_mid_stream_ends_the_job_with_a_message(monkeypatch):
    at = tiny_page()
    m = models.load(TINY)
    calls, forward = [0], m.model.forward

    def failing_forward(*args, **kwargs):
        calls[0] += 1
        if calls[0] > 8:
            raise RuntimeError("the forward pass broke")
        return forward(*args, **kwargs)

    monkeypatch.setattr(m.model, "forward", failing_forward)
    at.button(key="gen_go").click().run()
    wait_until(at, lambda a: "gen_job" not in a.session_state)
    assert any("RuntimeError" in e.value and "the forward pass broke" in e.value for e in at.error)
    assert "gen_last" not in at.session_state and not at.exception

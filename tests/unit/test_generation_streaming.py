"""The Generate page's streaming path, without a browser: the job's published texts and ``follow``.

The tiny random GPT-2 writes in milliseconds; "The river bank" makes it write varied bytes, handed
to the stream in many pieces.
"""

import threading

from core import models
from core.generation import PRESETS, generate
from core.jobs import DONE, REGISTRY, Job, JobContext
from ui import generation_view
from ui.jobs import follow

PROMPT = "The river bank"
GREEDY = PRESETS["precise"].with_(max_new_tokens=40)


class Recorder(JobContext):
    """A JobContext that keeps every partial the job publishes."""

    def __init__(self, job):
        super().__init__(job)
        self.partials = []

    def partial(self, value):
        self.partials.append(value)
        super().partial(value)


def test_the_job_publishes_every_piece_in_order_and_ends_with_the_unstreamed_text():
    m = models.tiny_model("causal")
    plain = generate(m, PROMPT, GREEDY)  # nothing streamed
    ctx = Recorder(Job("Generating text", "generate"))
    [g] = generation_view.work([(m, PROMPT, GREEDY)])(ctx)
    texts = [p[0] for p in ctx.partials]
    assert len(texts) > 5  # it streamed, in many pieces
    for before, after in zip(texts, texts[1:], strict=False):
        assert len(after) > len(before) and after.startswith(before)  # each piece extends the text, none lost
    assert texts[-1] == g.text == plain.text
    assert [t.id for t in g.tokens] == [t.id for t in plain.tokens]


def test_follow_draws_growing_texts_until_the_job_ends():
    m = models.tiny_model("causal")
    plain = generate(m, PROMPT, GREEDY)
    two = [(m, PROMPT, GREEDY), (m, PROMPT, GREEDY.with_(max_new_tokens=12))]  # Compare: two streams
    job = REGISTRY.submit("Generating text", generation_view.work(two), kind="generate")
    drawn, touched = [], []
    assert follow(job, lambda j: drawn.append(list(j.partial or [])), state=lambda j: (j.partial, j.message),
                  seconds=60, every=0, touch=lambda: touched.append(1))
    assert job.status == DONE and touched
    for before, after in zip(drawn, drawn[1:], strict=False):
        assert all(b_text == a_text[:len(b_text)] for b_text, a_text in zip(before, after, strict=False))
    assert drawn[-1] == [g.text for g in job.result] and drawn[-1][0] == plain.text  # the last texts, drawn


def test_follow_gives_up_after_its_seconds_and_the_job_goes_on():
    release = threading.Event()
    job = REGISTRY.submit("Waiting", lambda ctx: release.wait(30), kind="test")
    try:
        assert not follow(job, lambda j: None, state=lambda j: j.partial, seconds=0.2, touch=lambda: None)
        assert not job.is_finished
    finally:
        release.set()
    assert job.wait(30) and job.status == DONE

"""The Fine-tune page: estimate, a short real LoRA run of SmolLM2, the results and the before/after view."""

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core import finetune
from core.corpus.readers import ReadOptions, Source
from core.corpus.store import ingest_sources
from core.workspace import Workspace

APP = Path(__file__).resolve().parents[2] / "app.py"
STORY = ("The miller kept his grain by the river. Every spring the river rose and the miller moved his sacks "
         "up the hill, one by one, while the village watched and the children counted them. ")


def small_corpus(paragraphs: int = 24) -> Workspace:
    ws = Workspace.from_env()
    text = "\n\n".join(f"{STORY} This was spring number {i}." for i in range(paragraphs))
    m = ingest_sources(ws, [Source("miller.txt", text.encode())], ReadOptions(split="paragraph"), name="miller")
    ws.set_state("active_corpus", m.id)
    return ws


def open_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=180).run()
    at.switch_page("views/finetune.py").run()
    assert not at.exception, at.exception
    return at


def wait(at: AppTest, done, rounds: int = 400) -> AppTest:
    for _ in range(rounds):  # AppTest runs no fragment timers: rerun until the job is done
        if done(at):
            break
        time.sleep(0.5)
        at.run(timeout=30)
    assert not at.exception, at.exception
    assert done(at), [e.value for e in at.error]
    return at


def test_without_a_corpus_the_page_points_to_the_corpus_page():
    at = open_page()
    assert "Corpus page" in at.info[0].value


def test_a_short_lora_run_then_before_and_after():
    ws = small_corpus()
    at = open_page()
    at.number_input(key="ft_max_steps").set_value(2).run()
    at.number_input(key="ft_batch").set_value(2).run()
    at.number_input(key="ft_block").set_value(32).run()
    assert any(m.label == "Memory (estimate)" for m in at.metric)
    assert any("accelerate launch" in c.value for c in at.code)
    at.button(key="ft_start").click().run()
    wait(at, lambda a: ws.list(finetune.KIND) and "ft_job" not in a.session_state)
    run = ws.list(finetune.KIND)[0]
    assert run.config["method"] == "lora" and run.metrics["steps"] == 2
    assert run.metrics["val_ppl_after"] > 1
    assert any(m.label == "Validation perplexity" for m in at.metric)
    at.text_area(key="ft_prompts").set_value("The miller kept").run()
    at.slider(key="ft_new_tokens").set_value(10).run()
    at.button(key="ft_compare").click().run()
    wait(at, lambda a: "ft_cmp" in a.session_state)
    rows = at.session_state.ft_cmp[1]["rows"]
    assert len(rows) == 1 and len(rows[0]["outputs"]) == 2
    assert len(at.get("plotly_chart")) >= 2  # the loss curve and the per-token gains


def test_a_corpus_too_small_for_one_block_is_explained():
    ws = Workspace.from_env()
    m = ingest_sources(ws, [Source("tiny.txt", b"Too short.")], ReadOptions(), name="tiny")
    ws.set_state("active_corpus", m.id)
    at = open_page()
    assert at.error and "needs at least" in at.error[0].value
    assert at.button(key="ft_start").disabled

"""The Fine-tune page: estimate, a short LoRA run, the results and the before/after view.

The run trains the tiny random GPT-2 in seconds; the same run on the bundled SmolLM2 is
the real-model tier (``-m real_model``), and the browser test starts and cancels one too.
"""

import pytest

from core import finetune, models
from core.corpus.readers import ReadOptions, Source
from core.corpus.store import ingest_sample, ingest_sources
from core.workspace import Workspace
from tests.app.conftest import open_page, wait_until

STORY = ("The miller kept his grain by the river. Every spring the river rose and the miller moved his sacks "
         "up the hill, one by one, while the village watched and the children counted them. ")


def small_corpus(paragraphs: int = 24) -> Workspace:
    ws = Workspace.from_env()
    text = "\n\n".join(f"{STORY} This was spring number {i}." for i in range(paragraphs))
    m = ingest_sources(ws, [Source("miller.txt", text.encode())], ReadOptions(split="paragraph"), name="miller")
    ws.set_state("active_corpus", m.id)
    return ws


def estimated(at):
    """The estimate waits for the background import of torch and transformers (instant once imported)."""
    return wait_until(at, lambda a: not any("Loading torch" in s.label for s in a.status))


def test_without_a_corpus_the_page_points_to_the_corpus_page():
    at = open_page("views/finetune.py")
    assert "Corpus page" in at.info[0].value


@pytest.mark.parametrize("base", ["tiny-gpt2", pytest.param(models.SMOLLM_ID, marks=pytest.mark.real_model)])
def test_a_short_lora_run_then_before_and_after(base):
    ws = small_corpus()
    at = estimated(open_page("views/finetune.py"))
    at.selectbox(key="ft_base").set_value(base).run()
    at.number_input(key="ft_max_steps").set_value(2).run()
    at.number_input(key="ft_batch").set_value(2).run()
    at.number_input(key="ft_block").set_value(32).run()
    assert any(m.label == "Memory (estimate)" for m in at.metric)
    assert any("too little text" in w.value for w in at.warning)  # 2 steps: said before the run, not after
    assert not any("accelerate launch" in c.value for c in at.code)  # the multi-GPU command shows on demand
    at.toggle(key="ft_multi_gpu").set_value(True).run()
    assert any("accelerate launch" in c.value for c in at.code)
    at.button(key="ft_start").click().run()
    wait_until(at, lambda a: ws.list(finetune.KIND) and "ft_job" not in a.session_state)
    run = ws.list(finetune.KIND)[0]
    assert run.config["method"] == "lora" and run.config["base"] == base and run.metrics["steps"] == 2
    assert run.metrics["val_ppl_after"] > 1
    assert any(m.label == "Validation perplexity" for m in at.metric)
    assert any(c.value.startswith("LoRA on ") for c in at.caption)  # how people write it, not "LORA"
    at.text_area(key="ft_prompts").set_value("The miller kept").run()
    at.slider(key="ft_new_tokens").set_value(10).run()
    at.button(key="ft_compare").click().run()
    wait_until(at, lambda a: "ft_cmp" in a.session_state)
    rows = at.session_state.ft_cmp[1]["rows"]
    assert len(rows) == 1 and len(rows[0]["outputs"]) == 2
    assert len(at.get("plotly_chart")) >= 2  # the loss curve and the per-token gains


@pytest.mark.real_model
def test_a_run_that_would_mostly_validate_says_so_before_it_starts():
    # SmolLM2 on Lee, 3 steps: the estimate's two validations of 10 % of the corpus are most of the run
    # (~65 of ~77 s here; the runs took ~90 s, ~20 s of it training), which looked like slow training.
    ws = Workspace.from_env()
    ws.set_state("active_corpus", ingest_sample(ws, "lee").id)
    at = estimated(open_page("views/finetune.py"))
    at.selectbox(key="ft_base").set_value(models.SMOLLM_ID).run()
    at.number_input(key="ft_max_steps").set_value(3).run()
    said = [i.value for i in at.info if "measures the model on the validation text" in i.value]
    assert said and "Validation share" in said[0]
    assert any("of the time" in c.value for c in at.caption)  # the validations' share, not only in a tooltip
    at.number_input(key="ft_val").set_value(0.02).run()  # the fix the note offers
    assert not any("measures the model on the validation text" in i.value for i in at.info)
    assert not at.exception


def test_a_corpus_too_small_for_one_block_is_explained():
    ws = Workspace.from_env()
    m = ingest_sources(ws, [Source("tiny.txt", b"Too short.")], ReadOptions(), name="tiny")
    ws.set_state("active_corpus", m.id)
    at = estimated(open_page("views/finetune.py"))
    assert at.error and "needs at least" in at.error[0].value
    assert at.button(key="ft_start").disabled


def test_the_form_does_not_wait_for_transformers(monkeypatch):
    """Until torch and transformers are in, the settings show, Start waits, and the page says why."""
    from concurrent.futures import Future

    from ui import cached

    pending = Future()
    monkeypatch.setitem(cached._BACKGROUND, "transformers", pending)
    small_corpus()
    at = open_page("views/finetune.py")
    assert "Loading torch" in at.status[0].label and at.status[0].state == "running"
    assert at.selectbox(key="ft_base") and at.button(key="ft_start").disabled
    assert not any(m.label == "Memory (estimate)" for m in at.metric)
    pending.set_result([])
    at.run()
    assert not at.status and any(m.label == "Memory (estimate)" for m in at.metric)
    assert not at.button(key="ft_start").disabled

"""The Generate page: generate, look at the tokens, compare, perplexity, history.

The page's workings are tested on the tiny random GPT-2 (byte tokens, milliseconds per token);
one real-model test writes with the bundled SmolLM2 in chat mode, as a user would.
"""

import json

import pytest
from streamlit.testing.v1 import AppTest

from core import models
from tests.app.conftest import open_page, wait_until

TINY = "tiny-gpt2"


def with_model(model_id: str = TINY) -> AppTest:
    at = open_page("views/generate.py")
    at.selectbox(key="gen_model").set_value(model_id).run()
    if "gen_load" in [b.key for b in at.button]:  # not in memory yet: load it as a job (SmolLM2: converted once)
        at.button(key="gen_load").click().run()
        wait_until(at, lambda a: "gen_go" in [b.key for b in a.button])
    return at


def generate(at: AppTest, prompt: str, tokens: int = 8) -> AppTest:
    at.segmented_control(key="gen_preset").set_value("precise").run()
    at.number_input(key="gen_max_new_tokens").set_value(tokens).run()
    at.text_area(key="gen_prompt").set_value(prompt).run()
    at.button(key="gen_go").click().run()
    return wait_until(at, lambda a: "gen_last" in a.session_state and "gen_job" not in a.session_state)


def test_greedy_generation_shows_tokens_chart_and_history():
    at = generate(with_model(), "Name three colours.")
    g = at.session_state.gen_last
    assert g.finish in ("length", "eos") and 1 <= len(g.tokens) <= 8 and g.config.strategy == "greedy"
    assert g.text and g.text in at.code[0].value
    html = at.get("html")[0].proto.body
    assert 'class="cl-tip"' in html and "hsl(" in html  # the coloured token view with its alternatives
    assert at.get("plotly_chart")  # probability / entropy per token
    assert at.dataframe  # the chosen token's top-5 alternatives
    history = at.session_state.gen_history
    assert len(history) == 1 and history[0]["prompt"] == "Name three colours."
    json.dumps(history)  # what the JSONL download writes


def test_the_same_seed_gives_the_same_text_and_markup_stays_text():
    at = with_model()
    prompt = "<b>bold</b> <script>alert(1)</script> :red[x] $y$"
    at.segmented_control(key="gen_preset").set_value("balanced").run()
    at.number_input(key="gen_max_new_tokens").set_value(6).run()
    at.text_area(key="gen_prompt").set_value(prompt).run()
    texts = []
    for _ in range(2):
        at.button(key="gen_go").click().run()
        wait_until(at, lambda a: "gen_job" not in a.session_state and len(a.session_state.gen_history) > len(texts))
        texts.append(at.session_state.gen_last.text)
    assert texts[0] == texts[1]
    assert "<script>" not in at.get("html")[0].proto.body


def test_empty_prompt_is_explained_and_nothing_runs():
    at = with_model()
    at.text_area(key="gen_prompt").set_value("   ").run()
    at.button(key="gen_go").click().run()
    assert at.error and "prompt" in at.error[0].value.lower()
    assert "gen_job" not in at.session_state and not at.exception


def test_perplexity_of_a_typed_text():
    at = with_model()
    at.text_area(key="ppl_text").set_value("The cat sat on the mat. The cat sat on the mat.").run()
    at.button(key="ppl_go").click().run()
    wait_until(at, lambda a: "ppl_last" in a.session_state)
    _, p = at.session_state.ppl_last
    assert p.perplexity > 1 and len(p.surprisal) == len(p.ids)
    assert any(m.label == "Perplexity" for m in at.metric)


def test_compare_two_settings_side_by_side():
    at = with_model()
    assert at.selectbox(key="gen_b_model").value == models.SMOLLM_ID  # B starts on the bundled model
    at.selectbox(key="gen_b_model").set_value(TINY).run()  # in memory already: no Load button
    at.segmented_control(key="gen_preset").set_value("precise").run()
    at.number_input(key="gen_max_new_tokens").set_value(5).run()
    at.segmented_control(key="gen_b_preset").set_value("creative").run()
    at.number_input(key="gen_b_max_new_tokens").set_value(5).run()
    at.button(key="gen_cmp_go").click().run()
    wait_until(at, lambda a: len(a.session_state.get("gen_cmp_last", [])) == 2)
    a, b = at.session_state.gen_cmp_last
    assert a.config.strategy == "greedy" and b.config.strategy == "sample"


def test_a_second_session_waits_for_the_model_then_finishes():
    at = with_model()
    m = models.load(TINY)  # the page's model, from the shared cache
    at.number_input(key="gen_max_new_tokens").set_value(4).run()
    with m.lock:  # another session is generating with it
        at.button(key="gen_go").click().run()
        at.run()
        assert any("1 request from other sessions ahead of yours" in c.value for c in at.caption)
    wait_until(at, lambda a: "gen_last" in a.session_state and "gen_job" not in a.session_state)
    assert at.session_state.gen_last.tokens


@pytest.mark.real_model
def test_smollm_answers_in_chat_mode():
    at = with_model(models.SMOLLM_ID)
    assert at.toggle(key="gen_chat").value  # an instruction-tuned model starts in chat mode
    at = generate(at, "Name three colours.")
    g = at.session_state.gen_last
    assert g.config.chat and g.text.strip() and g.text in at.code[0].value
    assert at.session_state.gen_history[0]["model_id"] == models.SMOLLM_ID
    at.selectbox(key="gen_model").set_value(TINY).run()  # a model without a chat template: chat mode goes off
    if "gen_load" in [b.key for b in at.button]:
        at.button(key="gen_load").click().run()
        wait_until(at, lambda a: "gen_go" in [b.key for b in a.button])
    assert not at.toggle(key="gen_chat").value and at.toggle(key="gen_chat").disabled
    g = generate(at, "Name three colours.").session_state.gen_last
    assert g.model_id == TINY and not g.config.chat and not at.error

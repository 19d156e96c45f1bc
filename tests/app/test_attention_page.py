"""The Attention page on the tiny random BERT (2 layers × 4 heads): every tab, merging, bad input.

The page's code paths do not depend on which encoder it shows, so the tiny model stands in for
MiniLM here; MiniLM's real attentions are tested in tests/unit/test_attention.py and in the
browser (tests/e2e/test_attention_flow.py).
"""

import time

from streamlit.testing.v1 import AppTest

from core import models
from tests.app.conftest import open_page


def load_tiny_bert(at: AppTest, model: str = "tiny-bert") -> AppTest:
    at.selectbox(key="att_model").set_value(model).run()
    if "att_load" in [b.key for b in at.button]:  # not in memory yet: load it as a job
        at.button(key="att_load").click().run()
        for _ in range(60):
            if at.get("plotly_chart"):
                break
            time.sleep(0.5)
            at.run(timeout=10)
    assert not at.exception, at.exception
    return at


def test_the_page_offers_the_bundled_models_and_under_test_the_tiny_ones():
    at = open_page("views/attention.py")
    options = at.selectbox(key="att_model").options
    assert any("SmolLM2" in o for o in options) and any("MiniLM" in o for o in options)
    assert at.selectbox(key="att_model").value == models.SMOLLM_ID  # the bundled model stays the default
    assert any("Tiny random BERT" in o for o in options)  # CORPUS_LAB_TINY_MODELS=1 (tests/conftest.py)


def test_heatmaps_tabs_and_bad_input():
    at = load_tiny_bert(open_page("views/attention.py"))
    assert len(at.get("plotly_chart")) == 1  # only the open tab's body runs
    assert any("2 layers × 4 heads" in c.value for c in at.caption)
    for tab in ("All heads", "Mean over heads", "Rollout", "From one token"):
        at.session_state["att_tabs"] = tab
        at.run()
        assert len(at.get("plotly_chart")) == 1 and not at.exception, tab
    at.session_state["att_tabs"] = "One head"
    at.run()
    at.toggle(key="att_merge").set_value(True).run()
    assert not at.exception
    at.slider(key="att_layer").set_value(0).run()
    assert not at.exception
    at.session_state["att_tabs"] = "Next-token guesses"
    at.run()
    assert any("Next-token guesses need a causal" in i.value for i in at.info)
    at.text_area(key="att_text").set_value("   ").run()
    assert at.error and not at.exception


def test_contextual_bank_with_a_missing_word_is_explained():
    at = load_tiny_bert(open_page("views/attention.py"))
    at.session_state["att_tabs"] = "Contextual vs static"
    at.run()
    at.text_input(key="ctx_word").set_value("zebra").run()
    assert any("zebra" in e.value for e in at.error) and not at.exception


def test_switching_to_a_model_not_loaded_keeps_the_text_and_toggles():
    at = load_tiny_bert(open_page("views/attention.py"))
    models.unload_all()
    at.text_area(key="att_text").set_value("My own sentence about rivers.").run()
    at.toggle(key="att_merge").set_value(True).run()
    at.selectbox(key="att_model").set_value("tiny-gpt2").run()
    assert "att_load" in [b.key for b in at.button]  # not in memory: the page waits for a Load click
    assert at.text_area(key="att_text").value == "My own sentence about rivers."
    assert at.toggle(key="att_merge").value is True


def test_a_decoder_opens_on_views_worth_reading():
    at = load_tiny_bert(open_page("views/attention.py"), "tiny-gpt2")
    assert any("is set aside" in c.value for c in at.caption)  # the sink, said in words
    at.session_state["att_tabs"] = "From one token"
    at.run()
    pick = at.selectbox(key="att_from")
    assert pick.value == len(pick.options) - 1  # the last token, which has read the whole text
    at.toggle(key="att_sink").set_value(False).run()
    assert not any("is set aside" in c.value for c in at.caption) and not at.exception


def test_a_slider_keeps_its_place_after_a_visit_to_another_tab():
    at = load_tiny_bert(open_page("views/attention.py"))
    at.slider(key="att_layer").set_value(0).run()
    at.slider(key="att_head").set_value(3).run()
    at.session_state["att_tabs"] = "Rollout"
    at.run()
    at.session_state["att_tabs"] = "One head"
    at.run()
    assert (at.slider(key="att_layer").value, at.slider(key="att_head").value) == (0, 3)

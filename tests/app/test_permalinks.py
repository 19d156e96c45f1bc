"""Permalinks: a page's main settings in its URL, restored by a new session; stale values fall back with a note."""

from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP


def opened(page: str, params: dict) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params.update(params)
    at.run()
    at.switch_page(page)
    at.query_params.update(params)  # a link opens straight on its page: the page sees the link's query
    at.run()
    assert not at.exception, at.exception
    return at


def test_an_attention_link_opens_the_same_model_text_layer_and_head():
    at = opened("views/attention.py", {"att_model": "tiny-bert", "att_text": "The river bank flooded.",
                                       "att_layer": "0", "att_head": "3"})
    assert at.selectbox(key="att_model").value == "tiny-bert"
    assert at.text_area(key="att_text").value == "The river bank flooded."
    assert at.session_state["att_layer"] == 0 and at.session_state["att_head"] == 3
    at.text_area(key="att_text").set_value("Another text").run()
    assert at.query_params["att_text"] == "Another text"  # the URL follows the page


def test_a_generate_link_carries_the_prompt_and_settings():
    at = opened("views/generate.py", {"gen_model": "tiny-gpt2", "gen_prompt": "Once upon a time",
                                      "gen_preset": "custom", "gen_strategy": "sample", "gen_temperature": "1.3",
                                      "gen_seed": "7"})
    assert at.session_state["gen_prompt"] == "Once upon a time"
    assert at.session_state["gen_temperature"] == 1.3 and at.session_state["gen_seed"] == 7
    assert at.query_params["gen_strategy"] == "sample"


def test_a_generate_link_keeps_its_settings_when_the_model_is_ready():
    from core import models

    models.load("tiny-gpt2")  # in memory already: the settings form is drawn on the first run
    at = opened("views/generate.py", {"gen_model": "tiny-gpt2", "gen_strategy": "sample", "gen_temperature": "1.3",
                                      "gen_seed": "7"})
    assert at.slider(key="gen_temperature").value == 1.3 and at.number_input(key="gen_seed").value == 7
    assert at.session_state["gen_preset"] == "custom"  # the link's knobs are not the balanced preset's


def test_stale_or_malformed_values_fall_back_with_a_note():
    at = opened("views/attention.py", {"att_model": "no-such-model", "att_layer": "many"})
    assert at.selectbox(key="att_model").value != "no-such-model"
    notes = " ".join(t.value for t in at.toast)
    assert "not available here" in notes and "not a valid value" in notes
    at = opened("views/attention.py", {"att_model": "tiny-bert", "att_layer": "99", "att_head": "99"})
    assert not at.exception  # a link made for a bigger model: clamped into this one's range


def test_a_classify_link_opens_the_same_classifier_and_a_stale_one_says_so():
    from core import classify
    from core.corpus.store import ingest_sample
    from core.workspace import Workspace

    ws = Workspace.from_env()
    cid = ingest_sample(ws, "polarity").id
    for seed in (7, 42):
        classify.train(ws, cid, classify.ClassifierConfig("tfidf", classify.SplitConfig(seed=seed)))
    linked = classify.of_corpus(ws, cid)[-1].id  # not the one the page shows by default (the best)
    at = opened("views/classify.py", {"corpus": cid, "cl_model": linked})
    assert at.session_state["cl_model"] == linked and at.query_params["cl_model"] == linked
    at = opened("views/classify.py", {"corpus": cid, "cl_model": "0123456789abcdef"})
    assert "not available here" in at.toast[0].value and at.session_state["cl_model"] != "0123456789abcdef"


def test_links_that_cannot_be_shown_never_break_the_page():
    first = AppTest.from_file(str(APP), default_timeout=120)
    first.query_params.update({"corpus": "abc)", "vectors": "abc."})  # ids cut off by a mail client
    first.run()
    assert not first.exception and any("not in this workspace" in t.value for t in first.toast)
    from core import models

    models.load("tiny-gpt2")
    at = opened("views/generate.py", {"gen_model": "tiny-gpt2", "gen_temperature": "50", "gen_top_p": "inf",
                                      "gen_preset": "custom"})
    assert at.slider(key="gen_temperature").value == 2.0  # clamped into the slider's range
    assert at.number_input(key="gen_max_new_tokens").value > 1  # knobs the link lacks come from a preset
    assert any("not a valid value" in t.value for t in at.toast)  # inf is refused

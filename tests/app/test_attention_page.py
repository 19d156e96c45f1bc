import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core import models

APP = Path(__file__).resolve().parents[2] / "app.py"


def open_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=180).run()
    at.switch_page("views/attention.py").run()
    assert not at.exception, at.exception
    return at


def load_minilm(at: AppTest) -> AppTest:
    at.selectbox(key="att_model").set_value(models.MINILM_ID).run()
    if "att_load" in [b.key for b in at.button]:  # not in memory yet: load it as a job
        at.button(key="att_load").click().run()
        for _ in range(60):
            if at.get("plotly_chart"):
                break
            time.sleep(0.5)
            at.run(timeout=10)
    assert not at.exception, at.exception
    return at


def test_the_page_offers_the_bundled_models():
    at = open_page()
    options = at.selectbox(key="att_model").options
    assert any("SmolLM2" in o for o in options) and any("MiniLM" in o for o in options)


def test_minilm_heatmaps_tabs_and_bad_input():
    at = load_minilm(open_page())
    charts = at.get("plotly_chart")
    assert len(charts) >= 4  # head, grid, mean, rollout, from-token, bank similarity
    assert "tokens" in at.caption[1].value or any("tokens ·" in c.value for c in at.caption)
    at.toggle(key="att_merge").set_value(True).run()
    assert not at.exception
    at.slider(key="att_layer").set_value(0).run()
    assert not at.exception
    assert any("Next-token guesses need a causal" in i.value for i in at.info)
    at.text_area(key="att_text").set_value("   ").run()
    assert at.error and not at.exception


def test_contextual_bank_with_a_missing_word_is_explained():
    at = load_minilm(open_page())
    at.text_input(key="ctx_word").set_value("zebra").run()
    assert any("zebra" in e.value for e in at.error) and not at.exception

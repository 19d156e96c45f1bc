"""The sampling form keeps its settings, and its caption tells the truth, even if widget state is lost."""

from streamlit.testing.v1 import AppTest


def form_script():
    import streamlit as st

    from ui.generation_form import settings_form

    if st.session_state.get("away"):  # a run without the form: Streamlit drops the state of its widgets
        st.write("elsewhere")
    else:
        config = settings_form("g", chat_available=False, chat_default=False)
        st.write(f"used: T {config.temperature} top-p {config.top_p}")


def used(at):
    return next(m.value for m in at.markdown if m.value.startswith("used:"))


def test_starts_from_balanced_and_says_nothing_changed():
    at = AppTest.from_function(form_script).run()
    assert used(at) == "used: T 0.7 top-p 0.9"
    assert not any("Changed from the preset" in c.value for c in at.caption)


def test_lost_widget_state_comes_back_and_the_caption_stays_true():
    at = AppTest.from_function(form_script).run()
    at.slider(key="g_temperature").set_value(1.3).run()
    assert any("Changed from the preset" in c.value and "T 1.3" in c.value for c in at.caption)
    at.session_state["away"] = True
    at.run()
    at.session_state["away"] = False
    at.run()
    assert used(at) == "used: T 1.3 top-p 0.9"
    assert any("T 1.3" in c.value for c in at.caption)
    assert not any("0.05" in c.value for c in at.caption)

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture
def app():
    """The whole app (navigation + sidebar) on a fresh workspace, at the Corpus page."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("views/corpus.py").run()
    assert not at.exception
    return at


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def upload(at, *files):
    at.file_uploader(key="uploads").set_value(list(files)).run()
    assert not at.exception
    return at


def open_page(page: str) -> AppTest:
    """The whole app on a fresh session, switched to ``page`` (e.g. "views/generate.py")."""
    at = AppTest.from_file(str(APP), default_timeout=180).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def wait_until(at: AppTest, done, rounds: int = 400) -> AppTest:
    """Rerun until ``done(at)``: AppTest runs no fragment timers, so job panels only move on reruns."""
    for _ in range(rounds):
        if done(at):
            break
        time.sleep(0.5)
        at.run(timeout=30)
    assert not at.exception, at.exception
    assert done(at), [e.value for e in at.error]
    return at

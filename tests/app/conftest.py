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

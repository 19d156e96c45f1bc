import pytest


@pytest.fixture(autouse=True)
def _workspace_home(tmp_path, monkeypatch):
    """Every test gets its own workspace, so none can see another's artifacts or the user's."""
    monkeypatch.setenv("CORPUS_LAB_HOME", str(tmp_path / "workspace"))
    return tmp_path / "workspace"

import pytest

from core.device import share_cpu_politely

# Two pytest workers, a server and Chromium share 2 cores: torch's OpenMP threads must sleep, not spin,
# while they wait for each other (as in the app). Spinning, a ~2 s tiny-GPT-2 fixture took 37-41 s
# beside the browser tests.
share_cpu_politely()


@pytest.fixture(autouse=True)
def _workspace_home(tmp_path, monkeypatch):
    """Every test gets its own workspace, so none can see another's artifacts or the user's.

    The model pickers offer the tiny random models too (``CORPUS_LAB_TINY_MODELS``), so page
    tests pick them where a real model's output is not the point. The shared models folder
    (``CORPUS_LAB_MODELS``) is deliberately left alone: SmolLM2 is converted there once per
    machine, not once per test workspace.
    """
    monkeypatch.setenv("CORPUS_LAB_HOME", str(tmp_path / "workspace"))
    monkeypatch.setenv("CORPUS_LAB_TINY_MODELS", "1")
    return tmp_path / "workspace"

import pickle
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.corpus.store import ingest_sample
from core.embeddings.config import EmbeddingConfig
from core.embeddings.store import KIND
from core.embeddings.train import train_vectors
from core.preprocess import PipelineConfig
from core.tokens import build_tokens
from core.workspace import Workspace
from tests.app.conftest import wait_until

APP = Path(__file__).resolve().parents[2] / "app.py"


def lee_tokens() -> tuple[Workspace, str]:
    ws = Workspace.from_env()
    corpus = ingest_sample(ws, "lee")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    ws.set_state("active_corpus", corpus.id)
    ws.set_state("active_tokens", tokens.id)
    return ws, tokens.id


def open_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("views/embeddings.py").run()
    assert not at.exception
    return at


def errors(at) -> str:
    return " ".join(e.value for e in at.error)


def test_without_tokens_the_page_points_to_preprocess():
    at = open_page()
    assert "Preprocess page" in at.info[0].value
    at.session_state["emb_tabs"] = "Leaderboard"
    at.run()
    assert any("No models yet" in i.value for i in at.info)


def test_train_then_query_a_neighbour():
    ws, _ = lee_tokens()
    at = open_page()
    at.radio(key="emb_choice").set_value("Skip-gram").run()
    at.number_input(key="emb_epochs").set_value(3).run()
    at.number_input(key="emb_vector_size").set_value(32).run()
    at.button(key="emb_train").click().run()
    wait_until(at, lambda a: ws.list(KIND) and "emb_job" not in a.session_state)
    at.run()
    assert len(ws.list(KIND)) == 1
    m = ws.list(KIND)[0]
    assert m.config["sg"] is True and m.config["vector_size"] == 32
    assert ws.get_state("active_vectors") == m.id
    at.session_state["emb_tabs"] = "Query"  # only the open tab's body runs
    at.run()
    at.text_input(key="q_word").set_value("police").run()
    table = next(d.value for d in at.dataframe if "neighbour" in d.value.columns)
    assert len(table) == 10 and "police" not in set(table["neighbour"])
    at.text_input(key="q_word").set_value("zzzunknownzzz").run()
    assert "not in the vocabulary" in errors(at)


def test_leaderboard_compare_and_unknown_words():
    ws, tid = lee_tokens()
    for sg in (False, True):
        train_vectors(ws, tid, EmbeddingConfig(sg=sg, vector_size=24, epochs=2))
    at = open_page()
    at.session_state["emb_tabs"] = "Leaderboard"
    at.run()
    board = next(d.value for d in at.dataframe if "WordSim-353 ρ" in d.value.columns)
    assert len(board) == 2
    assert not any("overlap" in m.label for m in at.metric)  # a closed tab's body does not run
    at.session_state["emb_tabs"] = "Compare"
    at.run()
    assert any("overlap" in m.label for m in at.metric)
    assert not at.exception
    at.session_state["emb_tabs"] = "Query"
    at.run()
    at.text_input(key="q_odd").set_value("breakfast, qqq, zzz").run()
    assert "unknown" in errors(at).lower() or "not in the vocabulary" in errors(at)


def test_a_pickle_upload_is_refused_and_models_survive(tmp_path):
    ws, tid = lee_tokens()
    train_vectors(ws, tid, EmbeddingConfig(vector_size=16, epochs=1))
    at = open_page()
    at.session_state["emb_tabs"] = "Import & export"
    at.run()
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    at.file_uploader(key="vec_upload").set_value(("model.pkl", pickle.dumps(Evil()), "application/octet-stream")).run()
    at.button(key="vec_import").click().run()
    for _ in range(20):
        if at.error:
            break
        at.run(timeout=5)
    assert "pickle" in errors(at).lower()
    assert not marker.exists()
    assert len(ws.list(KIND)) == 1 and not at.exception


@pytest.mark.parametrize("fmt", ["word2vec-text", "glove-text"])
def test_import_a_text_vector_file(fmt):
    ws = Workspace.from_env()
    header = "3 2\n" if fmt == "word2vec-text" else ""
    data = (header + "alpha 0.1 0.2\nbeta 0.3 0.1\ngamma -0.2 0.5\n").encode()
    at = open_page()
    at.session_state["emb_tabs"] = "Import & export"
    at.run()
    at.file_uploader(key="vec_upload").set_value(("tiny.txt", data, "text/plain")).run()
    at.button(key="vec_import").click().run()
    for _ in range(20):
        if ws.list(KIND):
            break
        at.run(timeout=5)
    at.run()
    assert not at.exception and not at.error
    assert ws.list(KIND)[0].metrics["words"] == 3
    at.session_state["emb_tabs"] = "Query"
    at.run()
    assert at.text_input(key="q_word").value == "alpha"


def test_own_benchmark_file_and_delete():
    ws, tid = lee_tokens()
    train_vectors(ws, tid, EmbeddingConfig(vector_size=16, epochs=1))
    at = open_page()
    at.session_state["emb_tabs"] = "Leaderboard"
    at.run()
    at.file_uploader(key="emb_bench_file").set_value(("mine.txt", b": people\nman woman king\n", "text/plain")).run()
    assert "line 2" in errors(at) and not at.exception
    good = b": capitals\nathens greece baghdad iraq\nfrance paris italy rome\n"
    at.file_uploader(key="emb_bench_file").set_value(("mine.txt", good, "text/plain")).run()
    accuracy = next(m for m in at.metric if m.label == "Accuracy")
    assert accuracy.value == "—" or accuracy.value.endswith("%")
    at.radio(key="emb_bench_kind").set_value("word pairs").run()
    at.file_uploader(key="emb_bench_file").set_value(("pairs.tsv", b"police\tofficers\t8.0\ngovernment\tminister\t7.5\n"
                                                      b"police\tbanana\t0.5\ncar\tofficers\t2.0\n", "text/plain")).run()
    assert any(m.label == "Spearman ρ" for m in at.metric) and not at.exception
    at.checkbox(key="emb_confirm_delete").check().run()
    at.button(key="emb_delete").click().run()
    assert ws.list(KIND) == [] and not at.exception
    at.run()
    assert any("No models yet" in i.value for i in at.info)


def test_form_starts_from_size_aware_settings_and_says_why():
    lee_tokens()
    at = open_page()
    assert at.number_input(key="emb_epochs").value == 30
    assert any("auto: 30 epochs, min count 5 for 60,005 tokens" in c.value for c in at.caption)
    at.radio(key="emb_choice").set_value("Skip-gram").run()
    assert at.number_input(key="emb_epochs").value == 20
    at.number_input(key="emb_epochs").set_value(7).run()
    assert any("Changed from the automatic settings" in c.value for c in at.caption)
    at.button(key="emb_reset_auto").click().run()
    assert at.number_input(key="emb_epochs").value == 20


def test_a_collapsed_model_says_so_and_one_click_trains_it_again():
    ws, tid = lee_tokens()
    collapsed = train_vectors(ws, tid, EmbeddingConfig(epochs=5))
    ws.set_state("active_vectors", collapsed.id)
    at = open_page()
    assert any("Collapsed vectors" in e.value for e in at.error)
    at.session_state["emb_tabs"] = "Leaderboard"
    at.run()
    board = next(d.value for d in at.dataframe if "WordSim-353 ρ" in d.value.columns)
    assert "collapsed" in board["verdict"].iloc[0]
    at.session_state["emb_tabs"] = "Query"
    at.run()
    at.button(key="emb_query_verdict_fix").click().run()  # the fix from the Query tab opens the Train tab
    wait_until(at, lambda a: len(ws.list(KIND)) == 2 and "emb_job" not in a.session_state)
    retrained = next(m for m in ws.list(KIND) if m.id != collapsed.id)
    assert retrained.config["epochs"] == 30 and retrained.metrics["quality"]["verdict"] == "good"
    assert ws.get_state("active_vectors") == retrained.id
    assert any("Good vectors" in s.value for s in at.success)

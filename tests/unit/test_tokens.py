import re

import pytest

from core.corpus.readers import ReadOptions, Source
from core.corpus.store import ingest_sample, ingest_sources
from core.errors import UserError
from core.preprocess import PipelineConfig
from core.tokens import KIND, build_tokens, load_report, sentences_path, tokens_id
from core.workspace import Workspace

TEXT = ("The cats were running. A cat runs! The runner ran to New York. "
        "New York is big. New York sleeps. They ate in New York. New York again.")


@pytest.fixture
def corpus(tmp_path):
    ws = Workspace(tmp_path)
    return ws, ingest_sources(ws, [Source("t.txt", TEXT.encode())], ReadOptions(), name="t").id


def test_tokens_artifact_sentences_and_report(corpus):
    ws, cid = corpus
    config = PipelineConfig(stopwords="default", normalise="porter")
    m = build_tokens(ws, cid, config)
    assert m.parents == [cid] and m.id == tokens_id(cid, config)
    lines = sentences_path(ws, m.id).read_text().splitlines()
    assert lines[0] == "cat run" and lines[1] == "cat run"
    report = load_report(ws, m.id)
    s = report["summary"]
    assert s["tokens_before"] == 35 and s["sentences"] == 7
    assert report["removed"]["punctuation"] == 7
    assert report["removed"]["stopword"] == s["tokens_before"] - 7 - s["tokens_after"]
    run = next(r for r in report["merges"] if r["form"] == "run")
    assert run["variants"] == [["running", 1], ["runs", 1]]
    assert run["example"] == "The cats were running."


def test_case_merges_show_what_each_spelling_became(tmp_path):
    ws = Workspace(tmp_path)
    text = b"The US said it. Us? The us of us. Apple sells apple pie. APPLE!"
    cid = ingest_sources(ws, [Source("t.txt", text)], ReadOptions(), name="t").id
    report = load_report(ws, build_tokens(ws, cid, PipelineConfig(case="smart", stopwords="default")).id)
    merges = {r["word"]: r["variants"] for r in report["case_merges"]}
    assert merges["us"] == [["us", 2, None], ["US", 1, "US"], ["Us", 1, None]]
    assert merges["apple"] == [["Apple", 1, "apple"], ["apple", 1, "apple"], ["APPLE", 1, "APPLE"]]


def test_same_pipeline_never_runs_twice_and_ids_depend_on_config(corpus):
    ws, cid = corpus
    first = build_tokens(ws, cid, PipelineConfig())
    assert build_tokens(ws, cid, PipelineConfig()) == first
    assert tokens_id(cid, PipelineConfig(case="keep")) != first.id
    assert len(ws.list(KIND)) == 1


def test_min_count_drops_rare_words(corpus):
    ws, cid = corpus
    m = build_tokens(ws, cid, PipelineConfig(min_count=2))
    words = sentences_path(ws, m.id).read_text().split()
    assert "sleeps" not in words and "york" in words
    assert load_report(ws, m.id)["removed"]["rare"] == 16  # the 16 words seen once


def test_phrases_on_the_lee_corpus_find_bigrams_and_trigrams(tmp_path):
    ws = Workspace(tmp_path)
    cid = ingest_sample(ws, "lee").id
    m = build_tokens(ws, cid, PipelineConfig(phrases=2))
    words = set(sentences_path(ws, m.id).read_text().split())
    assert {"united_states", "al_qaeda", "new_south_wales"} <= words
    report = load_report(ws, m.id)  # listed, with counts, not only when they reach the top-20 chart
    listed = dict(report["phrases"])
    assert listed["new_south_wales"] >= 30 and report["phrase_types"] == len(listed) > 100
    assert all("_" in p for p in listed)


def test_the_lemmatize_preset_keeps_names_and_says_which(tmp_path):
    ws = Workspace(tmp_path)
    cid = ingest_sample(ws, "lee").id
    lemmas = PipelineConfig(case="smart", stopwords="default", normalise="wordnet", pos="auto", phrases=2)
    m = build_tokens(ws, cid, lemmas)
    words = set(sentences_path(ws, m.id).read_text().split())
    assert {"united_states", "bin_laden", "new_south_wales"} <= words
    assert not {"unite_state", "bin_lade", "new_south_wale"} & words
    names = {name: became for name, _, became in load_report(ws, m.id)["names"]}
    assert names["Wales"] == "wale" and names["Laden"] == "lade"  # what the rule prevented, shown
    old = build_tokens(ws, cid, PipelineConfig(**{**lemmas.__dict__, "names": "normalise"}))
    assert "unite_state" in set(sentences_path(ws, old.id).read_text().split())  # the user can ask for it


def test_phrases_on_a_tiny_corpus_just_find_none(tmp_path):
    ws = Workspace(tmp_path)
    cid = ingest_sources(ws, [Source("t.txt", b"one two three")], ReadOptions(), name="t").id
    m = build_tokens(ws, cid, PipelineConfig(phrases=2))
    assert sentences_path(ws, m.id).read_text() == "one two three\n"


def test_everything_filtered_is_a_clear_error_and_leaves_no_artifact(corpus):
    ws, cid = corpus
    config = PipelineConfig(extra_stopwords=tuple(re.findall(r"\w+", TEXT)))
    with pytest.raises(UserError, match="Every token was filtered out"):
        build_tokens(ws, cid, config)
    assert ws.list(KIND) == []


def test_lee_corpus_with_the_articles_preset(tmp_path):
    ws = Workspace(tmp_path)
    cid = ingest_sample(ws, "lee").id
    m = build_tokens(ws, cid, PipelineConfig(stopwords="default", normalise="porter"))
    s = m.metrics
    assert s["types_after"] < s["types_before"] and s["tokens_after"] < s["tokens_before"]
    assert s["sentences"] > 2000


def test_cancel_leaves_no_tokens_artifact(tmp_path):
    import threading

    from core.jobs import CANCELLED, JobRegistry

    ws = Workspace(tmp_path)
    cid = ingest_sample(ws, "wikipedia").id
    started = threading.Event()

    class Ctx:  # wraps the real context so the test knows when the first pass is under way
        def __init__(self, ctx):
            self.ctx = ctx

        def progress(self, fraction, message=None):
            started.set()
            self.ctx.progress(fraction, message)

        def check_cancelled(self):
            self.ctx.check_cancelled()

    job = JobRegistry().submit("tokens", lambda ctx: build_tokens(ws, cid, PipelineConfig(), ctx=Ctx(ctx)),
                               kind="tokens")
    assert started.wait(30)
    job.cancel()
    assert job.wait(30) and job.status == CANCELLED
    assert ws.list(KIND) == []
    assert list((tmp_path / ".tmp").iterdir()) == []

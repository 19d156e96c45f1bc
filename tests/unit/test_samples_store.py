import pytest

from core.corpus.readers import ReadOptions, Source
from core.corpus.samples import SAMPLES, load_sample
from core.corpus.store import KIND, ingest_sample, ingest_sources, jsonl_path, load_documents, load_stats, upload_id
from core.errors import UserError
from core.workspace import Workspace


@pytest.mark.parametrize(("key", "documents"), [("lee", 300), ("polarity", 200)])
def test_small_samples(key, documents):
    corpus = load_sample(key)
    assert len(corpus) == documents
    assert corpus.name == SAMPLES[key].title


def test_polarity_keeps_labels_and_decodes_its_dashes():
    corpus = load_sample("polarity")
    assert corpus.labels == ["neg", "pos"]
    assert sum(d.label == "pos" for d in corpus.documents) == 100
    assert any("—" in d.text for d in corpus.documents)  # cp1252 0x97, not a control character


def test_wikipedia_sample_is_plain_text_without_redirects():
    corpus = load_sample("wikipedia")
    assert len(corpus) > 100
    assert not any(d.text.upper().startswith("#REDIRECT") for d in corpus.documents)
    assert not any("'''" in d.text for d in corpus.documents)
    assert any("Anarchism" in d.source for d in corpus.documents)


def test_unknown_sample():
    with pytest.raises(UserError, match="no sample"):
        load_sample("nope")


def test_ingest_round_trip_and_no_double_work(tmp_path):
    ws = Workspace(tmp_path)
    sources = [Source("a.csv", b"text,label\nthe river bank,geo\nthe bank loan,money\n")]
    options = ReadOptions(text_field="text", label_field="label")
    m = ingest_sources(ws, sources, options, name="banks")
    assert m.id == upload_id(sources, options)
    assert m.metrics["documents"] == 2 and m.metrics["tokens"] == 6
    docs = load_documents(ws, m.id)
    assert [(d.text, d.label) for d in docs] == [("the river bank", "geo"), ("the bank loan", "money")]
    stats = load_stats(ws, m.id)
    assert stats["top_words"][:2] == [("the", 2), ("bank", 2)]
    assert stats["labels"] == ["geo", "money"]
    assert list(stats["doc_lengths"]) == [3, 3]
    assert jsonl_path(ws, m.id).read_text().count("\n") == 2
    again = ingest_sources(ws, sources, options, name="other name")
    assert again == m  # same content: the artifact is reused, not rebuilt
    assert ingest_sources(ws, sources, ReadOptions(text_field="text"), name="x").id != m.id


def test_ingest_sample_then_reload_after_restart(tmp_path):
    m = ingest_sample(Workspace(tmp_path), "lee")
    restarted = Workspace(tmp_path)
    assert [x.id for x in restarted.list(KIND)] == [m.id]
    assert len(load_documents(restarted, m.id)) == 300

"""A Chinese upload on the Corpus page: counted in jieba words, with the Chinese stopword list."""

import json

import pytest

from core.corpus.readers import ReadOptions, Source
from core.corpus.store import KIND, ingest_sources
from core.stats import compute_stats
from core.workspace import Workspace
from tests.app.conftest import metric, open_page, upload, wait_until
from tests.unit.test_stats_chinese import ARTICLE, PARAGRAPHS


def bar_words(at) -> list[str]:
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return [str(w) for w in spec["data"][0]["y"]][::-1]  # drawn bottom-up: most frequent last


def test_chinese_upload_counts_words_and_finds_them(app):
    upload(app, ("模型.txt", ARTICLE.encode("gbk"), "text/plain"))
    app.radio(key="upload_split").set_value("paragraph")
    app.button(key="load_upload").click().run()
    wait_until(app, lambda at: at.success)  # jieba's first load can outlast the job's 3 s grace on a busy machine
    assert app.success[0].value == "Loaded 模型: 6 documents."
    assert metric(app, "Tokens") == f"{compute_stats(PARAGRAPHS).summary['tokens']:,}"  # words, not 544 characters
    captions = [c.value for c in app.caption]
    assert "Language: Chinese (detected) · counted in words cut by jieba." in captions
    assert any(c.startswith("Stopwords: Chinese (stop-words package") for c in captions)

    top = bar_words(app)
    assert top[:2] == ["模型", "词语"]
    assert "的" not in top and "型" not in top
    app.toggle(key="drop_stopwords").set_value(False).run()
    assert "的" in bar_words(app)  # the stopword list is what removed it

    app.session_state["corpus_tabs"] = "Concordance"
    app.run()
    app.text_input(key="kwic_query").input("模型").run()
    hits = next(d.value for d in app.dataframe if "match" in d.value)
    assert len(hits) >= 10 and set(hits["match"]) == {"模型"}
    assert any("whole words as jieba cuts them" in c.value for c in app.caption)
    app.text_input(key="kwic_query").input("型").run()
    assert any(c.value.startswith("0 occurrences") for c in app.caption)


@pytest.mark.parametrize(("text", "recounted"), [(ARTICLE, True), ("The cat sat on the mat.\n\nThe dog ran.", False)])
def test_a_corpus_saved_before_languages_is_counted_again_when_not_english(_workspace_home, text, recounted):
    ws = Workspace(_workspace_home)
    cid = ingest_sources(ws, [Source("old.txt", text.encode())], ReadOptions(split="paragraph"), name="old").id
    stats_file = ws.path(KIND, cid) / "stats.json"
    old = json.loads(stats_file.read_text(encoding="utf-8"))
    for key in ("language", "stopwords"):
        del old["summary"][key]
    old["summary"]["tokens"] = 9999  # stands for the per-character count such a corpus was saved with
    stats_file.write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    ws.set_state("active_corpus", cid)

    at = open_page("views/corpus.py")
    expected = compute_stats(PARAGRAPHS).summary["tokens"] if recounted else 9999
    assert metric(at, "Tokens") == f"{expected:,}"
    language = "Chinese" if recounted else "English"
    assert any(c.value.startswith(f"Language: {language} (detected)") for c in at.caption)

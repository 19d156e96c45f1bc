import pytest

from core.errors import UserError
from core.preprocess import PRESETS, Pipeline, PipelineConfig, detect_language, stopword_source

ARTICLE_WORDS = ["running", "runs", "ran", "runner", "cats", "cat", "ate", "flying", "better"]


def outputs(config: PipelineConfig, words: list[str]) -> list[str | None]:
    pipe = Pipeline(config)
    return [pipe.map(w).output for w in words]


def test_the_articles_stemmer_and_lemmatizer_outputs():
    porter = outputs(PipelineConfig(normalise="porter"), ARTICLE_WORDS)
    assert porter[:6] == ["run", "run", "ran", "runner", "cat", "cat"]
    noun = outputs(PipelineConfig(normalise="wordnet", pos="n"), ARTICLE_WORDS)
    assert [noun[i] for i in (0, 4, 6, 7, 8)] == ["running", "cat", "ate", "flying", "better"]
    verb = outputs(PipelineConfig(normalise="wordnet", pos="v"), ["running", "ate", "flying"])
    assert verb == ["run", "eat", "fly"]
    assert outputs(PipelineConfig(normalise="wordnet", pos="a"), ["better"]) == ["good"]
    auto = outputs(PipelineConfig(normalise="wordnet", pos="auto"), ARTICLE_WORDS)
    assert auto == ["run", "run", "run", "runner", "cat", "cat", "eat", "fly", "good"]


def test_other_stemmers_and_simplemma():
    assert outputs(PipelineConfig(normalise="snowball"), ["running", "generously"]) == ["run", "generous"]
    assert outputs(PipelineConfig(normalise="lancaster"), ["maximum"]) == ["maxim"]
    german = PipelineConfig(language="german", normalise="simplemma")
    assert outputs(german, ["Häuser", "ging"]) == ["haus", "gehen"]
    assert outputs(PipelineConfig(language="german", normalise="snowball"), ["häuser"]) == ["haus"]


@pytest.mark.parametrize(
    ("case", "expected"),
    [("keep", ["US", "Us", "us", "The"]), ("lower", ["us", "us", "us", "the"]), ("smart", ["US", "us", "us", "the"])],
)
def test_case_modes(case, expected):
    assert outputs(PipelineConfig(case=case), ["US", "Us", "us", "The"]) == expected


def test_smart_case_keeps_the_acronym_out_of_the_stopword_list():
    smart = Pipeline(PipelineConfig(case="smart", stopwords="default"))
    assert smart.process("The US told us.") == [["US", "told"]]


@pytest.mark.parametrize(
    ("tokenizer", "expected"),
    [
        ("regex", ["Don't", "stop", "-", "it's", "co-op", "."]),
        ("treebank", ["Do", "n't", "stop", "--", "it", "'s", "co-op", "."]),
        ("wordpunct", ["Don", "'", "t", "stop", "--", "it", "'", "s", "co", "-", "op", "."]),
        ("whitespace", ["Don't", "stop", "--", "it's", "co-op."]),
    ],
)
def test_tokenizers(tokenizer, expected):
    pipe = Pipeline(PipelineConfig(tokenizer=tokenizer))
    tokens = pipe.tokenize("Don't stop -- it's co-op.")
    assert [t for t in tokens if t not in "-"] == [t for t in expected if t not in "-"]


def test_urls_emails_emoji_and_numbers_are_handled_deliberately():
    text = "Mail me@example.com or see https://x.org/a?b=1 — 42 cats 😀 in 2024!"
    placeholder = PipelineConfig(urls="placeholder", emails="placeholder", emoji="placeholder",
                                 numbers="placeholder")
    assert Pipeline(placeholder).process(text) == [
        ["mail", "__email__", "or", "see", "__url__", "__num__", "cats", "__emoji__", "in", "__num__"]]
    drop = PipelineConfig(urls="drop", emails="drop", emoji="drop", numbers="drop")
    assert Pipeline(drop).process(text) == [["mail", "or", "see", "cats", "in"]]
    keep = PipelineConfig(urls="keep", emails="keep", emoji="keep", numbers="keep", tokenizer="whitespace",
                          drop_punctuation=False)
    assert "https://x.org/a?b=1" in Pipeline(keep).process(text)[0]


def test_filters_stopwords_custom_lists_length():
    config = PipelineConfig(stopwords="default", extra_stopwords=("river",), keep_words=("not",),
                            min_length=3, max_length=6)
    assert Pipeline(config).process("It is not the river bank of a riverbanks.") == [["not", "bank"]]
    assert "not" not in Pipeline(config).stopwords and "river" in Pipeline(config).stopwords
    assert stopword_source("english", "default") == "scikit-learn's English list (318 words)"
    assert stopword_source("german", "default") == "the stop-words package's german list"
    assert "und" in Pipeline(PipelineConfig(language="german", stopwords="default")).stopwords


def test_sentences_rules_punkt_and_none():
    text = "Mr. Smith went to Washington. He saw the U.S. Capitol! Then?\n\nA new paragraph"
    rules = Pipeline(PipelineConfig(sentences="rules")).split_sentences(text)
    assert rules[0] == "Mr. Smith went to Washington." and rules[-1] == "A new paragraph"
    punkt = Pipeline(PipelineConfig(sentences="punkt")).split_sentences(text)
    assert len(punkt) >= 3 and punkt[-1] == "A new paragraph"
    assert Pipeline(PipelineConfig(sentences="none")).split_sentences(text) == [text]


def test_chinese_segmentation_mixed_scripts_and_emoji():
    pipe = Pipeline(PRESETS["Chinese (jieba)"])
    sentences = pipe.process("我们喜欢自然语言处理。Word2Vec 把每个词表示成向量！😀")
    assert sentences[0] == ["我们", "喜欢", "自然语言", "处理"]
    assert sentences[1][0] == "word2vec" and "向量" in sentences[1] and "把" not in sentences[1]  # a stopword
    assert detect_language(["我们喜欢自然语言处理和词向量"]) == "chinese"
    assert detect_language(["Der Hund und die Katze sind im Haus und schlafen."]) == "german"
    assert detect_language(["The dog and the cat are in the house."]) == "english"


def test_a_giant_token_is_dropped_by_length_not_a_crash():
    assert Pipeline(PipelineConfig()).process("x" * 1_000_000 + " real words") == [["real", "words"]]


def test_each_type_is_normalised_once():
    pipe = Pipeline(PipelineConfig(normalise="porter"))
    calls = []
    stem = pipe._normalise
    pipe.__dict__["_normalise"] = lambda w: calls.append(w) or stem(w)
    pipe.process("running runs running running runs")
    assert sorted(calls) == ["running", "runs"]


def test_trace_says_which_step_decided():
    pipe = Pipeline(PipelineConfig(stopwords="default", normalise="porter"))
    [[the, cats, dot]] = pipe.trace("The cats.")
    assert (the.output, the.step) == (None, "stopword")
    assert (cats.output, cats.step) == ("cat", "normalised")
    assert (dot.output, dot.step) == (None, "punctuation")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (PipelineConfig(case="upper"), "case = 'upper' is not an option"),
        (PipelineConfig(min_length=5, max_length=2), "1 ≤ min"),
        (PipelineConfig(language="german", normalise="wordnet"), "English only"),
        (PipelineConfig(phrases=3), "Phrases"),
    ],
)
def test_bad_configs_are_explained(config, message):
    with pytest.raises(UserError, match=message):
        Pipeline(config)


def test_config_round_trips_through_json_dicts():
    config = PipelineConfig(extra_stopwords=("a", "b"), normalise="porter")
    assert PipelineConfig.from_dict(config.to_dict()) == config


def test_missing_wordnet_is_explained_and_stemmers_still_work():
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    script = textwrap.dedent("""
        import nltk
        nltk.data.path[:] = ["/nonexistent"]  # as on a machine where WordNet was never installed
        from core.errors import UserError
        from core.preprocess import Pipeline, PipelineConfig, compare_normalisers
        try:
            Pipeline(PipelineConfig(normalise="wordnet")).process("cats")
        except UserError as exc:
            print("ERROR:", exc)
        rows = compare_normalisers(["running"])
        print(sorted(rows[0]))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, text=True, timeout=120).stdout
    assert "ERROR: WordNet is not installed" in out and "stemming works meanwhile" in out
    assert "['Lancaster', 'Porter', 'Snowball', 'word']" in out

from collections.abc import Sequence

import pytest

from core import preprocess
from core.errors import UserError
from core.preprocess import PRESETS, Pipeline, PipelineConfig, corpus_language, detect_language, stopword_source

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
    pipe = Pipeline(PRESETS["chinese"])
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


def test_capitalised_words_inside_a_sentence_are_names_and_stay_unstemmed():
    pipe = Pipeline(PRESETS["wordnet"])
    text = "Sayed said Mrs Jones was running to Wales. Later Sayed left."
    traces = {t.token: t for sentence in pipe.trace(text) for t in sentence}
    assert traces["Wales"].output == "wales" and traces["Wales"].step == "name"
    assert traces["Sayed"].output == "sayed"  # opens a sentence, but the text also has it inside one
    assert traces["running"].output == "run" and traces["Later"].output == "late"  # ordinary words still are
    assert pipe.process(text)[0][:2] == ["sayed", "say"]
    stem_all = Pipeline(PipelineConfig(**{**PRESETS["wordnet"].__dict__, "names": "normalise"}))
    assert "wale" in stem_all.process(text)[0]
    assert PipelineConfig.from_dict({"normalise": "porter"}).names == "normalise"  # saved before the rule


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


# The same news sentence in each language the pipeline offers (Chinese is told by its script).
SENTENCES = {
    "english": "The government said on Tuesday that it would not change its plans for the new tax, although many "
               "people had asked for it.",
    "german": "Die Regierung hat am Dienstag erklärt, dass sie ihre Pläne für die neue Steuer nicht ändern werde, "
              "obwohl viele Menschen darum gebeten hatten.",
    "french": "Le gouvernement a déclaré mardi qu'il ne changerait pas ses projets pour le nouvel impôt, bien que "
              "beaucoup de gens l'aient demandé.",
    "spanish": "El gobierno dijo el martes que no cambiaría sus planes para el nuevo impuesto, aunque muchas "
               "personas lo habían pedido.",
    "italian": "Il governo ha detto martedì che non cambierà i suoi piani per la nuova tassa, anche se molte persone "
               "lo avevano chiesto.",
    "portuguese": "O governo disse na terça-feira que não vai mudar os seus planos para o novo imposto, embora muitas "
                  "pessoas o tenham pedido.",
    "dutch": "De regering zei dinsdag dat ze haar plannen voor de nieuwe belasting niet zal veranderen, hoewel veel "
             "mensen daarom hadden gevraagd.",
    "swedish": "Regeringen sade på tisdagen att den inte kommer att ändra sina planer för den nya skatten, även om "
               "många människor hade bett om det.",
    "danish": "Regeringen sagde tirsdag, at den ikke vil ændre sine planer for den nye skat, selv om mange mennesker "
              "havde bedt om det.",
    "norwegian": "Regjeringen sa tirsdag at den ikke vil endre sine planer for den nye skatten, selv om mange "
                 "mennesker hadde bedt om det.",
    "finnish": "Hallitus sanoi tiistaina, että se ei aio muuttaa uutta veroa koskevia suunnitelmiaan, vaikka monet "
               "ihmiset olivat sitä pyytäneet.",
    "hungarian": "A kormány kedden azt mondta, hogy nem változtat az új adóra vonatkozó tervein, bár sok ember "
                 "kérte ezt.",
    "romanian": "Guvernul a declarat marți că nu își va schimba planurile pentru noua taxă, deși mulți oameni au "
                "cerut acest lucru.",
    "russian": "Правительство заявило во вторник, что не будет менять свои планы по новому налогу, хотя многие "
               "люди об этом просили.",
    "chinese": "政府星期二表示，虽然很多人提出了要求，但它不会改变新税的计划。",
}


@pytest.mark.parametrize("language", list(SENTENCES))
def test_language_detection_for_every_offered_language(language):
    assert set(SENTENCES) == set(preprocess.LANGUAGES)
    assert detect_language([SENTENCES[language]]) == language


def test_nothing_to_go_on_means_english():
    assert detect_language([]) == "english"
    assert detect_language(["   ", "12 345 678"]) == "english"


class CountingTexts(Sequence):
    """A corpus of ``n`` huge documents that counts which ones were read."""

    def __init__(self, n: int, text: str):
        self.n, self.text, self.read = n, text, []

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        self.read.append(i)
        return self.text


def test_detection_reads_a_bounded_sample_spread_over_the_corpus():
    corpus = CountingTexts(1_000_000, SENTENCES["german"] * 20_000)  # a million 2.7 MB documents
    assert len(preprocess.language_sample(corpus)) <= preprocess.SAMPLE_DOCUMENTS * (preprocess.SAMPLE_CHARS + 1)
    corpus.read.clear()
    assert detect_language(corpus) == "german"
    assert len(corpus.read) == preprocess.SAMPLE_DOCUMENTS
    assert corpus.read[0] == 0 and corpus.read[-1] > 900_000  # not just the first documents


def test_detection_is_cached_per_corpus():
    english, german = CountingTexts(50, SENTENCES["english"]), CountingTexts(50, SENTENCES["german"])
    assert corpus_language("corpus-en", english) == "english"
    reads = len(english.read)
    assert corpus_language("corpus-en", english) == "english"
    assert len(english.read) == reads  # the second call did not read the corpus again
    assert corpus_language("corpus-de", german) == "german"  # another corpus is detected on its own

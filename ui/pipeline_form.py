"""The pipeline builder: grouped widgets → a PipelineConfig, with presets."""

from __future__ import annotations

import streamlit as st

from core.preprocess import (
    CASES,
    LANGUAGES,
    NAMES,
    NORMALISERS,
    POS,
    PRESET_LABELS,
    PRESETS,
    SENTENCES,
    SPECIAL,
    STOPWORDS,
    TOKENIZERS,
    PipelineConfig,
    stopword_source,
)

KEY = "pp_"  # widget keys are KEY + the config field name


def _apply(config: PipelineConfig) -> None:
    for name, value in config.to_dict().items():
        st.session_state[KEY + name] = ", ".join(value) if isinstance(value, list) else value


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.replace("\n", ",").split(",") if w.strip())


def pipeline_form(detected: str | None = None) -> PipelineConfig:
    if KEY + "language" not in st.session_state:
        # Streamlit forgets widget values when the user visits another page: restore the last
        # config this session built (kept under a non-widget key), else the defaults.
        saved = st.session_state.get("pp_config")
        _apply(PipelineConfig.from_dict(saved) if saved else PipelineConfig(language=detected or "english"))
    preset = st.selectbox("Preset", ["(custom)"] + list(PRESETS), key="pp_preset",
                          format_func=lambda p: PRESET_LABELS.get(p, p))
    if st.button("Apply preset", disabled=preset == "(custom)", key="pp_apply"):
        _apply(PRESETS[preset])
        st.rerun()

    with st.expander("Language, sentences and tokens", expanded=True):
        a, b, c = st.columns(3)
        language = a.selectbox("Language", list(LANGUAGES), format_func=str.title, key=KEY + "language",
                               help=f"Detected from the corpus: {detected}." if detected else None)
        sentences = b.selectbox("Sentences", list(SENTENCES), format_func=SENTENCES.get, key=KEY + "sentences")
        tokenizer = c.selectbox("Tokenizer", list(TOKENIZERS), format_func=TOKENIZERS.get, key=KEY + "tokenizer")
        cols = st.columns(4)
        special = {name: cols[i].selectbox(name.title(), list(SPECIAL), format_func=SPECIAL.get, key=KEY + name)
                   for i, name in enumerate(("urls", "emails", "numbers", "emoji"))}
    with st.expander("Case and filters", expanded=True):
        case = st.radio("Case", list(CASES), format_func=CASES.get, horizontal=True, key=KEY + "case")
        a, b = st.columns(2)
        punctuation = a.toggle("Drop punctuation", key=KEY + "drop_punctuation")
        stopwords = b.selectbox("Stopwords", list(STOPWORDS), format_func=STOPWORDS.get, key=KEY + "stopwords")
        extra = a.text_input("Add stopwords (comma-separated)", key=KEY + "extra_stopwords")
        keep = b.text_input("Keep these words (remove from the list)", key=KEY + "keep_words")
        a, b, c = st.columns(3)
        min_length = a.number_input("Min token length", 1, 100, key=KEY + "min_length")
        max_length = b.number_input("Max token length", 1, 1000, key=KEY + "max_length")
        min_count = c.number_input("Min corpus frequency", 1, 1000, key=KEY + "min_count")
    with st.expander("Normalisation and phrases", expanded=True):
        a, b, c = st.columns(3)
        normalise = a.selectbox("Normalise", list(NORMALISERS), format_func=NORMALISERS.get, key=KEY + "normalise")
        pos = b.selectbox("WordNet part of speech", list(POS), format_func=POS.get, key=KEY + "pos",
                          disabled=normalise != "wordnet")
        names = c.selectbox("Names", list(NAMES), format_func=NAMES.get, key=KEY + "names", disabled=normalise == "none",
                            help="A capitalised word inside a sentence is usually a name: a stemmer would make "
                                 "'Wales' wale and 'Laden' lade. The report lists the names kept.")
        a, b, c = st.columns(3)
        phrases = a.selectbox("Phrases", [0, 1, 2], key=KEY + "phrases",
                              format_func=["none", "bigrams (new_york)", "up to trigrams"].__getitem__)
        threshold = b.number_input("Phrase threshold", 0.1, 1000.0, key=KEY + "phrase_threshold")
        phrase_min = c.number_input("Phrase min count", 1, 1000, key=KEY + "phrase_min_count")
    config = PipelineConfig(
        language=language, sentences=sentences, tokenizer=tokenizer, case=case, drop_punctuation=punctuation,
        stopwords=stopwords, extra_stopwords=_words(extra), keep_words=_words(keep), min_length=int(min_length),
        max_length=int(max_length), min_count=int(min_count), normalise=normalise, pos=pos, names=names,
        phrases=int(phrases),
        phrase_threshold=float(threshold), phrase_min_count=int(phrase_min), **special,
    )
    st.session_state["pp_config"] = config.to_dict()
    st.caption(f"Stopwords: {stopword_source(config.language, config.stopwords)}.")
    return config

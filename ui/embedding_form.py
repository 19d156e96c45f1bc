"""The training form: algorithm and hyper-parameters → an EmbeddingConfig."""

from __future__ import annotations

import streamlit as st

from core.embeddings.config import PRESETS, EmbeddingConfig
from core.embeddings.defaults import auto_settings

KEY = "emb_"  # widget keys are KEY + the config field name
ALGORITHMS = {
    "CBOW": "Word2Vec CBOW: predicts a word from the words around it. Fast; good for frequent words.",
    "Skip-gram": "Word2Vec skip-gram: predicts the words around a word. Slower; better for rare words.",
    "FastText": "Skip-gram over character n-grams: gives vectors even to words it never saw.",
    "GloVe": "Global co-occurrence counts, fitted by weighted least squares (our trainer).",
}


def apply_config(config: EmbeddingConfig) -> None:
    """Put ``config`` into the form (call before its widgets are drawn, e.g. from a callback)."""
    for name, value in config.to_dict().items():
        st.session_state[KEY + name] = value
    st.session_state["emb_config"] = config.to_dict()


def _auto(n_tokens: int) -> None:
    apply_config(auto_settings(PRESETS[st.session_state[KEY + "choice"]], n_tokens)[0])


def embedding_form(n_tokens: int, tokens_id: str) -> EmbeddingConfig:
    """The form, starting from settings chosen for ``n_tokens`` (see core.embeddings.defaults)."""
    if KEY + "vector_size" not in st.session_state:
        # Widget values are forgotten when the user visits another page; keep the last config.
        saved = st.session_state.get("emb_config")
        apply_config(EmbeddingConfig.from_dict(saved) if saved else PRESETS["CBOW"])
        st.session_state[KEY + "choice"] = st.session_state.get("emb_choice_saved", "CBOW")
    if st.session_state.get("emb_auto_for") != tokens_id:
        # New tokens (or a first visit): start from what suits their size.
        st.session_state["emb_auto_for"] = tokens_id
        _auto(n_tokens)

    choice = st.radio("Algorithm", list(ALGORITHMS), horizontal=True, key=KEY + "choice", on_change=_auto,
                      args=(n_tokens,))
    st.caption(ALGORITHMS[choice])
    st.session_state["emb_choice_saved"] = choice
    algorithm = PRESETS[choice].algorithm
    a, b, c, d = st.columns(4)
    size = a.number_input("Vector size", 2, 1000, key=KEY + "vector_size")
    window = b.number_input("Window", 1, 50, key=KEY + "window", help="Words on each side that count as context.")
    min_count = c.number_input("Min count", 1, 100_000, key=KEY + "min_count", help="Rarer words get no vector.")
    epochs = d.number_input("Epochs", 1, 500, key=KEY + "epochs",
                            help="Small corpora need more passes: try 20–50 for a few hundred documents.")
    with st.expander("Advanced"):
        a, b, c, d = st.columns(4)
        seed = a.number_input("Seed", 0, 2**31 - 1, key=KEY + "seed")
        workers = b.number_input("Worker threads", 1, 64, key=KEY + "workers")
        if algorithm == "glove":
            x_max = c.number_input("x_max", 1.0, 10_000.0, key=KEY + "x_max",
                                   help="Co-occurrence counts above this weigh fully; 10 suits small corpora, 100 huge ones.")
            power = d.number_input("Weighting power α", 0.05, 1.0, key=KEY + "weighting_power")
            glove_lr = a.number_input("Learning rate (AdaGrad)", 0.001, 1.0, key=KEY + "glove_learning_rate", format="%.3f")
        else:
            negative = c.number_input("Negative samples", 0, 50, key=KEY + "negative",
                                      help="0 = none (use hierarchical softmax).")
            hs = d.toggle("Hierarchical softmax", key=KEY + "hs")
            sample = a.number_input("Sub-sampling", 0.0, 0.1, key=KEY + "sample", format="%.5f", step=1e-4)
            lr = b.number_input("Learning rate", 0.0001, 1.0, key=KEY + "learning_rate", format="%.4f")
            min_lr = c.number_input("Final learning rate", 0.0, 1.0, key=KEY + "min_learning_rate", format="%.5f")
            if algorithm == "fasttext":
                min_n = d.number_input("Min n-gram", 1, 12, key=KEY + "min_n")
                max_n = a.number_input("Max n-gram", 1, 12, key=KEY + "max_n")
                bucket = b.number_input("N-gram buckets", 1_000, 10_000_000, key=KEY + "bucket", step=10_000)
    base = dict(algorithm=algorithm, vector_size=int(size), window=int(window), min_count=int(min_count),
                epochs=int(epochs), seed=int(seed), workers=int(workers))
    if algorithm == "glove":
        config = EmbeddingConfig(**base, x_max=float(x_max), weighting_power=float(power), glove_learning_rate=float(glove_lr))
    else:
        extra = dict(min_n=int(min_n), max_n=int(max_n), bucket=int(bucket)) if algorithm == "fasttext" else {}
        config = EmbeddingConfig(**base, sg=PRESETS[choice].sg, negative=int(negative), hs=bool(hs), sample=float(sample),
                                 learning_rate=float(lr), min_learning_rate=float(min_lr), **extra)
    st.session_state["emb_config"] = config.to_dict()
    auto, why = auto_settings(PRESETS[choice], n_tokens)
    if (auto.epochs, auto.min_count, auto.x_max) == (config.epochs, config.min_count, config.x_max):
        st.caption(why)
    else:
        st.caption(f"Changed from the automatic settings ({why.removeprefix('auto: ')})")
        st.button("Back to the automatic settings", key=KEY + "reset_auto", on_click=_auto, args=(n_tokens,))
    return config

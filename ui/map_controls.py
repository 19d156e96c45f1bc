"""Map settings: which words, and how to project them → (word selection, ProjectionConfig)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.embeddings.words import split_words
from core.projection import ProjectionConfig

METHODS = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}
MODES = {"top": "Most frequent words", "list": "My word list", "seeds": "Neighbours of seed words"}


@dataclass(frozen=True)
class WordChoice:
    mode: str = "top"
    top_n: int = 5000
    words: tuple[str, ...] = ()
    seeds: tuple[str, ...] = ()
    per_seed: int = 50


def _words(text: str) -> tuple[str, ...]:
    return tuple(split_words(text))


def word_choice(vocabulary: int, key: str = "map") -> WordChoice:
    mode = st.radio("Words", list(MODES), format_func=MODES.get, horizontal=True, key=f"{key}_mode")
    if mode == "top":
        top = st.number_input(f"How many (up to the whole vocabulary: {vocabulary:,})", 4, max(4, vocabulary),
                              min(5000, max(4, vocabulary)), step=1000, key=f"{key}_top")
        return WordChoice("top", top_n=int(top))
    if mode == "list":
        text = st.text_area("Words (comma, space or line separated)", "king queen man woman paris france london england",
                            key=f"{key}_list")
        return WordChoice("list", words=_words(text))
    text = st.text_input("Seed words", "government police economy", key=f"{key}_seeds")
    per = st.slider("Neighbours per seed", 5, 500, 50, key=f"{key}_per_seed")
    return WordChoice("seeds", seeds=_words(text), per_seed=per)


def projection_form(key: str = "map") -> ProjectionConfig:
    a, b, c = st.columns(3)
    method = a.selectbox("Projection", list(METHODS), format_func=METHODS.get, key=f"{key}_method",
                         help="UMAP keeps local neighbourhoods and some global layout; t-SNE only local ones; "
                              "PCA is linear: honest about distances, but crowded.")
    dims = b.radio("Dimensions", [2, 3], horizontal=True, key=f"{key}_dims")
    seed = c.number_input("Seed", 0, 2**31 - 1, 42, key=f"{key}_seed")
    a, b, c = st.columns(3)
    metric = a.selectbox("Distance", ["cosine", "euclidean"], key=f"{key}_metric", disabled=method == "pca")
    neighbours = b.slider("UMAP neighbours", 2, 200, 15, key=f"{key}_neighbors", disabled=method != "umap",
                          help="Small: local detail. Large: the global picture.")
    min_dist = c.slider("UMAP min distance", 0.0, 0.99, 0.1, key=f"{key}_min_dist", disabled=method != "umap")
    perplexity = a.slider("t-SNE perplexity", 2.0, 100.0, 30.0, key=f"{key}_perplexity", disabled=method != "tsne")
    trust_k = b.slider("Trust: neighbours checked", 5, 50, 10, key=f"{key}_trust_k",
                       help="For each word: how many of its k nearest neighbours in the vector space are still "
                            "among its k nearest on the map.")
    return ProjectionConfig(method=method, dims=int(dims), n_neighbors=int(neighbours), min_dist=float(min_dist),
                            metric=metric, perplexity=float(perplexity), seed=int(seed), trust_k=int(trust_k))

"""Asking a model questions: neighbours, analogies, similarities; benchmarks; comparing two models."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager

import pandas as pd
import streamlit as st

from core import plots
from core.embeddings import evaluate, query
from core.embeddings.words import split_words
from core.errors import UserError
from core.stats import is_content_word
from ui import cached, report
from ui.safe import md


@contextmanager
def explained():
    """Show a UserError (unknown word, bad file) as a message; keep the rest of the page."""
    try:
        yield
    except UserError as exc:
        st.error(md(exc))


def _words(text: str) -> list[str]:
    return split_words(text)


def _table(pairs, first: str = "word") -> pd.DataFrame:
    return pd.DataFrame([{"rank": i + 1, first: w, "cosine": round(float(s), 4)} for i, (w, s) in enumerate(pairs)])


def _content_words(kv, n: int) -> list[str]:
    """The model's most frequent words that say something ("government", not "the")."""
    found = [w for w in kv.index_to_key[:2000] if is_content_word(w)][:n]
    return found if len(found) == n else list(kv.index_to_key[:n])


def _example(kv, words: list[str], n: int) -> list[str]:
    """The classic example (man : king :: woman : ?) when this model knows its words, else frequent content words."""
    return words if all(w in kv.key_to_index for w in words) else _content_words(kv, n)


def query_panel(kv) -> None:
    top = _content_words(kv, min(3, len(kv)))
    man, king, woman = (_example(kv, ["man", "king", "woman"], 3) + ["", "", ""])[:3]
    k = st.slider("How many results", 5, 50, 10, key="q_k")
    near, analogy, pair, odd, matrix = st.tabs(
        ["Neighbours", "Analogy", "Similarity", "Odd one out", "Similarity matrix"], key="q_tabs")
    with near:
        word = st.text_input("Word", top[0] if top else "", key="q_word")
        with explained():
            if word.strip():
                info = query.describe_word(kv, word)
                if info["ngram_vector"]:
                    st.info(md(f"'{info['input']}' was never seen in training; FastText built its vector from "
                               "character n-grams, so these neighbours are a guess from spelling."))
                elif info["case_changed"]:
                    st.caption(md(f"Showing '{info['word']}': the model has no '{info['input']}'."))
                elif info["count"]:
                    st.caption(md(f"'{info['word']}': rank {info['rank']:,}, seen {info['count']:,} times in training."))
                rows = query.neighbours(kv, word, k)
                st.dataframe(_table(rows, "neighbour"), hide_index=True, width="stretch", key="q_neighbours")
                report.add_button("q_neighbours", f"Nearest neighbours of '{word}'",
                                  lambda: report.table(_table(rows, "neighbour")),
                                  {"page": "embeddings", "uses": ("corpus", "vectors"), "settings": {"k": k}})
                st.download_button("Download neighbours (CSV)", _neighbours_csv(word, rows), file_name="neighbours.csv",
                                   mime="text/csv", key="q_neighbours_csv")
    with analogy:
        st.caption("a is to b as c is to ?  — the answer is the word nearest to b − a + c.")
        a, b, c, method = st.columns(4)
        words = [a.text_input("a", man, key="q_a"), b.text_input("b", king, key="q_b"), c.text_input("c", woman, key="q_c")]
        how = method.radio("Method", ["add", "mul"], key="q_method", horizontal=True,
                           format_func={"add": "3CosAdd", "mul": "3CosMul"}.get,
                           help="3CosMul (Levy & Goldberg) keeps one large similarity from dominating the sum.")
        with explained():
            if all(w.strip() for w in words):
                st.dataframe(_table(query.analogy(kv, *words, k=k, method=how), "answer"), hide_index=True,
                             width="stretch", key="q_analogy")
    with pair:
        a, b = st.columns(2)
        first, second = a.text_input("First word", top[0] if top else "", key="q_s1"), b.text_input(
            "Second word", top[1] if len(top) > 1 else "", key="q_s2")
        with explained():
            if first.strip() and second.strip():
                st.metric("Cosine similarity", f"{query.similarity(kv, first, second):.3f}")
    with odd:
        text = st.text_input("Words (at least three)", ", ".join(_example(kv, ["breakfast", "cereal", "dinner", "lunch"], 4)),
                             key="q_odd")
        with explained():
            if text.strip():
                st.metric("Doesn't belong", query.odd_one_out(kv, _words(text)))
                unknown = query.split_known(kv, _words(text))[1]
                if unknown:
                    st.caption(md(f"Left out, not in the vocabulary: {', '.join(unknown)}"))
    with matrix:
        text = st.text_area("Words", " ".join(_content_words(kv, min(12, len(kv)))), key="q_matrix")
        with explained():
            kept, values, unknown = query.similarity_matrix(kv, _words(text))
            if unknown:
                st.caption(md(f"Not in the vocabulary: {', '.join(unknown)}"))
            if kept:
                st.plotly_chart(plots.similarity_heatmap(kept, values), key="q_heatmap")


def _neighbours_csv(word: str, rows) -> bytes:
    from core.embeddings.vector_files import neighbours_csv

    return neighbours_csv([{"word": word.strip(), "neighbour": w, "rank": i + 1, "cosine": round(float(s), 6)}
                           for i, (w, s) in enumerate(rows)])


def benchmark_details(scores: dict, kv) -> None:
    google = scores.get("google") or {}
    if google.get("sections"):
        st.plotly_chart(plots.section_accuracy_bar(google["sections"]), key="emb_sections")
    st.subheader("Your own benchmark")
    st.caption("An analogy file like Google's questions-words.txt (': section' lines, then four words per line), "
               "or word pairs with a human score per line (word1, word2, score; tab- or space-separated).")
    kind = st.radio("File type", ["analogies", "word pairs"], horizontal=True, key="emb_bench_kind")
    upload = st.file_uploader("Benchmark file", type=["txt", "tsv", "csv"], key="emb_bench_file")
    if upload is None:
        return
    with explained(), tempfile.TemporaryDirectory() as tmp:
        data = upload.getvalue()
        if kind == "analogies":
            result = evaluate.analogies(kv, evaluate.check_analogy_file(data, upload.name, dest_dir=tmp))
            st.metric("Accuracy", "—" if result["accuracy"] is None else f"{result['accuracy']:.1%}",
                      help=f"{result['correct']} of {result['answerable']} answerable; {result['total']} questions")
            st.caption(f"Coverage: {result['coverage']:.1%} of the questions use only words this model knows.")
        else:
            result = evaluate.word_similarity(kv, evaluate.check_pairs_file(data, upload.name, dest_dir=tmp),
                                              name=upload.name)
            st.metric("Spearman ρ", "—" if result["spearman"] is None else f"{result['spearman']:.3f}",
                      help=f"{result['pairs']} pairs, {result['oov_rate']:.0%} with an unknown word")


@st.cache_data(show_spinner="Comparing neighbourhoods…", max_entries=32)
def _mean_overlap(vid_a: str, vid_b: str, k: int) -> float:
    return query.mean_overlap(cached.vectors(vid_a), cached.vectors(vid_b), k=k)


@st.cache_data(show_spinner="Aligning the two spaces…", max_entries=16)
def _procrustes(vid_a: str, vid_b: str) -> dict:
    # Keyed by the two artifact ids: the alignment is the same on every rerun of the page.
    return query.procrustes(cached.vectors(vid_a), cached.vectors(vid_b))


def compare_panel(models: dict, current: str) -> None:
    ids = list(models)
    a, b = st.columns(2)
    first = a.selectbox("Model A", ids, index=ids.index(current), key="cmp_a", format_func=lambda i: models[i].name)
    others = [i for i in ids if i != first]
    second = b.selectbox("Model B", others, key="cmp_b", format_func=lambda i: models[i].name)
    kv_a, kv_b = cached.vectors(first), cached.vectors(second)
    k = st.slider("Neighbours per word (k)", 5, 30, 10, key="cmp_k")
    text = st.text_input("Words", " ".join(_content_words(kv_a, min(3, len(kv_a)))), key="cmp_words")
    with explained():
        st.metric("Mean overlap@k over the 200 most frequent shared words", f"{_mean_overlap(first, second, k):.2f}")
        for row in query.neighbour_overlap(kv_a, kv_b, _words(text), k=k):
            if row["overlap"] is None:
                st.caption(md(f"'{row['word']}' is not in model {' or '.join(row['missing_in'])}."))
                continue
            st.markdown(f"**{md(row['word'])}** · overlap@{k} = {row['overlap']:.2f}")
            shared = set(row["shared"])
            st.dataframe(pd.DataFrame({
                "rank": range(1, len(row["neighbours_a"]) + 1),
                "model A": [w + (" ✓" if w in shared else "") for w in row["neighbours_a"]],
                "model B": [w + (" ✓" if w in shared else "") for w in row["neighbours_b"]],
            }), hide_index=True, width="stretch")
        st.caption("✓ = in both lists.")
    st.subheader("Which words moved most")
    st.caption("Model B's space is rotated onto A's (orthogonal Procrustes over the shared words); a word whose vectors "
               "still disagree after that means something different to the two models.")
    with explained():
        result = _procrustes(first, second)
        st.caption(f"{result['shared']:,} shared words; mean cosine after alignment {result['mean_cosine']:.3f}.")
        st.dataframe(pd.DataFrame(result["moved"][:100]), hide_index=True, width="stretch", key="cmp_moved",
                     column_config={"cosine_after_alignment": st.column_config.NumberColumn(
                                        "cosine after alignment", format="%.3f",
                                        help="1 = the word points the same way in both models"),
                                    "count_a": st.column_config.NumberColumn("count in A", format="%d"),
                                    "count_b": st.column_config.NumberColumn("count in B", format="%d")})

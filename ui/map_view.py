"""Draw a word map: colours, search with neighbour lines, semantic axes, selection, export."""

from __future__ import annotations

import io
import re

import numpy as np
import streamlit as st

from core import projection, semantic_axes
from core.embeddings.words import split_words
from core.errors import UserError
from core.map_figure import Colour, cluster_names, map_figure, selected_rows
from core.stats import is_content_word
from ui import cached, report
from ui.permalink import valid_choice
from ui.safe import md

COLOURS = {"cluster": "Cluster", "frequency": "Frequency (log)", "trust": "Trust", "lists": "My word lists",
           "none": "One colour"}
MAX_SEARCH = 20


@st.cache_data(max_entries=16, show_spinner="Clustering in the original vector space…")
def _clusters(vid: str, words: tuple[str, ...], method: str, k: int, seed: int) -> np.ndarray:
    kv = cached.vectors(vid)
    return projection.cluster(kv[list(words)], method=method, k=k, seed=seed)


def _search(words: list[str], query: str) -> list[int]:
    """Rows matching the typed words (any case), or a /regex/."""
    query = query.strip()
    if not query:
        return []
    if len(query) > 2 and query.startswith("/") and query.endswith("/"):
        try:
            pattern = re.compile(query[1:-1], re.IGNORECASE)
        except re.error as exc:
            raise UserError(f"That regular expression does not compile: {exc}.") from None
        return [i for i, w in enumerate(words) if pattern.search(w)]
    wanted = {w.lower() for w in split_words(query)}
    return [i for i, w in enumerate(words) if w.lower() in wanted]


def _label_rows(words: list[str], counts: np.ndarray, n: int) -> list[int]:
    """The ``n`` most frequent words worth reading on a map ("police", not "the")."""
    if not n:
        return []
    order = np.argsort(-counts, kind="stable") if counts.any() else np.arange(len(words))
    return [int(i) for i in order if is_content_word(words[i])][:n]


def controls(key: str) -> dict:
    """The display settings (they change the picture, never the projection)."""
    valid_choice(f"{key}_colour", COLOURS, "colouring")
    a, b, c, d = st.columns([2, 1, 1, 1])
    colour = a.selectbox("Colour by", list(COLOURS), format_func=COLOURS.get, key=f"{key}_colour")
    method = b.selectbox("Clusters", ["kmeans", "hdbscan"], key=f"{key}_cluster_method", disabled=colour != "cluster",
                         format_func={"kmeans": "k-means", "hdbscan": "HDBSCAN"}.get)
    k = c.number_input("k", 2, 60, 8, key=f"{key}_k", disabled=colour != "cluster" or method != "kmeans")
    labels = d.number_input("Labels", 0, 300, 30, key=f"{key}_labels",
                            help="Write the most frequent words on the map (stopwords left out).")
    lists = ""
    if colour == "lists":
        lists = st.text_area("One list per line, e.g. 'days: monday tuesday …'",
                             "people: man woman king queen\nplaces: paris london france england", key=f"{key}_lists")
    a, b, c = st.columns([3, 1, 1])
    query = a.text_input("Search words or /regex/", key=f"{key}_search")
    lines = b.number_input("Neighbour lines", 0, 30, 8, key=f"{key}_lines",
                           help="Lines to each found word's nearest neighbours in the original vector space, not on the map.")
    size = c.toggle("Size by frequency", key=f"{key}_size")
    return dict(colour=colour, method=method, k=int(k), labels=int(labels), lists=lists, query=query,
                lines=int(lines), size=size)


def _colour(settings: dict, vid: str, words: list[str], counts: np.ndarray, trust: np.ndarray, seed: int) -> Colour | None:
    kind = settings["colour"]
    if kind == "cluster":
        labels = _clusters(vid, tuple(words), settings["method"], settings["k"], seed)
        return Colour("cluster", cluster_names(words, counts, labels, keep=is_content_word), categorical=True)
    if kind == "frequency":
        return Colour("log10 count", np.log10(np.maximum(counts, 1)))
    if kind == "trust":
        return Colour("trust", trust)
    if kind == "lists":
        member = {}
        for line in settings["lists"].splitlines():
            name, _, rest = line.partition(":") if ":" in line else (line.split()[0] if line.split() else "", "", line)
            for w in split_words(rest):
                member.setdefault(w.lower(), name.strip() or "list")
        return Colour("list", [member.get(w.lower(), "other") for w in words], categorical=True)
    return None


def word_map(data, vid: str, map_id: str, settings: dict, *, key: str, axes: tuple[str, ...] | None = None,
             height: int = 720):
    """Draw the map with the display ``settings``; return (figure, coordinates shown)."""
    kv = cached.vectors(vid)
    words, coords = data.words, data.coords
    axis_titles = None
    if axes:
        try:
            coords = semantic_axes.semantic_axes(kv, words, *axes)
            axis_titles = (f"{axes[0].strip()}  →  {axes[1].strip()}", f"{axes[2].strip()}  →  {axes[3].strip()}")
        except UserError as exc:  # a bad axis word marks the axes, never takes the map away
            st.warning(md(f"Axes not used, the map keeps its projection: {exc}"))
    found = _search(words, settings["query"])[:MAX_SEARCH]
    if settings["query"].strip() and not found:
        st.warning(md(f"No word on this map matches '{settings['query'].strip()}'."))
    pairs = []
    if found and settings["lines"]:
        vectors = kv[words]  # (n, d): only when there are lines to draw, not on every rerun
        pairs = [(i, j) for i in found for j in projection.neighbours_in_space(vectors, i, settings["lines"])]
    colour = _colour(settings, vid, words, data.counts, data.trust, data.config.seed)
    sizes = 3 + 3 * np.log10(np.maximum(data.counts, 1)) if settings["size"] else None
    hover = {"count": data.counts, "trust": np.round(data.trust.astype(float), 2)}
    if colour is not None and settings["colour"] in ("cluster", "lists"):
        hover[colour.name] = np.asarray(colour.values, dtype=object)
    fig = map_figure(words, coords, color=colour, sizes=sizes, hover=hover, labels=_label_rows(words, data.counts,
                     settings["labels"]), highlight=found, lines=pairs, axis_titles=axis_titles,
                     height=height)
    event = st.plotly_chart(fig, key=f"{key}_plot", on_select="rerun", selection_mode=("box", "lasso"),
                            config={"toImageButtonOptions": {"format": "png", "filename": "corpus-lab-map", "scale": 2}})
    report.add_button(f"{key}_plot", "Word map" + (f": {settings['query'].strip()}" if settings["query"].strip() else ""),
                      lambda: report.figure(fig), {"page": "map", "artifacts": [["vectors", vid], ["map", map_id]],
                                                   "settings": {"colour": settings["colour"], "search": settings["query"]}})
    rows = selected_rows(event)
    if rows:
        import pandas as pd  # here: the Map page's first render (no map yet) needs no pandas

        table = pd.DataFrame({"word": [words[i] for i in rows], "count": data.counts[rows],
                              "trust": np.round(data.trust[rows].astype(float), 3)})
        st.caption(f"{len(rows):,} words selected")
        st.dataframe(table, hide_index=True, width="stretch", key=f"{key}_selected")
        st.download_button("Download the selection (CSV)", table.to_csv(index=False).encode(), "selection.csv", "text/csv",
                           key=f"{key}_selected_csv")
    else:
        st.caption("Drag a box or a lasso on the map to list the words inside. The camera icon saves a PNG.")
    return fig, coords


def exports(fig, words, coords, counts, trust, key: str) -> None:
    a, b = st.columns(2)
    columns = {"word": words, "x": coords[:, 0], "y": coords[:, 1]}
    if coords.shape[1] == 3:
        columns["z"] = coords[:, 2]
    import pandas as pd

    frame = pd.DataFrame({**columns, "count": counts, "trust": trust})
    a.download_button("Coordinates (CSV)", lambda: frame.to_csv(index=False).encode(), "map.csv", "text/csv",
                      key=f"{key}_csv", width="stretch", on_click="ignore")

    def html() -> bytes:
        buffer = io.StringIO()
        fig.write_html(buffer, include_plotlyjs=True, full_html=True)  # plotly.js inline: works offline
        return buffer.getvalue().encode()

    b.download_button("Standalone HTML", html, "map.html", "text/html", key=f"{key}_html", width="stretch", on_click="ignore")

"""The map as a plotly figure: points (WebGL for any size), colours, labels, search highlights.

Data in, figure out; no Streamlit. Every point trace carries its points' global row numbers in
``customdata`` so a box or lasso selection can be mapped back to words whatever the colouring.

Example::

    fig = map_figure(words, coords, color=Colour("cluster", labels, categorical=True),
                     highlight=[12], lines=[(12, 40), (12, 7)])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D",
           "#BAB0AC", "#1F77B4", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22"]
NOISE = "#C8C8C8"
MAX_LEGEND = 40  # more categories than this are coloured by a scale instead of one legend entry each


@dataclass(frozen=True)
class Colour:
    name: str
    values: np.ndarray | list  # one per point: numbers (continuous) or labels (categorical)
    categorical: bool = False


def map_figure(words: list[str], coords: np.ndarray, *, color: Colour | None = None, sizes: np.ndarray | None = None,
               hover: dict[str, np.ndarray] | None = None, labels: list[int] | None = None,
               highlight: list[int] | None = None, lines: list[tuple[int, int]] | None = None, zoom: bool = True,
               title: str = "", axis_titles: tuple[str, str] | None = None, height: int = 720) -> go.Figure:
    """Scatter the words at ``coords`` ((n, 2) or (n, 3)).

    ``hover``: extra columns for the tooltip; ``labels``: rows whose word is written on the map;
    ``highlight``: rows to ring and zoom to; ``lines``: (i, j) pairs to connect (neighbours in the
    original space); ``axis_titles``: the axes mean something (semantic axes), so name them and show
    their scale and zero lines.
    """
    coords = np.asarray(coords, dtype=float)
    three = coords.shape[1] == 3
    n = len(words)
    hover = dict(hover or {})
    names = list(hover)
    extra = np.column_stack([np.asarray(hover[k], dtype=object) for k in names]) if names else np.empty((n, 0), object)
    template = "<b>%{text}</b>" + "".join(f"<br>{k}: %{{customdata[{i + 1}]}}" for i, k in enumerate(names)) + "<extra></extra>"
    size = np.full(n, 5.0) if sizes is None else np.asarray(sizes, dtype=float)

    def points(rows: np.ndarray, name: str, marker: dict, showlegend: bool) -> go.Scattergl | go.Scatter3d:
        custom = np.column_stack([rows.astype(object), extra[rows]]) if len(rows) else np.empty((0, 1 + len(names)))
        common = dict(text=[words[i] for i in rows], customdata=custom, hovertemplate=template, name=name,
                      showlegend=showlegend, mode="markers", marker={"size": size[rows], "opacity": 0.75, **marker})
        if three:
            return go.Scatter3d(x=coords[rows, 0], y=coords[rows, 1], z=coords[rows, 2], **common)
        return go.Scattergl(x=coords[rows, 0], y=coords[rows, 1], **common)

    fig = go.Figure()
    every = np.arange(n)
    if color is None:
        fig.add_trace(points(every, "words", {"color": PALETTE[0]}, False))
    elif color.categorical and len(set(map(str, color.values))) <= MAX_LEGEND:
        values = np.asarray([str(v) for v in color.values], dtype=object)
        for i, label in enumerate(_category_order(values)):
            rows = every[values == label]
            shade = NOISE if label in ("-1", "noise", "other") else PALETTE[i % len(PALETTE)]
            fig.add_trace(points(rows, label, {"color": shade}, True))
    else:
        values = np.asarray(color.values)
        if color.categorical:  # too many labels for a legend: a scale over their codes
            values = np.unique(values.astype(str), return_inverse=True)[1]
        fig.add_trace(points(every, color.name, {"color": values.astype(float), "colorscale": "Viridis", "showscale": True,
                                                 "colorbar": {"title": color.name}}, False))
    if labels:
        top = np.asarray(labels)
        fig.add_trace(_text_trace(coords, top, [words[i] for i in top], three))
    if lines:
        fig.add_trace(_lines_trace(coords, lines, three))
    if highlight:
        rows = np.asarray(highlight)
        ring = dict(size=14, color="rgba(0,0,0,0)", line=dict(width=2.5, color="#D62728"))
        if three:
            fig.add_trace(go.Scatter3d(x=coords[rows, 0], y=coords[rows, 1], z=coords[rows, 2], mode="markers+text",
                                       text=[words[i] for i in rows], marker=ring, name="search", hoverinfo="skip"))
        else:
            fig.add_trace(go.Scatter(x=coords[rows, 0], y=coords[rows, 1], mode="markers+text", textposition="top center",
                                     text=[words[i] for i in rows], marker=ring, name="search", hoverinfo="skip",
                                     textfont=dict(size=14, color="#D62728")))
            if zoom:
                _zoom(fig, coords, rows, lines)
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      legend=dict(itemsizing="constant", y=0.92), dragmode="lasso" if not three else "orbit",
                      uirevision="map")  # keep the user's zoom when only colours or highlights change
    if not three and axis_titles:
        fig.update_xaxes(title=axis_titles[0], zeroline=True, zerolinecolor="#bbb", showgrid=False)
        fig.update_yaxes(title=axis_titles[1], zeroline=True, zerolinecolor="#bbb", showgrid=False)
        fig.update_layout(margin=dict(l=60, r=10, t=40 if title else 10, b=50))
    elif not three:
        fig.update_xaxes(showticklabels=False, zeroline=False, showgrid=False)
        fig.update_yaxes(showticklabels=False, zeroline=False, showgrid=False)
    return fig


def _category_order(values: np.ndarray) -> list[str]:
    labels, counts = np.unique(values, return_counts=True)
    return [str(label) for label in labels[np.argsort(-counts, kind="stable")]]


def _text_trace(coords, rows, texts, three):
    if three:
        return go.Scatter3d(x=coords[rows, 0], y=coords[rows, 1], z=coords[rows, 2], mode="text", text=texts,
                            hoverinfo="skip", showlegend=False)
    # SVG, not WebGL: a few dozen labels, and WebGL text is blurry
    return go.Scatter(x=coords[rows, 0], y=coords[rows, 1], mode="text", text=texts, textposition="top center",
                      textfont=dict(size=11, color="#333"), hoverinfo="skip", showlegend=False)


def _lines_trace(coords, pairs, three):
    xs, ys, zs = [], [], []
    for i, j in pairs:
        xs += [coords[i, 0], coords[j, 0], None]
        ys += [coords[i, 1], coords[j, 1], None]
        if three:
            zs += [coords[i, 2], coords[j, 2], None]
    line = dict(color="rgba(214,39,40,0.55)", width=1.5)
    if three:
        return go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", line=line, hoverinfo="skip", name="neighbours")
    return go.Scatter(x=xs, y=ys, mode="lines", line=line, hoverinfo="skip", name="neighbours (original space)")


def _zoom(fig: go.Figure, coords: np.ndarray, rows: np.ndarray, lines) -> None:
    """Fit the view to the highlighted words and their neighbours, with a margin."""
    keep = set(rows.tolist()) | {j for pair in (lines or []) for j in pair}
    box = coords[sorted(keep)]
    lo, hi = box.min(axis=0), box.max(axis=0)
    span = np.maximum(hi - lo, (coords.max(axis=0) - coords.min(axis=0)) * 0.05)
    fig.update_xaxes(range=[lo[0] - 0.15 * span[0], hi[0] + 0.15 * span[0]])
    fig.update_yaxes(range=[lo[1] - 0.15 * span[1], hi[1] + 0.15 * span[1]])
    fig.update_layout(uirevision=f"zoom-{sorted(keep)[:5]}")  # a new search zooms anew


def selected_rows(event, fig: go.Figure | None = None) -> list[int]:
    """Global row numbers of the points in a Streamlit plotly selection event."""
    points = ((event or {}).get("selection") or {}).get("points") or []
    rows = []
    for p in points:
        custom = p.get("customdata")
        if isinstance(custom, list | tuple) and custom:
            rows.append(int(custom[0]))
        elif isinstance(custom, int | float):
            rows.append(int(custom))
    return sorted(set(rows))


def cluster_names(words: list[str], counts: np.ndarray, labels, n: int = 3, keep=lambda w: True) -> list[str]:
    """Name each cluster by its ``n`` most frequent words that pass ``keep`` ("police · gunmen · tanks"),
    so a legend says what a colour is about; -1 is HDBSCAN's noise. Returns one name per point."""
    labels = np.asarray(labels)
    counts = np.asarray(counts)
    names = {}
    for label in np.unique(labels):
        if label < 0:
            names[label] = "noise"
            continue
        rows = np.flatnonzero(labels == label)
        rows = rows[np.argsort(-counts[rows], kind="stable")]
        top = [words[i] for i in rows if keep(words[i])][:n] or [words[i] for i in rows[:n]]
        names[label] = f"{label}: " + " · ".join(top)
    return [names[v] for v in labels]

"""Plotly figure builders: data in, figure out. No Streamlit here."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from core.errors import UserError


def top_words_bar(words: Sequence[tuple[str, int]], title: str) -> go.Figure:
    """Horizontal bars, most frequent at the top."""
    labels = [w for w, _ in words][::-1]
    counts = [c for _, c in words][::-1]
    fig = go.Figure(go.Bar(x=counts, y=labels, orientation="h", hovertemplate="%{y}: %{x:,}<extra></extra>"))
    fig.update_layout(title=title, height=max(300, 18 * len(labels) + 80), margin=dict(l=10, r=10, t=40, b=10),
                      xaxis_title="count", yaxis=dict(type="category"))
    return fig


def zipf_plot(frequencies: np.ndarray, exponent: float | None, intercept: float | None,
              max_points: int = 2000) -> go.Figure:
    """Rank/frequency on log-log axes with the fitted line f = 10^c · r^(−s).

    Ranks are thinned to ``max_points`` on a log scale: the head matters and the tail of a
    500k-word vocabulary would only make the browser slow.
    """
    ranks = np.arange(1, len(frequencies) + 1)
    if len(ranks) > max_points:
        keep = np.unique(np.geomspace(1, len(ranks), max_points).astype(int)) - 1
        ranks, frequencies = ranks[keep], frequencies[keep]
    fig = go.Figure(go.Scattergl(x=ranks, y=frequencies, mode="markers", name="words",
                                 marker=dict(size=4), hovertemplate="rank %{x:,}: %{y:,}<extra></extra>"))
    if exponent is not None:
        fit = 10**intercept * ranks.astype(float) ** -exponent
        fig.add_trace(go.Scatter(x=ranks, y=fit, mode="lines", name=f"fit: s = {exponent:.2f}"))
    fig.update_layout(title="Zipf's law: frequency against rank", xaxis=dict(type="log", title="rank"),
                      yaxis=dict(type="log", title="frequency"), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def length_histogram(lengths: np.ndarray) -> go.Figure:
    fig = go.Figure(go.Histogram(x=lengths, nbinsx=60, hovertemplate="%{x} words: %{y:,} documents<extra></extra>"))
    fig.update_layout(title="Document length", xaxis_title="words per document", yaxis_title="documents",
                      bargap=0.05, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def removal_waterfall(tokens_before: int, removed: dict[str, int], tokens_after: int) -> go.Figure:
    """Tokens before, what each step removed, tokens after: where the corpus went."""
    steps = [(step, -count) for step, count in removed.items() if count]
    fig = go.Figure(go.Waterfall(
        x=["tokens before"] + [f"− {s}" for s, _ in steps] + ["tokens after"],
        y=[tokens_before] + [v for _, v in steps] + [tokens_after],
        measure=["absolute"] + ["relative"] * len(steps) + ["total"],
        hovertemplate="%{x}: %{y:,}<extra></extra>",
    ))
    fig.update_layout(title="Tokens removed by each step", yaxis_title="tokens", showlegend=False,
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def training_curve(curve: list[dict], title: str = "Training loss per epoch") -> go.Figure:
    epochs = [p["epoch"] for p in curve]
    fig = go.Figure(go.Scatter(x=epochs, y=[p.get("loss") for p in curve], mode="lines+markers",
                               hovertemplate="epoch %{x}: %{y:,.4g}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title="loss", height=300,
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def similarity_heatmap(words: Sequence[str], matrix: np.ndarray) -> go.Figure:
    """Cosine similarities of a word list; words on both axes, symmetric colour scale."""
    labels = list(words)
    fig = go.Figure(go.Heatmap(z=matrix, x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu",
                               hovertemplate="%{y} · %{x}: %{z:.3f}<extra></extra>"))
    fig.update_layout(title="Cosine similarity", height=max(320, 28 * len(labels) + 120),
                      xaxis=dict(type="category"), yaxis=dict(type="category", autorange="reversed"),
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def section_accuracy_bar(sections: list[dict]) -> go.Figure:
    """Analogy accuracy per section, with how many questions each could answer."""
    rows = [s for s in sections if s.get("total")]
    fig = go.Figure(go.Bar(
        x=[s["section"] for s in rows], y=[s.get("accuracy") or 0 for s in rows],
        customdata=[[s["correct"], s["answerable"], s["total"]] for s in rows],
        hovertemplate="%{x}: %{y:.1%} (%{customdata[0]} of %{customdata[1]} answerable; "
                      "%{customdata[2]} questions)<extra></extra>",
    ))
    fig.update_layout(title="Analogy accuracy per section", yaxis=dict(tickformat=".0%", range=[0, 1]), height=340,
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def attention_heatmap(rows: Sequence[str], cols: Sequence[str], matrix: np.ndarray, title: str,
                      xaxis: str = "attended to", yaxis: str = "attending") -> go.Figure:
    """A (len(rows), len(cols)) weight matrix; tokens on both axes (positions keep repeats apart)."""
    ylabels = [f"{i}: {t}" for i, t in enumerate(rows)]
    xlabels = [f"{i}: {t}" for i, t in enumerate(cols)]
    fig = go.Figure(go.Heatmap(z=matrix, x=xlabels, y=ylabels, colorscale="Blues", zmin=0,
                               hovertemplate="%{y} → %{x}: %{z:.3f}<extra></extra>"))
    side = max(360, min(900, 22 * max(len(rows), len(cols)) + 140))
    fig.update_layout(title=title, height=side, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(title=xaxis, type="category", tickangle=-60),
                      yaxis=dict(title=yaxis, type="category", autorange="reversed"))
    return fig


GRID_CELLS = 300  # small heatmaps one browser draws without stalling; a 0.5 B model has 24 × 14 = 336


def grid_layers(layers: int, heads: int, max_cells: int = GRID_CELLS) -> int:
    """How many layers of ``heads`` heads fit in one grid (at least 1)."""
    return max(1, min(layers, max_cells // max(heads, 1)))


def attention_grid(weights: np.ndarray, first_layer: int = 0, max_cells: int = GRID_CELLS) -> go.Figure:
    """The model view: layers (rows) × heads (columns) as small heatmaps, bertviz-style, from
    ``first_layer`` on, as many layers as fit in ``max_cells`` heatmaps.

    All of them are tiles of ONE heatmap, a blank row and column between tiles: Chromium drew
    SmolLM2's 270 separate heatmap traces in about 15 s on 2 cores, one trace in well under one.
    """
    total, heads, n = weights.shape[0], weights.shape[1], weights.shape[2]
    if not 0 <= first_layer < total:
        raise UserError(f"Layer {first_layer} does not exist: this model has layers 0 to {total - 1}.")
    shown = list(range(first_layer, min(total, first_layer + grid_layers(total, heads, max_cells))))
    step = n + 1
    tiles = np.full((len(shown) * step - 1, heads * step - 1), np.nan, dtype=np.float32)
    for row, layer in enumerate(shown):
        for head in range(heads):
            tiles[row * step:row * step + n, head * step:head * step + n] = weights[layer, head]
    # Category labels say where the pointer is (a gap gets a unique blank-ish label of its own).
    ys = [f"L{layer} · token {t}" for layer in shown for t in [*range(n), "gap"]][:tiles.shape[0]]
    xs = [f"H{head} · token {t}" for head in range(heads) for t in [*range(n), "gap"]][:tiles.shape[1]]
    fig = go.Figure(go.Heatmap(z=tiles, x=xs, y=ys, colorscale="Blues", zmin=0, zmax=1, showscale=False, hoverongaps=False,
                               hovertemplate="%{y} → %{x}: %{z:.2f}<extra></extra>"))
    notes = [dict(text=f"L{layer}", x=1.0, xref="paper", xanchor="left", y=ys[row * step + n // 2], yref="y",
                  showarrow=False) for row, layer in enumerate(shown)]
    notes += [dict(text=f"H{head}", x=xs[head * step + n // 2], xref="x", y=1.0, yref="paper", yanchor="bottom",
                   showarrow=False) for head in range(heads)]
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
    fig.update_layout(height=max(300, 60 * len(shown) + 60), margin=dict(l=10, r=30, t=50, b=10), annotations=notes,
                      title="Every layer × head (row: attending token, column: attended-to token)",
                      plot_bgcolor="white")
    return fig


def token_probability_chart(pieces: Sequence[str], probs: Sequence[float], entropies: Sequence[float],
                            title: str = "How sure the model was at each generated token") -> go.Figure:
    """Probability of each chosen token (left axis) and the entropy of the model's guess (right axis)."""
    x = list(range(1, len(pieces) + 1))
    labels = [repr(p)[1:-1] for p in pieces]  # whitespace visible: a newline shows as \n, not as nothing
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=list(probs), name="probability", mode="lines+markers", customdata=labels,
                             hovertemplate="#%{x} '%{customdata}': p = %{y:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=list(entropies), name="entropy (bits)", mode="lines", yaxis="y2",
                             line=dict(dash="dot"), customdata=labels,
                             hovertemplate="#%{x} '%{customdata}': %{y:.2f} bits<extra></extra>"))
    fig.update_layout(title=title, height=300, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="generated token",
                      yaxis=dict(title="probability", range=[0, 1.02]),
                      yaxis2=dict(title="entropy (bits)", overlaying="y", side="right", rangemode="tozero"),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def surprisal_chart(pieces: Sequence[str], surprisal: np.ndarray, title: str) -> go.Figure:
    """Bits of surprise per token: the tall bars are where the model did not expect the text."""
    labels = [repr(p)[1:-1] for p in pieces]
    fig = go.Figure(go.Bar(x=list(range(1, len(labels) + 1)), y=surprisal, customdata=labels,
                           hovertemplate="#%{x} '%{customdata}': %{y:.2f} bits<extra></extra>"))
    fig.update_layout(title=title, height=300, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="token",
                      yaxis_title="surprisal (bits)", bargap=0)
    return fig


def probability_change_chart(pieces: Sequence[str], before: np.ndarray, after: np.ndarray) -> go.Figure:
    """Per-token change in log₂ probability from one model to another: up = now expected more."""
    labels = [repr(p)[1:-1] for p in pieces]
    change = np.asarray(before, dtype=float) - np.asarray(after, dtype=float)  # surprisal before − after = bits gained
    fig = go.Figure(go.Bar(x=list(range(1, len(labels) + 1)), y=change, customdata=labels,
                           marker_color=np.where(change >= 0, "#2a9d8f", "#e76f51"),
                           hovertemplate="#%{x} '%{customdata}': %{y:+.2f} bits<extra></extra>"))
    fig.update_layout(title="Which tokens the fine-tuned model now expects (bits gained per token)", height=320,
                      margin=dict(l=10, r=10, t=40, b=10), xaxis_title="token", yaxis_title="bits gained", bargap=0)
    return fig


def loss_curve(curve: list[dict]) -> go.Figure:
    """Training and validation loss against the optimizer step, from a fine-tuning run's metric rows."""
    fig = go.Figure()
    for column, name in (("train_loss", "training"), ("val_loss", "validation")):
        points = [(p["step"], p[column]) for p in curve if p.get(column) is not None]
        if points:
            fig.add_trace(go.Scatter(x=[s for s, _ in points], y=[v for _, v in points], name=name,
                                     mode="lines+markers" if column == "val_loss" else "lines",
                                     hovertemplate=f"step %{{x}}: {name} loss %{{y:.4f}}<extra></extra>"))
    fig.update_layout(title="Loss during fine-tuning", height=320, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis_title="optimizer step", yaxis_title="cross-entropy (nats)")
    return fig

"""The map figure: every point keeps its global row, so selections map back to words."""

import numpy as np
import plotly.graph_objects as go

from core.map_figure import Colour, map_figure, selected_rows

WORDS = [f"w{i}" for i in range(10)]
COORDS = np.arange(20, dtype=float).reshape(10, 2)


def test_categorical_colours_make_one_trace_per_label_and_keep_global_rows():
    labels = ["a", "b"] * 5
    fig = map_figure(WORDS, COORDS, color=Colour("cluster", labels, categorical=True), hover={"count": np.arange(10)})
    points = [t for t in fig.data if t.name in ("a", "b")]
    assert len(points) == 2 and all(isinstance(t, go.Scattergl) for t in points)
    rows = sorted(int(r[0]) for t in points for r in t.customdata)
    assert rows == list(range(10))
    b = next(t for t in points if t.name == "b")
    assert [int(r[0]) for r in b.customdata] == [1, 3, 5, 7, 9] and list(b.text) == ["w1", "w3", "w5", "w7", "w9"]
    assert "count: %{customdata[1]}" in b.hovertemplate


def test_selection_event_maps_back_to_rows():
    event = {"selection": {"points": [{"customdata": [7, 3]}, {"customdata": [2, 1]}, {"customdata": [7, 3]}]}}
    assert selected_rows(event) == [2, 7]
    assert selected_rows(None) == [] and selected_rows({"selection": {"points": []}}) == []


def test_continuous_colour_labels_highlight_lines_and_zoom():
    fig = map_figure(WORDS, COORDS, color=Colour("trust", np.linspace(0, 1, 10)), labels=[0, 1],
                     highlight=[4], lines=[(4, 5), (4, 6)])
    names = [t.name for t in fig.data]
    assert "search" in names and any("neighbours" in (n or "") for n in names)
    assert fig.data[0].marker.showscale
    x0, x1 = fig.layout.xaxis.range
    assert x0 < COORDS[4, 0] and x1 > COORDS[6, 0] and x1 - x0 < np.ptp(COORDS[:, 0])


def test_many_categories_fall_back_to_a_scale_and_3d_uses_scatter3d():
    many = Colour("label", [str(i) for i in range(10)], categorical=True)
    words = WORDS * 6
    coords = np.random.default_rng(0).normal(size=(60, 3))
    fig = map_figure(words, coords, color=Colour("label", [str(i) for i in range(60)], categorical=True))
    assert len(fig.data) == 1 and isinstance(fig.data[0], go.Scatter3d) and fig.data[0].marker.showscale
    assert len(map_figure(WORDS, COORDS, color=many).data) == 10

"""Plot builders that decide what to draw (the attention grid's window of layers)."""

import numpy as np
import pytest

from core import plots
from core.errors import UserError


def weights(layers, heads, n=5):
    return np.random.default_rng(0).random((layers, heads, n, n)).astype(np.float32)


def test_grid_of_a_small_model_shows_every_head():
    w = weights(6, 12)
    fig = plots.attention_grid(w)
    assert len(fig.data) == 1  # one heatmap of tiles: one trace draws fast, 72 do not
    tiles = np.asarray(fig.data[0].z)
    assert tiles.shape == (6 * 6 - 1, 12 * 6 - 1)
    np.testing.assert_allclose(tiles[6:11, 12:17], w[1, 2])  # layer 1, head 2's tile
    assert np.isnan(tiles[5]).all()  # the blank row between layers


def test_grid_of_a_model_with_more_heads_than_fit_shows_a_window_of_layers():
    # Qwen2-0.5B's shape: 24 layers × 14 heads = 336 heatmaps, over the 300 a browser draws quickly.
    assert plots.grid_layers(24, 14) == 21
    fig = plots.attention_grid(weights(24, 14), first_layer=3)
    assert np.asarray(fig.data[0].z).shape == (21 * 6 - 1, 14 * 6 - 1)
    titles = [a.text for a in fig.layout.annotations]
    assert "L3" in titles and "L23" in titles and "L2" not in titles


def test_grid_with_a_layer_that_does_not_exist_says_so():
    with pytest.raises(UserError, match="layers 0 to 5"):
        plots.attention_grid(weights(6, 12), first_layer=6)

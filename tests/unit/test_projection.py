"""Maps of word vectors: real UMAP / PCA / t-SNE on small inputs, trust, clusters, axes, the artifact and its cache."""

import io
import json

import numpy as np
import pytest
from gensim.models import KeyedVectors
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from core import projection
from core.corpus.store import ingest_sample
from core.embeddings.config import EmbeddingConfig
from core.embeddings.train import train_vectors
from core.embeddings.vectors import save_kv
from core.errors import UserError
from core.jobs import Cancelled
from core.preprocess import PipelineConfig
from core.projection import (
    ProjectionConfig,
    build_map,
    cluster,
    load_map,
    map_id,
    neighbours_in_space,
    project,
    select_words,
    trust_scores,
)
from core.semantic_axes import example_axes, semantic_axes
from core.tokens import build_tokens
from core.workspace import Workspace
from tests.unit.vectors_kit import make_kv


class Recorder:
    """A job context that records progress and can cancel at a chosen moment."""

    def __init__(self, cancel_when=None):
        self.calls: list[tuple[float, str | None]] = []
        self.cancel_when = cancel_when

    def progress(self, fraction, message=None):
        self.calls.append((fraction, message))

    def metric(self, **values): ...

    def log(self, message): ...

    def check_cancelled(self):
        if self.cancel_when is not None and self.cancel_when(self.calls):
            raise Cancelled()




def saved_vectors(ws: Workspace, kv: KeyedVectors, name: str = "hand") -> str:
    vid = Workspace.artifact_id("vectors", {"imported": name})
    ws.create("vectors", vid, name=name, write=lambda d: save_kv(kv, d))
    return vid


@pytest.fixture(scope="module")
def blobs():
    x, labels = make_blobs(n_samples=300, n_features=20, centers=4, cluster_std=0.6, center_box=(-10, 10), random_state=3)
    return x.astype(np.float32), labels


@pytest.fixture(scope="module")
def lee(tmp_path_factory):
    """A real Word2Vec model of the Lee corpus (~3k words) in its own workspace."""
    ws = Workspace(tmp_path_factory.mktemp("lee"))
    corpus = ingest_sample(ws, "lee")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    vectors = train_vectors(ws, tokens.id, EmbeddingConfig(vector_size=50, epochs=5))
    return ws, vectors.id


# --- projection ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["umap", "pca", "tsne"])
@pytest.mark.parametrize("dims", [2, 3])
def test_shapes_for_every_method_and_dims(blobs, method, dims):
    coords = project(blobs[0][:120], ProjectionConfig(method=method, dims=dims, perplexity=10, n_neighbors=10))
    assert coords.shape == (120, dims) and coords.dtype == np.float32 and np.isfinite(coords).all()


def test_same_seed_same_coords(blobs):
    config = ProjectionConfig(n_neighbors=8)
    first, again = project(blobs[0], config), project(blobs[0], config)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, project(blobs[0], ProjectionConfig(n_neighbors=8, seed=7)))


def test_pca_first_reduces_wide_vectors_and_still_maps(blobs):
    wide = np.hstack([blobs[0]] * 4)  # 80 dims > pca_first
    coords, knn, info = projection._project(wide, ProjectionConfig(pca_first=10, n_neighbors=8), projection.NoJob())
    assert coords.shape == (300, 2) and 0 < info["pca_variance"] <= 1.0001 and knn[0].shape == (300, 11)


# --- trust ---------------------------------------------------------------------------------


def test_trust_is_about_one_for_a_pca_map_of_truly_2d_data():
    rng = np.random.default_rng(0)
    flat = rng.uniform(-1, 1, size=(400, 2))
    lifted = flat @ rng.normal(size=(2, 50)) + 5.0  # a plane in 50-D
    config = ProjectionConfig(method="pca", metric="euclidean")
    trust = trust_scores(lifted, project(lifted, config), k=10, metric="euclidean")
    assert trust.dtype == np.float32 and trust.min() >= 0 and trust.max() <= 1
    assert trust.mean() > 0.97


def test_trust_is_low_for_random_high_dimensional_data():
    x = np.random.default_rng(1).normal(size=(400, 50)).astype(np.float32)
    trust = trust_scores(x, project(x, ProjectionConfig(method="pca")), k=10)
    assert 0 <= trust.min() and trust.mean() < 0.4


def test_trust_reuses_a_knn_graph_with_the_same_answer(blobs):
    x = blobs[0]
    coords, knn, _ = projection._project(x, ProjectionConfig(n_neighbors=12, metric="euclidean"), projection.NoJob())
    reused = trust_scores(None, coords, 10, knn=knn)
    searched = trust_scores(x, coords, 10, metric="euclidean")
    np.testing.assert_allclose(reused, searched, atol=0.11)  # ties may order one neighbour differently
    assert abs(reused.mean() - searched.mean()) < 0.01


# --- choosing words ------------------------------------------------------------------------


@pytest.fixture
def small_kv():
    rng = np.random.default_rng(2)
    words = ["the", "Paris", "king", "queen", "prince", "apple", "pear", "fig"]
    vectors = rng.normal(size=(8, 10))
    vectors[3] = vectors[2] + 0.01  # queen next to king
    return make_kv(words, vectors, counts=[80, 70, 60, 50, 40, 30, 20, 10])


def test_select_top_words(small_kv):
    assert select_words(small_kv, mode="top", top_n=3) == (["the", "Paris", "king"], [])
    assert select_words(small_kv, mode="top", top_n=100)[0] == small_kv.index_to_key


def test_select_listed_words_with_case_fallback_and_unknown(small_kv):
    found, unknown = select_words(small_kv, mode="list", words="KING, paris queen zzyzx king")
    assert found == ["king", "Paris", "queen"] and unknown == ["zzyzx"]


def test_select_seeds_and_their_neighbours(small_kv):
    found, unknown = select_words(small_kv, mode="seeds", seeds=["king", "nope", "queen"], per_seed=2)
    assert found[:2] == ["king", "queen"] and len(found) == len(set(found)) and len(found) <= 5
    assert unknown == ["nope"]
    with pytest.raises(UserError, match="'top', 'list' or 'seeds'"):
        select_words(small_kv, mode="random")


# --- clusters, neighbour lines, axes ---------------------------------------------------------


def test_kmeans_and_hdbscan_recover_separated_blobs(blobs):
    x, truth = blobs
    assert adjusted_rand_score(truth, cluster(x, "kmeans", k=4)) > 0.95
    labels = cluster(x, "hdbscan")
    assert adjusted_rand_score(truth[labels >= 0], labels[labels >= 0]) > 0.95 and (labels >= 0).mean() > 0.8


def test_neighbours_in_space_are_the_cosine_nearest():
    x = np.random.default_rng(4).normal(size=(50, 8)).astype(np.float32)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    expected = [i for i in np.argsort(-(unit @ unit[7])) if i != 7][:5]
    assert neighbours_in_space(x, 7, 5) == expected
    with pytest.raises(UserError):
        neighbours_in_space(x, 50, 5)


def test_semantic_axes_point_the_right_way():
    words = ["man", "woman", "poor", "rich", "queen", "beggar"]
    vectors = [[1, 0, 0, 0], [-1, 0, 0, 0], [0, -1, 0, 0], [0, 1, 0, 0], [-1, 1, 0.2, 0], [1, -1, 0, 0.3]]
    kv = make_kv(words, vectors)
    xy = semantic_axes(kv, ["queen", "beggar"], "man", "woman", "Poor", "rich")
    assert xy.shape == (2, 2) and xy.dtype == np.float32
    assert xy[0, 0] > 0 and xy[0, 1] > 0  # queen: towards woman, towards rich
    assert xy[1, 0] < 0 and xy[1, 1] < 0
    with pytest.raises(UserError, match="'kingdom' is not in the vocabulary"):
        semantic_axes(kv, ["queen"], "man", "kingdom", "poor", "rich")
    with pytest.raises(UserError, match="no direction"):
        semantic_axes(kv, ["queen"], "man", "man", "poor", "rich")


# --- bad input -------------------------------------------------------------------------------


def test_too_few_words_says_a_table_is_shown():
    with pytest.raises(UserError, match="at least 4 words.*table"):
        project(np.eye(3, 5), ProjectionConfig(method="pca"))


def test_nan_vectors_are_named(tmp_path):
    ws = Workspace(tmp_path / "ws")
    vectors = np.random.default_rng(5).normal(size=(6, 5))
    vectors[4, 2] = np.nan
    words = ["a", "b", "c", "d", "broken", "f"]
    vid = saved_vectors(ws, make_kv(words, vectors))
    with pytest.raises(UserError, match="'broken'"):
        build_map(ws, vid, words, ProjectionConfig(method="pca"))
    with pytest.raises(UserError, match="row 1"):
        project(np.array([[0, 1.0], [np.inf, 0], [1, 1], [2, 0]]), ProjectionConfig(method="pca"))


def test_identical_vectors_refused():
    with pytest.raises(UserError, match="identical"):
        project(np.ones((10, 5)), ProjectionConfig(method="pca"))
    with pytest.raises(UserError, match="same way"):  # identical under cosine
        project(np.outer(np.arange(1, 11), np.ones(5)), ProjectionConfig(method="umap", n_neighbors=3))


def test_too_many_neighbours_says_what_to_do():
    with pytest.raises(UserError, match="at most 9"):
        ProjectionConfig(n_neighbors=15).validate(10)
    with pytest.raises(UserError, match="perplexity"):
        ProjectionConfig(method="tsne", perplexity=30).validate(20)
    assert ProjectionConfig(method="pca", trust_k=10).validate(5).trust_k == 4


@pytest.mark.parametrize("change", [{"method": "mds"}, {"dims": 4}, {"metric": "manhattan"}, {"n_neighbors": 1},
                                    {"min_dist": 2.0}, {"pca_first": 1}, {"trust_k": 0}, {"seed": -1}])
def test_nonsense_settings_are_refused(change):
    with pytest.raises(UserError):
        ProjectionConfig(**change).validate(100)


def test_config_round_trips_through_a_manifest():
    config = ProjectionConfig(method="tsne", dims=3, perplexity=12.5, seed=9)
    assert ProjectionConfig.from_dict({**config.to_dict(), "n_words": 500}) == config


# --- the artifact ----------------------------------------------------------------------------


def test_build_map_of_a_real_model_then_cache_hit(lee):
    ws, vid = lee
    from core.embeddings.store import load_vectors

    kv = load_vectors(ws, vid)
    words, unknown = select_words(kv, mode="top", top_n=600)
    config = ProjectionConfig()
    first_ctx = Recorder()
    manifest = build_map(ws, vid, words, config, ctx=first_ctx)
    assert manifest.kind == "map" and manifest.parents == [vid] and manifest.id == map_id(vid, words, config)
    assert manifest.config == {**config.to_dict(), "n_words": 600}
    fractions = [f for f, _ in first_ctx.calls]
    assert fractions == sorted(fractions) and any("epoch" in (m or "") for _, m in first_ctx.calls)

    data = load_map(ws, manifest.id)
    assert data.words == words and data.coords.shape == (600, 2) and data.coords.dtype == np.float32
    assert data.counts.dtype == np.int64 and (data.counts > 0).all() and data.config == config
    # Trust is the share of a word's 10 model neighbours kept on the map: a random layout keeps 10/599 = 0.017.
    # This weak 5-epoch model (trained with threads, so not repeatable) gave 0.097-0.11: 3x chance is the floor.
    assert data.trust.dtype == np.float32 and 0 <= data.trust.min() and data.trust.max() <= 1 and data.trust.mean() > 0.05
    folder = ws.path("map", manifest.id)
    assert np.load(folder / "coords.npy", allow_pickle=False).shape == (600, 2)
    assert json.loads((folder / "words.json").read_text())["counts"] == data.counts.tolist()

    again_ctx = Recorder()
    again = build_map(ws, vid, words, config, ctx=again_ctx)
    assert again == manifest and again_ctx.calls == []  # no progress at all: nothing was computed again


def test_cancel_leaves_no_artifact(tmp_path, blobs):
    ws = Workspace(tmp_path / "ws")
    words = [f"w{i}" for i in range(len(blobs[0]))]
    vid = saved_vectors(ws, make_kv(words, blobs[0]))
    for when in (lambda calls: len(calls) >= 2,  # between stages
                 lambda calls: any("epoch" in (m or "") for _, m in calls)):  # inside UMAP's optimisation
        with pytest.raises(Cancelled):
            build_map(ws, vid, words, ProjectionConfig(n_neighbors=8), ctx=Recorder(cancel_when=when))
        assert ws.list("map") == [] and list((ws.root / ".tmp").iterdir()) == []


def test_a_cancel_inside_umaps_epochs_leaves_tqdm_usable(tmp_path, blobs):
    # The cancel is raised from umap-learn's tqdm bar, inside tqdm's refresh(), which holds tqdm's global
    # lock with no try/finally. Left held, the next bar anywhere in the process (transformers' "Loading
    # weights", in another job's thread) waited forever: seen as a model load that never ended.
    import threading

    from tqdm.auto import tqdm

    ws = Workspace(tmp_path / "ws")
    words = [f"w{i}" for i in range(len(blobs[0]))]
    vid = saved_vectors(ws, make_kv(words, blobs[0]))
    with pytest.raises(Cancelled):
        build_map(ws, vid, words, ProjectionConfig(n_neighbors=8),
                  ctx=Recorder(cancel_when=lambda calls: any("epoch" in (m or "") for _, m in calls)))
    other = threading.Thread(target=lambda: list(tqdm(range(3), disable=False, file=io.StringIO())), daemon=True)
    other.start()
    other.join(timeout=10)
    assert not other.is_alive(), "a tqdm bar in another thread waits for the lock the cancelled layout kept"


def test_damaged_map_is_a_user_error(tmp_path, blobs):
    ws = Workspace(tmp_path / "ws")
    words = [f"w{i}" for i in range(40)]
    vid = saved_vectors(ws, make_kv(words, blobs[0][:40]))
    manifest = build_map(ws, vid, words, ProjectionConfig(method="pca"))
    np.save(ws.path("map", manifest.id) / "coords.npy", np.zeros((3, 2), np.float32))
    with pytest.raises(UserError, match="damaged"):
        load_map(ws, manifest.id)


def test_warm_up_is_cheap_the_second_time(monkeypatch):
    # Recorded, not run: NN-descent's compile (~15 s, in every new process) is not what this checks.
    monkeypatch.setattr(projection, "_warmed", False)
    calls = []
    monkeypatch.setattr(projection, "project", lambda *args, **kwargs: calls.append("project"))
    monkeypatch.setattr(projection, "_knn", lambda *args, **kwargs: calls.append("knn"))
    projection.warm_up()
    assert calls == ["project", "knn"]  # the layout and NN-descent, each on a tiny input
    projection.warm_up()
    assert calls == ["project", "knn"]  # the second call computes nothing


def test_example_axes_use_words_the_model_knows():
    kv = make_kv(["the", "bad", "good", "woman", "man", "rich"], np.eye(6))
    assert example_axes(kv) == ("man", "woman", "bad", "good")
    foreign = make_kv(["der", "und", "haus", "stadt", "regierung"], np.eye(5))
    a, b, c, d = example_axes(foreign)
    assert {a, b, c, d} <= set(foreign.index_to_key) and a != b and c != d

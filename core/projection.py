"""Maps of word vectors: UMAP / PCA / t-SNE in 2-D or 3-D, with a trust score per word and clusters.

A map is an artifact (``KIND = "map"``) whose parent is a vectors artifact::

    map/<id>/coords.npy     float32 (n, dims)   the positions, row i is words[i]
    map/<id>/trust.npy      float32 (n,)        in [0, 1], see trust_scores()
    map/<id>/words.json     {"words": [n str], "counts": [n int]}
    map/<id>/manifest.json  config = ProjectionConfig.to_dict() + {"n_words": n}; metrics: stage seconds, ...

The id hashes (config, sha256 of the words, vectors id), so revisiting a map is a file read.

The pipeline behind :func:`project` (shapes for n words of d dims)::

    vectors (n, d) ── metric="cosine": unit-normalise rows (then euclidean distance ranks like cosine)
      ── PCA to pca_first dims when d > pca_first (umap / t-SNE only; PCA itself goes straight to dims)
      ── kNN graph (n, k): exact up to 20,000 words, NN-descent (pynndescent) above; never an n×n matrix
      ── UMAP layout from that graph | sklearn t-SNE (Barnes-Hut) | PCA     → coords (n, dims)
      ── trust: the same kNN graph against a KD-tree kNN of the map

"Original space" for trust, clusters and neighbour lines means the vectors as the method saw them:
unit-normalised for cosine and, for UMAP / t-SNE, PCA-reduced to ``pca_first`` dims (which keeps
``metrics["pca_variance"]`` of the variance; set ``pca_first=0`` to measure against the full vectors).

Cosine is handled by normalising, not by UMAP's ``metric="cosine"``: PCA centres the data, which
changes cosines but not euclidean distances, and on unit vectors ``|a - b|² / 2 == 1 - cos(a, b)``,
so the graph handed to UMAP carries exactly the cosine distances (up to the PCA step).

Determinism: everything is seeded and single-threaded where order matters (umap-learn itself runs
single-threaded once ``random_state`` is set), so the same seed gives the same coordinates on the
same machine and library versions.

Cancel: checked between stages and, for UMAP, between optimisation epochs (through umap-learn's
tqdm hook), so a cancel lands within a fraction of a second. The NN-descent search and sklearn's
t-SNE are single calls without a hook: a cancel during them waits until they end.

Numba: umap-learn compiles its functions on first use (~10+ s) and marks few of them for numba's
on-disk cache. ``umap_jit.load_umap()`` switches that cache on for the rest (see there), so only the very first
process on a machine pays the compile in full; :func:`warm_up` pays what is left at app start.

Example::

    kv = load_vectors(ws, vectors_id)
    words, unknown = select_words(kv, mode="top", top_n=5000)
    manifest = build_map(ws, vectors_id, words, ProjectionConfig(method="umap", dims=2))
    data = load_map(ws, manifest.id)   # data.coords (5000, 2) float32, data.trust (5000,)
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from core.embeddings.words import find_word, split_words
from core.errors import UserError
from core.jobs import NoJob
from core.umap_jit import load_umap, numba_guard
from core.workspace import Manifest, Workspace, package_versions

KIND = "map"
METHODS = ("umap", "pca", "tsne")
METRICS = ("cosine", "euclidean")
MIN_WORDS = 4
# Up to this many words the kNN graph is exact (sklearn, ~2 s at 20k × 50 dims on 2 cores, no JIT);
# above it NN-descent (pynndescent: 2.5 s at 50k, exact would take 10 s) which costs ~10-15 s of numba
# compile once per process that no disk cache can save (see _cache_class).
EXACT_KNN_MAX = 20_000
_CHUNK = 4096  # rows per block in the blockwise kNN / overlap computations (bounded memory)


@dataclass(frozen=True)
class ProjectionConfig:
    method: str = "umap"  # "umap" | "pca" | "tsne"
    dims: int = 2  # 2 or 3
    n_neighbors: int = 15  # umap: how many neighbours shape each word's neighbourhood
    min_dist: float = 0.1  # umap: how tightly points may pack, 0..1
    metric: str = "cosine"  # umap / tsne: "cosine" | "euclidean"
    perplexity: float = 30.0  # tsne
    seed: int = 42
    pca_first: int = 50  # pre-reduce with PCA to this many dims when the vectors have more (0 = never)
    trust_k: int = 10  # neighbours compared by the trust score

    def validate(self, n_points: int) -> ProjectionConfig:
        """Check the settings for a map of ``n_points`` words; returns the config to use.

        Raises UserError with what to change. ``trust_k`` is a diagnostic, so it is quietly
        lowered to ``n_points - 1`` for tiny maps; everything else the user chose is refused, not bent.
        """
        if self.method not in METHODS:
            raise UserError(f"Unknown projection method {self.method!r}: use one of {', '.join(METHODS)}.")
        if self.dims not in (2, 3):
            raise UserError(f"A map has 2 or 3 dimensions, not {self.dims!r}.")
        if self.metric not in METRICS:
            raise UserError(f"Unknown distance {self.metric!r}: use 'cosine' or 'euclidean'.")
        if not _is_int(self.n_neighbors) or self.n_neighbors < 2:
            raise UserError(f"UMAP needs at least 2 neighbours per word, not {self.n_neighbors!r}.")
        if not 0.0 <= float(self.min_dist) <= 1.0:
            raise UserError(f"UMAP's minimum distance must be between 0 and 1, not {self.min_dist!r}.")
        if not float(self.perplexity) > 0:
            raise UserError(f"t-SNE's perplexity must be positive, not {self.perplexity!r}.")
        if not _is_int(self.seed) or self.seed < 0:
            raise UserError(f"The seed must be a whole number of at least 0, not {self.seed!r}.")
        if not _is_int(self.pca_first) or self.pca_first < 0 or 0 < self.pca_first < self.dims:
            raise UserError(f"PCA pre-reduction must be 0 (off) or at least {self.dims} dimensions, not {self.pca_first!r}.")
        if not _is_int(self.trust_k) or self.trust_k < 1:
            raise UserError(f"The trust score needs at least 1 neighbour, not {self.trust_k!r}.")
        n = int(n_points)
        if n < MIN_WORDS:
            raise UserError(
                f"A map needs at least {MIN_WORDS} words, and there {'is' if n == 1 else 'are'} only {n}: "
                "with so few points a layout says nothing, so the page shows them as a table instead. "
                "Add words, or pick more of the most frequent ones."
            )
        if self.method == "umap" and self.n_neighbors >= n:
            raise UserError(
                f"UMAP's 'neighbours' ({self.n_neighbors}) must be smaller than the number of words ({n}). "
                f"Lower it to at most {n - 1}, or map more words."
            )
        if self.method == "tsne" and self.perplexity >= n:
            raise UserError(
                f"t-SNE's perplexity ({self.perplexity:g}) must be smaller than the number of words ({n}). "
                f"Lower it to at most {max(1, n // 3)}, or map more words."
            )
        if self.trust_k >= n:
            return _replace(self, trust_k=n - 1)
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ProjectionConfig:
        """The config saved in a manifest; unknown keys (e.g. ``n_words``) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: type(getattr(cls, key))(value) for key, value in (d or {}).items() if key in known})


@dataclass(frozen=True)
class MapData:
    words: list[str]
    coords: np.ndarray  # float32 (n, dims)
    counts: np.ndarray  # int64 (n,), 0 for imported vectors
    trust: np.ndarray  # float32 (n,), in [0, 1]
    config: ProjectionConfig


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _replace(config: ProjectionConfig, **changes) -> ProjectionConfig:
    return ProjectionConfig(**{**config.to_dict(), **changes})


# ---------------------------------------------------------------------------------------------
# Choosing the words
# ---------------------------------------------------------------------------------------------


def select_words(kv, *, mode: str = "top", top_n: int = 5000, words=(), seeds=(), per_seed: int = 50
                 ) -> tuple[list[str], list[str]]:
    """The words to map and the typed words that are not in the vocabulary.

    - ``"top"``: the ``top_n`` most frequent words (all of them when ``top_n >= len(kv)``);
    - ``"list"``: the typed ``words`` (a list, or one string split on commas/spaces), in order,
      without repeats, each found exactly, lowercased or case-insensitively;
    - ``"seeds"``: each seed followed by its ``per_seed`` nearest neighbours by cosine, without repeats.

    >>> select_words(kv, mode="list", words="King, queen, zzyzx")
    (['king', 'queen'], ['zzyzx'])
    """
    if mode == "top":
        if not _is_int(top_n) or top_n < 1:
            raise UserError(f"The number of words must be a whole number of at least 1, not {top_n!r}.")
        return list(kv.index_to_key[: int(top_n)]), []
    if mode not in ("list", "seeds"):
        raise UserError(f"Unknown way to choose words {mode!r}: use 'top', 'list' or 'seeds'.")
    typed = split_words(words if mode == "list" else seeds)
    found, unknown, seen = [], [], set()

    def add(word: str) -> None:
        if word not in seen:
            seen.add(word)
            found.append(word)

    if mode == "seeds" and (not _is_int(per_seed) or per_seed < 0):
        raise UserError(f"The number of neighbours per seed must be a whole number of at least 0, not {per_seed!r}.")
    for word in typed:
        form = find_word(kv, word)
        if form is None:
            unknown.append(word)
            continue
        add(form)
        if mode == "seeds" and per_seed > 0:
            for neighbour, _ in kv.most_similar(form, topn=int(per_seed)):
                add(neighbour)
    return found, unknown


_WARM_LOCK = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Compile (or load from numba's disk cache) everything a UMAP map runs, on a tiny input.

    Safe to call from a background thread at app start; a second call returns at once, and a
    call while the first is running waits for it. Costs, on 2 cores: the UMAP layout ~0.5 s with
    numba's disk cache warm (~15 s the first time on a machine), then NN-descent (maps over
    EXACT_KNN_MAX words) ~10-15 s of compile in every new process (not cacheable, see _cache_class).
    """
    global _warmed
    with _WARM_LOCK:
        if _warmed:
            return
        rng = np.random.default_rng(0)
        x = rng.normal(size=(240, 12)).astype(np.float32)
        # exact kNN + layout first (all that maps up to EXACT_KNN_MAX words need), then NN-descent
        project(x, ProjectionConfig(method="umap", n_neighbors=5, pca_first=0))
        _knn(x, 6, seed=0, exact=False)
        _warmed = True


class _EpochHook:
    """A file for umap-learn's tqdm bar (``tqdm_kwds``): it turns "n/total" into progress and checks
    cancel between epochs. umap-learn has no callback; its epoch loop is ``for n in tqdm(...)``."""

    def __init__(self, ctx, start: float, end: float):
        self.ctx, self.start, self.end, self.stopped = ctx, start, end, False

    def write(self, text: str) -> None:
        if self.stopped:
            return
        match = re.search(r"(\d+)/(\d+)", text)
        if not match:
            return
        done, total = int(match.group(1)), int(match.group(2))
        if total and done < total:
            try:
                self.ctx.check_cancelled()
            except BaseException:
                self.stopped = True  # tqdm writes again while closing: raise once only
                raise
            self.ctx.progress(self.start + (self.end - self.start) * done / total, f"UMAP layout: epoch {done} of {total}")

    def flush(self) -> None: ...

    @contextmanager
    def releasing_tqdm(self):
        """Give back tqdm's global lock if a cancel left this thread holding it.

        The cancel is raised in ``write``, inside tqdm's ``refresh()``, which acquires the lock and releases
        it without try/finally (tqdm 4.x). Left held, the next bar anywhere in the process waits forever
        (a model load in another job: transformers' "Loading weights" bar)."""
        try:
            yield
        finally:
            if self.stopped:
                from tqdm.std import TqdmDefaultWriteLock, tqdm

                while TqdmDefaultWriteLock.th_lock is not None and TqdmDefaultWriteLock.th_lock._is_owned():
                    tqdm.get_lock().release()

    def tqdm_kwds(self) -> dict:
        return {"disable": False, "file": self, "bar_format": "{n}/{total}", "mininterval": 0.25, "leave": False}


# ---------------------------------------------------------------------------------------------
# The projection
# ---------------------------------------------------------------------------------------------


def _all_same(x: np.ndarray) -> bool:
    """Every row equal, up to float32 rounding (normalising parallel rows leaves 1-ulp differences)."""
    return float(np.ptp(x, axis=0).max()) <= 1e-6 * max(1.0, float(np.abs(x).max()))


def _check_vectors(vectors, names=None) -> np.ndarray:
    x = np.asarray(vectors)
    if x.ndim != 2:
        raise UserError(f"Vectors must be a 2-D array (words × dimensions), not shape {x.shape}.")
    if not np.issubdtype(x.dtype, np.number):
        raise UserError(f"Vectors must be numbers, not {x.dtype}.")
    x = np.ascontiguousarray(x, dtype=np.float32)
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = [names[i] if names is not None else f"row {i}" for i in rows[:10]]
        more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
        raise UserError(
            f"{len(rows)} vector(s) contain NaN or infinite values: {', '.join(map(repr, shown))}{more}. "
            "The model is damaged there; leave those words out or retrain (a lower learning rate helps)."
        )
    if len(x) and _all_same(x):
        raise UserError(
            f"All {len(x)} vectors are identical, so every word would land on the same spot. "
            "The model has not learnt anything yet: train it longer or on more text."
        )
    return x


def _prepare(x: np.ndarray, config: ProjectionConfig, *, pre_reduce: bool, seed: int) -> tuple[np.ndarray, float | None]:
    """Unit-normalise for cosine, then PCA to ``pca_first`` dims when the vectors have more."""
    if config.metric == "cosine":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.where(norms > 0, norms, 1.0)  # zero vectors stay at the origin
        if _all_same(x):
            raise UserError(
                "All vectors point the same way, so under cosine distance every word is in the same spot. "
                "Use euclidean distance, or train the model longer."
            )
    variance = None
    if pre_reduce and config.pca_first and x.shape[1] > config.pca_first and x.shape[0] > config.pca_first:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=config.pca_first, random_state=seed)
        x = pca.fit_transform(x)
        variance = float(pca.explained_variance_ratio_.sum())
    return np.ascontiguousarray(x, dtype=np.float32), variance


def _knn(x: np.ndarray, k: int, *, seed: int, exact: bool | None = None) -> tuple[np.ndarray, np.ndarray, object]:
    """Euclidean k nearest neighbours of every row, itself included: (indices (n, k), distances (n, k), index).

    Exact (sklearn, blockwise, memory O(block·n)) up to EXACT_KNN_MAX rows; NN-descent above
    (pynndescent through umap-learn, single-threaded so that a seed gives the same graph).
    """
    n = len(x)
    k = min(k, n)
    if exact if exact is not None else n <= EXACT_KNN_MAX:
        from sklearn.neighbors import NearestNeighbors

        dist, ind = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(x).kneighbors(x)
        return ind.astype(np.int32), dist.astype(np.float32), None
    umap = load_umap()
    with numba_guard(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ind, dist, index = umap.umap_.nearest_neighbors(
            x, k, "euclidean", {}, False, np.random.RandomState(seed), low_memory=True, n_jobs=1)
    return ind, dist.astype(np.float32), index


def _project(vectors: np.ndarray, config: ProjectionConfig, ctx) -> tuple[np.ndarray, tuple | None, dict]:
    """coords, the kNN graph of the space the method saw (indices, distances) when one was built, and stage info."""
    config = config.validate(len(vectors))
    x = _check_vectors(vectors)
    if x.shape[1] < config.dims:
        raise UserError(f"The vectors have {x.shape[1]} dimension(s); a {config.dims}-D map needs at least {config.dims}.")
    info: dict = {}
    t0 = time.perf_counter()
    ctx.check_cancelled()
    ctx.progress(0.05, "Reducing dimensions with PCA" if config.method != "pca" else "PCA")
    if config.method == "pca":
        from sklearn.decomposition import PCA

        space, _ = _prepare(x, config, pre_reduce=False, seed=config.seed)
        pca = PCA(n_components=config.dims, random_state=config.seed)
        coords = pca.fit_transform(space)
        info.update(pca_variance=float(pca.explained_variance_ratio_.sum()), pca_s=time.perf_counter() - t0)
        info["_space"] = space
        return coords.astype(np.float32), None, info

    space, variance = _prepare(x, config, pre_reduce=True, seed=config.seed)
    info.update(pca_variance=variance, pca_s=time.perf_counter() - t0)
    ctx.check_cancelled()
    if config.method == "tsne":
        from sklearn.manifold import TSNE

        ctx.progress(0.15, f"t-SNE on {len(space):,} words (no progress until it ends)")
        t0 = time.perf_counter()
        from threadpoolctl import threadpool_limits

        tsne = TSNE(n_components=config.dims, perplexity=float(config.perplexity), init="pca",
                    random_state=config.seed, method="barnes_hut", n_jobs=1)
        # Barnes-Hut runs ~1000 short OpenMP loops: on a busy 2-core machine the threads' barrier
        # waits made a 120-word map take 0.8-38 s (measured); one thread is steady and, for small maps, faster.
        with threadpool_limits(1 if len(space) < 10_000 else None, user_api="openmp"):
            coords = tsne.fit_transform(space)
        info["embed_s"] = time.perf_counter() - t0
        info["_space"] = space
        ctx.check_cancelled()
        return coords.astype(np.float32), None, info

    # UMAP: our kNN graph (reused for trust), then umap-learn's layout from it.
    umap = load_umap()
    ctx.progress(0.12, f"Finding the {config.n_neighbors} nearest neighbours of {len(space):,} words")
    t0 = time.perf_counter()
    k = max(config.n_neighbors, config.trust_k + 1)
    ind, dist, index = _knn(space, k, seed=config.seed)
    if config.metric == "cosine":
        dist = dist * dist / 2  # on unit vectors: |a - b|² / 2 = 1 - cos(a, b)
    info.update(knn_s=time.perf_counter() - t0, knn="exact" if index is None else "nn-descent")
    ctx.check_cancelled()
    ctx.progress(0.35, "UMAP layout")
    t0 = time.perf_counter()
    hook = _EpochHook(ctx, 0.35, 0.85)
    nn = config.n_neighbors
    precomputed = (ind[:, :nn], dist[:, :nn]) if index is None else (ind[:, :nn], dist[:, :nn], index)
    reducer = umap.UMAP(n_neighbors=nn, n_components=config.dims, min_dist=float(config.min_dist),
                        metric=config.metric, random_state=config.seed, precomputed_knn=precomputed,
                        tqdm_kwds=hook.tqdm_kwds())
    with numba_guard(), warnings.catch_warnings(), hook.releasing_tqdm():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state", "no search index", disconnection notes
        coords = reducer.fit_transform(space)
    info["embed_s"] = time.perf_counter() - t0
    ctx.check_cancelled()
    return np.asarray(coords, dtype=np.float32), (ind, dist), info


def project(vectors: np.ndarray, config: ProjectionConfig, ctx=None) -> np.ndarray:
    """Positions (n, dims) float32 for vectors (n, d). The pure function under :func:`build_map`.

    >>> project(np.random.rand(100, 50), ProjectionConfig(method="pca", dims=3)).shape
    (100, 3)
    """
    return _project(vectors, config, ctx or NoJob())[0]


# ---------------------------------------------------------------------------------------------
# Trust, clusters, neighbour lines (semantic axes: core/semantic_axes.py)
# ---------------------------------------------------------------------------------------------


def _without_self(indices: np.ndarray, k: int) -> np.ndarray:
    """The first k entries of each row that are not the row's own index (duplicates may push it off column 0)."""
    n = len(indices)
    keep = indices != np.arange(n)[:, None]
    order = np.argsort(~keep, axis=1, kind="stable")  # kept entries first, in their order
    return np.take_along_axis(indices, order, axis=1)[:, :k]


def trust_scores(vectors: np.ndarray, coords: np.ndarray, k: int, metric: str = "cosine", knn=None) -> np.ndarray:
    """Per point: the share of its ``k`` nearest neighbours in the original space that are also among
    its ``k`` nearest on the map. float32 (n,) in [0, 1]; 1 = the map shows this word's neighbourhood faithfully.

    ``knn=(indices, distances)`` reuses a kNN graph of the original space (e.g. UMAP's, itself
    included, at least k + 1 columns), so only the map side is searched (a KD-tree: 2-3 dims).
    Memory stays O(n·k); no n×n matrix is ever built.
    """
    coords = np.asarray(coords, dtype=np.float64)
    n = len(coords)
    if n < 2:
        return np.ones(n, dtype=np.float32)
    k = int(min(k, n - 1))
    if knn is not None and np.asarray(knn[0]).shape[1] >= k + 1:
        original = _without_self(np.asarray(knn[0]), k)
    else:
        x = _check_vectors(vectors)
        if metric == "cosine":
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            x = x / np.where(norms > 0, norms, 1.0)
        original = _without_self(_knn(x, k + 1, seed=0)[0], k)
    from sklearn.neighbors import KDTree

    on_map = _without_self(KDTree(coords).query(coords, k=k + 1, return_distance=False), k)
    shared = np.empty(n, dtype=np.int64)
    for lo in range(0, n, _CHUNK):  # (block, k, k) comparisons: bounded memory for any k
        a, b = original[lo:lo + _CHUNK], on_map[lo:lo + _CHUNK]
        shared[lo:lo + _CHUNK] = (a[:, :, None] == b[:, None, :]).any(axis=2).sum(axis=1)
    return (shared / k).astype(np.float32)


def _reduce_for_clustering(vectors: np.ndarray, dims: int, seed: int) -> np.ndarray:
    x = _check_vectors(vectors)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1.0)
    if x.shape[1] > dims and x.shape[0] > dims:
        from sklearn.decomposition import PCA

        x = PCA(n_components=dims, random_state=seed).fit_transform(x).astype(np.float32)
    return x


HDBSCAN_DIMS = 10  # see cluster(): HDBSCAN's tree search degrades towards O(n²) with dimensions


def cluster(vectors: np.ndarray, method: str = "kmeans", k: int = 8, seed: int = 42, *,
            min_cluster_size: int | None = None) -> np.ndarray:
    """Cluster labels int64 (n,) computed in the original space (unit-normalised, then PCA-reduced).

    - ``"kmeans"``: ``k`` clusters; KMeans up to 10,000 points, MiniBatchKMeans above.
      Reduced to 50 dims.
    - ``"hdbscan"``: as many clusters as the density shows, ``-1`` = noise; ``k`` is not used,
      ``min_cluster_size`` defaults to ``max(5, n // 200)``. Reduced to HDBSCAN_DIMS (10) dims: sklearn's
      HDBSCAN grows ~n² here (measured on 2 cores: 20k points at 50 dims 25 s, so 50k would take minutes;
      50k at 10 dims 34 s, at 5 dims 15 s). KMeans on 50k points at 50 dims: ~1.3 s.
    """
    if method not in ("kmeans", "hdbscan"):
        raise UserError(f"Unknown clustering {method!r}: use 'kmeans' or 'hdbscan'.")
    n = len(vectors)
    if n < 2:
        raise UserError(f"Clustering needs at least 2 words, not {n}.")
    if method == "kmeans":
        if not _is_int(k) or not 1 <= k <= n:
            raise UserError(f"The number of clusters must be between 1 and the number of words ({n}), not {k!r}.")
        x = _reduce_for_clustering(vectors, 50, seed)
        from sklearn.cluster import KMeans, MiniBatchKMeans

        if n <= 10_000:
            model = KMeans(n_clusters=int(k), n_init=4, random_state=seed)
        else:
            model = MiniBatchKMeans(n_clusters=int(k), n_init=3, batch_size=4096, random_state=seed)
        return model.fit_predict(x).astype(np.int64)
    size = max(5, n // 200) if min_cluster_size is None else int(min_cluster_size)
    if size < 2 or size > n:
        raise UserError(f"The smallest cluster size must be between 2 and the number of words ({n}), not {size}.")
    x = _reduce_for_clustering(vectors, HDBSCAN_DIMS, seed)
    from sklearn.cluster import HDBSCAN

    return HDBSCAN(min_cluster_size=size, copy=True).fit_predict(x).astype(np.int64)


def neighbours_in_space(vectors: np.ndarray, index: int, k: int) -> list[int]:
    """Row indices of the ``k`` nearest rows to row ``index`` by cosine in the original space, nearest first, itself excluded."""
    x = np.asarray(vectors, dtype=np.float32)
    n = len(x)
    if not 0 <= int(index) < n:
        raise UserError(f"There is no word number {index} on this map (it has {n}).")
    k = int(min(k, n - 1))
    if k < 1:
        return []
    norms = np.linalg.norm(x, axis=1)
    sims = (x @ x[index]) / np.where(norms > 0, norms, 1.0) / (norms[index] or 1.0)
    sims[index] = -np.inf
    top = np.argpartition(-sims, k - 1)[:k] if k < n - 1 else np.arange(n)
    top = top[top != index][:k]
    return [int(i) for i in top[np.argsort(-sims[top], kind="stable")]]


# ---------------------------------------------------------------------------------------------
# The artifact
# ---------------------------------------------------------------------------------------------


def _words_sha(words: list[str]) -> str:
    return hashlib.sha256("\n".join(words).encode("utf-8", "surrogatepass")).hexdigest()


def map_id(vectors_id: str, words: list[str], config: ProjectionConfig) -> str:
    """The id build_map gives this map (trust_k lowered for tiny maps as validate() does, so ids agree)."""
    words = list(words)
    if config.trust_k >= len(words) >= 2:
        config = _replace(config, trust_k=len(words) - 1)
    return Workspace.artifact_id(KIND, {**config.to_dict(), "words_sha": _words_sha(list(words))}, parents=[vectors_id])


def build_map(ws: Workspace, vectors_id: str, words: list[str], config: ProjectionConfig, ctx=None) -> Manifest:
    """Project ``words`` of a vectors artifact and save the map; returns the existing map at once if it is there.

    Stages and their progress: PCA 0.05, kNN 0.12, UMAP layout 0.35-0.85 (per epoch), trust 0.88, saving 0.97.
    """
    from core.embeddings.store import load_vectors
    from core.embeddings.vectors import word_counts

    ctx = ctx or NoJob()
    words = list(words)
    config = config.validate(len(words))
    if len(set(words)) != len(words):
        raise UserError("The word list names some words twice; remove the repeats (select_words does).")
    artifact_id = map_id(vectors_id, words, config)
    if ws.exists(KIND, artifact_id):
        return ws.manifest(KIND, artifact_id)

    def write(folder: Path) -> dict:
        start = time.perf_counter()
        ctx.progress(0.01, "Loading the vectors")
        kv = load_vectors(ws, vectors_id)
        missing = [w for w in words if w not in kv.key_to_index]
        if missing:
            raise UserError(f"{len(missing)} word(s) are not in this model: {', '.join(map(repr, missing[:10]))}. "
                            "Choose the words with the same model.")
        rows = np.fromiter((kv.key_to_index[w] for w in words), dtype=np.int64, count=len(words))
        vectors = _check_vectors(kv.vectors[rows], names=words)
        counts = word_counts(kv)[rows]
        coords, knn, info = _project(vectors, config, ctx)
        ctx.check_cancelled()
        ctx.progress(0.88, "Scoring how well the map keeps each word's neighbours")
        t0 = time.perf_counter()
        space = info.pop("_space", None)
        if knn is None:
            trust = trust_scores(space, coords, config.trust_k, metric="euclidean")  # space is already normalised
        else:
            trust = trust_scores(None, coords, config.trust_k, knn=knn)
        info["trust_s"] = time.perf_counter() - t0
        ctx.check_cancelled()
        ctx.progress(0.97, "Saving the map")
        _save_npy(folder / "coords.npy", np.ascontiguousarray(coords, dtype=np.float32))
        _save_npy(folder / "trust.npy", np.ascontiguousarray(trust, dtype=np.float32))
        (folder / "words.json").write_text(json.dumps({"words": words, "counts": counts.tolist()}), encoding="utf-8")
        return {**{k: v for k, v in info.items() if v is not None}, "n_words": len(words), "dims": config.dims,
                "trust_mean": float(trust.mean()), "seconds": time.perf_counter() - start}

    name = f"{config.method.upper() if config.method != 'tsne' else 't-SNE'} {config.dims}-D · {len(words):,} words"
    packages = ("scikit-learn", "umap-learn", "pynndescent", "numba") if config.method == "umap" else ("scikit-learn",)
    return ws.create(KIND, artifact_id, name=name, config={**config.to_dict(), "n_words": len(words)},
                     parents=[vectors_id], write=write, versions=package_versions(*packages))


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)


def load_map(ws: Workspace, map_id: str) -> MapData:
    """Read a saved map; a damaged folder raises UserError saying what to do."""
    manifest = ws.manifest(KIND, map_id)
    folder = ws.path(KIND, map_id)
    try:
        listing = json.loads((folder / "words.json").read_text(encoding="utf-8"))
        words, counts = listing["words"], np.asarray(listing["counts"], dtype=np.int64)
        coords = np.load(folder / "coords.npy", allow_pickle=False)
        trust = np.load(folder / "trust.npy", allow_pickle=False)
        config = ProjectionConfig.from_dict(manifest.config)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"The saved map {map_id} can't be read ({e}). Delete it and build it again.") from None
    n = len(words)
    if coords.shape != (n, config.dims) or trust.shape != (n,) or counts.shape != (n,):
        raise UserError(f"The saved map {map_id} is damaged (coords {coords.shape}, trust {trust.shape} for {n} words). "
                        "Delete it and build it again.")
    return MapData(words=words, coords=coords.astype(np.float32, copy=False), counts=counts,
                   trust=trust.astype(np.float32, copy=False), config=config)

"""GloVe (Pennington, Socher & Manning, 2014): co-occurrence counting + weighted least squares.

No well-kept Python GloVe trainer exists, so this is ours: one file, two steps.

1. ``cooccurrence`` reads a tokens file (gensim LineSentence format: one sentence per line,
   tokens separated by spaces), keeps words seen at least ``min_count`` times and counts, for
   every pair of words at distance ``d <= window`` inside a line, ``1/d`` into ``X[i, j]`` and
   ``X[j, i]``. The result is a symmetric ``scipy.sparse.csr_matrix`` of shape ``(V, V)``.
2. ``fit_glove`` minimises, over the nonzeros of ``X``::

       J = sum_ij f(X_ij) * (w_i . w~_j + b_i + b~_j - log X_ij)^2,   f(x) = min(1, (x / x_max)^alpha)

   with AdaGrad, one pass over the shuffled nonzeros per epoch, and returns ``W + W~``.

Worked example (a 3-line file, window 2, every word kept)::

    the cat sat          X[the, cat] = 1     X[the, sat] = 1/2    X[cat, sat] = 1
    the dog sat          X[the, dog] = 1     X[the, sat] += 1/2   X[dog, sat] = 1
    sat                  (a line of one word adds nothing; windows never cross lines)

    >>> words, counts, X = cooccurrence("tokens.txt", window=2, min_count=1)
    >>> words, counts                     # most frequent first, ties by word
    (['sat', 'the', 'cat', 'dog'], array([3, 2, 1, 1]))
    >>> X.toarray()                       # (V, V) = (4, 4), symmetric, zero diagonal here
    array([[0. , 1. , 1. , 1. ],
           [1. , 0. , 1. , 1. ],
           [1. , 1. , 0. , 0. ],
           [1. , 1. , 0. , 0. ]])
    >>> result = train_glove("tokens.txt", vector_size=50, min_count=1)
    >>> result.vectors.shape, result.vectors.dtype   # (V, vector_size)
    ((4, 50), dtype('float32'))

Choices that differ from, or need saying next to, the Stanford C code:
- Windows do not cross lines. The C code reads the corpus as one token stream and ignores
  newlines, so the last words of one sentence count as context of the next one's first words.
  Our tokens artifact writes one sentence (or paragraph) per line, and a line break there is a
  real boundary (a new document, a new paragraph), so pairs across it are noise. Like the C code,
  words below ``min_count`` are dropped *before* windowing, so distances skip them.
- Two backends for training, picked by ``device``:
  ``"cpu"``: a numba Hogwild kernel (``workers`` threads update the shared matrices without locks,
  as the C code's pthreads do); ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"torch-cpu"``: PyTorch
  mini-batch AdaGrad (gradients summed per word within a batch), device-agnostic.
- Determinism: the same seed gives bit-identical vectors with ``device="cpu", workers=1`` and
  with the torch backend on CPU. With ``workers > 1`` the Hogwild threads race on shared rows,
  so results differ slightly from run to run (quality does not); on GPUs ``index_add_`` is not
  deterministic either.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp

from core.errors import UserError
from core.jobs import NoJob, SubProgress

CHUNK_BYTES = 8 << 20  # read (and count) the file 8 MiB at a time: memory stays bounded by the chunk
TORCH_BATCH = 16_384  # nonzeros per torch step: big enough for a GPU, small enough that AdaGrad still takes many steps


@dataclass(frozen=True)
class GloveResult:
    words: list[str]  # vocabulary, most frequent first
    counts: np.ndarray  # int64 (V,) corpus frequency of each word
    vectors: np.ndarray  # float32 (V, dim) = W + W~
    costs: list[float]  # mean weighted cost per epoch
    nonzeros: int
    seconds_counting: float
    seconds_training: float


# ---------------------------------------------------------------------------------------------
# 1. counting


def _chunks(path, ctx, what: str, share: tuple[float, float]):
    """Yield lists of lines, about CHUNK_BYTES at a time, reporting progress over ``share``."""
    size = max(1, os.path.getsize(path))
    with open(path, "rb") as f:
        while True:
            ctx.check_cancelled()
            raw = f.read(CHUNK_BYTES)
            if not raw:
                return
            raw += f.readline()  # finish the last line, so no line is split between chunks
            done = f.tell()
            ctx.progress(share[0] + (share[1] - share[0]) * done / size, f"{what}: {done / 1e6:,.1f} of {size / 1e6:,.1f} MB")
            yield raw.decode("utf-8", errors="replace").split("\n")


def _vocabulary(path, min_count: int, max_vocab: int | None, ctx) -> tuple[list[str], np.ndarray]:
    counts: Counter[str] = Counter()
    for lines in _chunks(path, ctx, "Counting words", (0.0, 0.2)):
        counts.update(chain.from_iterable(map(str.split, lines)))  # Counter.update runs in C
    if not counts:
        raise UserError("The tokens file is empty: there are no words to train GloVe on. Preprocess a corpus with text first.")
    kept = sorted(((w, c) for w, c in counts.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))
    if not kept:
        top, top_count = max(counts.items(), key=lambda wc: wc[1])
        raise UserError(
            f"No word occurs at least {min_count:,} times (min count): the {len(counts):,} distinct words occur at most "
            f"{top_count:,} times ('{top}'). Lower the min count to {top_count:,} or less, or use a bigger corpus."
        )
    if max_vocab is not None:
        kept = kept[:max_vocab]
    return [w for w, _ in kept], np.array([c for _, c in kept], dtype=np.int64)


def _pairs(ids: np.ndarray, line: np.ndarray, window: int, V: int) -> sp.csr_matrix:
    """Left-context counts of one chunk: ``C[i, j] += 1/d`` for j at d places before i on the same line.

    The full matrix is ``C + C.T``: counting one direction and transposing once at the end halves
    the pairs that go through scipy's sort-and-sum.
    """
    rows, cols, vals = [], [], []
    for d in range(1, window + 1):
        same = line[d:] == line[:-d]  # the pair lies within one line
        rows.append(ids[d:][same])
        cols.append(ids[:-d][same])
        vals.append(np.full(int(same.sum()), 1.0 / d))
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    return sp.csr_matrix((vals, (rows, cols)), shape=(V, V))  # COO -> CSR sums duplicate pairs


def cooccurrence(path, *, window: int = 10, min_count: int = 5, max_vocab: int | None = None,
                 ctx=None) -> tuple[list[str], np.ndarray, sp.csr_matrix]:
    """Vocabulary and symmetric 1/distance co-occurrence counts of a LineSentence tokens file.

    Returns ``(words, counts, X)``: ``words`` most frequent first (ties by word), ``counts`` int64
    ``(V,)``, ``X`` a float64 ``csr_matrix`` ``(V, V)`` with sorted indices. Two passes over the file
    (count words, then pairs), each a chunk at a time, so memory grows with the vocabulary and the
    nonzeros, not with the corpus.
    """
    ctx = ctx or NoJob()
    if window < 1:
        raise UserError(f"The window must be at least 1 word; it is {window}.")
    if min_count < 1:
        raise UserError(f"The min count must be at least 1; it is {min_count}.")
    if max_vocab is not None and max_vocab < 1:
        raise UserError(f"The vocabulary cap must be at least 1 word; it is {max_vocab}.")
    words, counts = _vocabulary(path, min_count, max_vocab, ctx)
    V, index = len(words), {w: i for i, w in enumerate(words)}
    get = index.get
    X = sp.csr_matrix((V, V), dtype=np.float64)
    for lines in _chunks(path, ctx, "Counting co-occurrences", (0.2, 1.0)):
        tokens = [line.split() for line in lines]
        ids = np.fromiter(map(get, chain.from_iterable(tokens), repeat(-1)), dtype=np.int32)
        line = np.repeat(np.arange(len(tokens), dtype=np.int32), [len(t) for t in tokens])
        keep = ids >= 0  # drop rare words before windowing, as the C code does
        X += _pairs(ids[keep], line[keep], window, V)
    X = (X + X.T).tocsr()
    X.sum_duplicates()
    X.sort_indices()
    return words, counts, X


# ---------------------------------------------------------------------------------------------
# 2. training


def _init(V: int, dim: int, seed: int):
    # Uniform in [-0.5, 0.5) / dim, as the C code's (rand() / RAND_MAX - 0.5) / vector_size, for the
    # vectors and the biases alike. AdaGrad's squared-gradient sums start at 1, also as there.
    rng = np.random.default_rng(seed)
    W, C = ((rng.random((V, dim)) - 0.5) / dim for _ in range(2))
    bw, bc = ((rng.random(V) - 0.5) / dim for _ in range(2))
    return [a.astype(np.float32) for a in (W, C, bw, bc)], rng


_KERNEL = None


def _numba_kernel():
    """Compile (or load from numba's on-disk cache) the Hogwild epoch; imported lazily, numba costs ~1 s."""
    global _KERNEL
    if _KERNEL is not None:
        return _KERNEL
    from numba import njit, prange

    # fastmath lets LLVM vectorise the dot product (reassoc) and use approximate 1/sqrt (afn, arcp), but
    # not the "no nan/inf" flags, which would fold the isfinite check below away.
    @njit(parallel=True, fastmath={"reassoc", "contract", "arcp", "afn", "nsz"}, cache=True, nogil=True)
    def epoch(rows, cols, logx, fx, W, C, bw, bc, gW, gC, gbw, gbc, lr, threads):  # pragma: no cover - numba
        # The nonzeros come already shuffled. Each thread takes a contiguous slice and updates W, C and
        # the biases in place without locks (Hogwild): collisions are rare, as rows are many.
        n, dim = rows.size, W.shape[1]
        costs = np.zeros(threads)
        step = (n + threads - 1) // threads
        for t in prange(threads):
            cost = 0.0
            for e in range(t * step, min(n, (t + 1) * step)):
                i, j = rows[e], cols[e]
                diff = bw[i] + bc[j] - logx[e]
                for d in range(dim):
                    diff += W[i, d] * C[j, d]
                fdiff = fx[e] * diff
                if not math.isfinite(fdiff):  # as the C code: skip a diverged pair rather than spread nan
                    continue
                cost += 0.5 * fdiff * diff
                fdiff *= lr
                # AdaGrad as in the C code: step with the sums so far, then add this gradient. The sums are
                # of lr-scaled gradients (starting at 1), so steps shrink more slowly than textbook AdaGrad's.
                for d in range(dim):
                    gw = fdiff * C[j, d]
                    gc = fdiff * W[i, d]
                    W[i, d] -= gw / math.sqrt(gW[i, d])
                    C[j, d] -= gc / math.sqrt(gC[j, d])
                    gW[i, d] += gw * gw
                    gC[j, d] += gc * gc
                bw[i] -= fdiff / math.sqrt(gbw[i])
                bc[j] -= fdiff / math.sqrt(gbc[j])
                gbw[i] += fdiff * fdiff
                gbc[j] += fdiff * fdiff
            costs[t] = cost
        return costs.sum()

    _KERNEL = epoch
    return epoch


def _fit_numba(rows, cols, logx, fx, params, rng, epochs, learning_rate, workers, ctx) -> list[float]:
    import numba

    kernel = _numba_kernel()
    W, C, bw, bc = params
    grads = [np.ones_like(a) for a in params]
    threads = max(1, min(int(workers), numba.config.NUMBA_NUM_THREADS))
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    costs = []
    try:
        for e in range(epochs):
            ctx.check_cancelled()
            # Shuffle the nonzeros each epoch by copying them into the new order: the kernel then reads them
            # front to back, which was ~1.5x faster than reading through a permutation index.
            order = rng.permutation(rows.size)
            cost = kernel(rows[order], cols[order], logx[order], fx[order], W, C, bw, bc, *grads,
                          np.float32(learning_rate), threads)
            costs.append(float(cost) / rows.size)
            _epoch_done(ctx, e, epochs, costs[-1])
    finally:
        numba.set_num_threads(before)
    return costs


def _fit_torch(rows, cols, logx, fx, params, rng, epochs, learning_rate, device, workers, ctx) -> list[float]:
    import torch

    if device == "torch-cpu":
        # torch's OpenMP threads spin while they wait: on a busy machine more threads than free cores
        # made an epoch 20x slower here. Use ``workers`` threads for the call, as the numba path does.
        before = torch.get_num_threads()
        torch.set_num_threads(max(1, int(workers)))
        try:
            return _fit_torch(rows, cols, logx, fx, params, rng, epochs, learning_rate, "cpu", workers, ctx)
        finally:
            torch.set_num_threads(before)

    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError("GloVe was asked to train on a CUDA GPU, but PyTorch sees none here. Choose the CPU instead.")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise UserError("GloVe was asked to train on Apple's MPS GPU, but it is not available here. Choose the CPU instead.")
    W, C, bw, bc = (torch.from_numpy(a).to(dev) for a in params)
    gW, gC, gbw, gbc = (torch.ones_like(a) for a in (W, C, bw, bc))
    rows_t, cols_t = (torch.from_numpy(a.astype(np.int64)).to(dev) for a in (rows, cols))
    logx_t, fx_t = (torch.from_numpy(a).to(dev) for a in (logx, fx))
    n, costs = rows.size, []
    acc = torch.float32 if dev.type == "mps" else torch.float64  # MPS has no float64; the cost sum only reports

    def adagrad(param, gsq, words, grad):
        # Sum the gradients of each distinct word in the batch, then one AdaGrad step per word: the
        # batch version of the C code's per-pair updates (summing in place of racing threads).
        uniq, inverse = words
        g = torch.zeros((uniq.numel(), *param.shape[1:]), dtype=param.dtype, device=dev).index_add_(0, inverse, grad)
        g *= learning_rate  # the C code sums squares of lr-scaled gradients, so steps shrink slowly
        gsq[uniq] += g * g  # add first (the C code adds after): a summed batch gradient then steps at most 1
        param[uniq] -= g / gsq[uniq].sqrt()

    with torch.no_grad():
        for e in range(epochs):
            ctx.check_cancelled()
            order = torch.from_numpy(rng.permutation(n)).to(dev)
            total = torch.zeros((), dtype=acc, device=dev)
            for start in range(0, n, TORCH_BATCH):
                b = order[start:start + TORCH_BATCH]
                i, j = rows_t[b], cols_t[b]
                wi, cj = W[i], C[j]
                diff = (wi * cj).sum(1) + bw[i] + bc[j] - logx_t[b]
                fdiff = fx_t[b] * diff
                total += (0.5 * fdiff * diff).sum(dtype=acc)
                ui, uj = torch.unique(i, return_inverse=True), torch.unique(j, return_inverse=True)
                adagrad(W, gW, ui, fdiff[:, None] * cj)
                adagrad(C, gC, uj, fdiff[:, None] * wi)
                adagrad(bw, gbw, ui, fdiff)
                adagrad(bc, gbc, uj, fdiff)
            costs.append(float(total) / n)
            _epoch_done(ctx, e, epochs, costs[-1])
        for a, t in zip(params, (W, C, bw, bc), strict=True):
            a[...] = t.cpu().numpy()
    return costs


def _epoch_done(ctx, e: int, epochs: int, cost: float) -> None:
    if not math.isfinite(cost):
        raise UserError(f"GloVe diverged in epoch {e + 1} (the cost is {cost}). Lower the learning rate and train again.")
    ctx.metric(epoch=e + 1, cost=cost)
    ctx.progress((e + 1) / epochs, f"Training GloVe: epoch {e + 1} of {epochs}, cost {cost:.4f}")


def fit_glove(cooc: sp.csr_matrix, *, vector_size: int = 100, epochs: int = 15, x_max: float = 100.0, alpha: float = 0.75,
              learning_rate: float = 0.05, seed: int = 1, workers: int = 2, device: str = "cpu",
              ctx=None) -> tuple[np.ndarray, list[float]]:
    """Train GloVe on a co-occurrence matrix ``(V, V)``; returns ``(W + W~ float32 (V, vector_size), costs)``.

    ``costs[e]`` is the mean over nonzeros of ``f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2 / 2``
    in epoch ``e`` (the C code's figure). ``device``: ``"cpu"`` (numba, ``workers`` threads),
    ``"torch-cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"`` (PyTorch).
    """
    ctx = ctx or NoJob()
    if vector_size < 1 or epochs < 1:
        raise UserError(f"GloVe needs at least 1 dimension and 1 epoch; got {vector_size} dimensions and {epochs} epochs.")
    if x_max <= 0 or learning_rate <= 0:
        raise UserError(f"x_max and the learning rate must be positive; got x_max={x_max}, learning rate={learning_rate}.")
    coo = sp.coo_matrix(cooc)
    coo = coo if coo.has_canonical_format else coo.tocsr().tocoo()
    keep = coo.data > 0
    if int(keep.sum()) < 2:
        raise UserError(f"Only {int(keep.sum())} word pair co-occurs, too few to train GloVe. Use a bigger corpus, "
                        "a wider window or a lower min count.")
    rows, cols = coo.row[keep].astype(np.int32), coo.col[keep].astype(np.int32)
    x = coo.data[keep].astype(np.float64)
    logx = np.log(x).astype(np.float32)
    fx = np.minimum(1.0, (x / x_max) ** alpha).astype(np.float32)  # the weighting f: rare pairs count less
    params, rng = _init(cooc.shape[0], vector_size, seed)
    ctx.progress(0.0, f"Training GloVe on {rows.size:,} nonzeros")
    if device == "cpu":
        costs = _fit_numba(rows, cols, logx, fx, params, rng, epochs, learning_rate, workers, ctx)
    elif device == "torch-cpu" or device == "mps" or device.split(":")[0] == "cuda":
        costs = _fit_torch(rows, cols, logx, fx, params, rng, epochs, learning_rate, device, workers, ctx)
    else:
        raise UserError(f"Unknown device '{device}' for GloVe; choose cpu, torch-cpu, cuda or mps.")
    W, C = params[0], params[1]
    return W + C, costs  # the paper's choice: word + context vectors, a little better than either alone


def train_glove(path, *, vector_size: int = 100, window: int = 10, min_count: int = 5, epochs: int = 15,
                x_max: float = 100.0, alpha: float = 0.75, learning_rate: float = 0.05, seed: int = 1, workers: int = 2,
                device: str = "cpu", max_vocab: int | None = None, ctx=None) -> GloveResult:
    """Count co-occurrences in a LineSentence tokens file and train GloVe vectors on them."""
    ctx = ctx or NoJob()
    start = time.perf_counter()
    count_ctx = SubProgress(ctx, 0.0, 0.2)  # counting is roughly the first fifth of the time
    words, counts, cooc = cooccurrence(path, window=window, min_count=min_count, max_vocab=max_vocab, ctx=count_ctx)
    counted = time.perf_counter()
    vectors, costs = fit_glove(cooc, vector_size=vector_size, epochs=epochs, x_max=x_max, alpha=alpha,
                               learning_rate=learning_rate, seed=seed, workers=workers, device=device,
                               ctx=SubProgress(ctx, 0.2, 1.0))
    return GloveResult(words=words, counts=counts, vectors=vectors, costs=costs, nonzeros=int(cooc.nnz),
                       seconds_counting=counted - start, seconds_training=time.perf_counter() - counted)

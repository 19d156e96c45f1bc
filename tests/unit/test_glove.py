"""Our GloVe trainer on real text (gensim's Lee corpus) and on hand-computed co-occurrences."""

from __future__ import annotations

import re

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from core.embeddings.glove import GloveResult, cooccurrence, fit_glove, train_glove
from core.errors import UserError
from core.jobs import Cancelled

# Lee is small (60 k tokens), so its pair counts are small too: x_max=5 instead of 100 lets f(X)
# weigh them in, and min_count=2 keeps enough WordSim-353 words to measure anything.
LEE = dict(vector_size=50, min_count=2, x_max=5.0)


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def lee(tmp_path_factory):
    lines = (" ".join(re.findall(r"[a-z]+", line.lower())) for line in open(datapath("lee_background.cor"), encoding="utf-8"))
    return write(tmp_path_factory.mktemp("lee") / "tokens.txt", "\n".join(line for line in lines if line) + "\n")


@pytest.fixture(scope="module")
def lee_cooc(lee):
    return cooccurrence(lee, min_count=LEE["min_count"])


def wordsim(words, vectors) -> float:
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    return kv.evaluate_word_pairs(datapath("wordsim353.tsv"))[1].statistic


@pytest.fixture(scope="module")
def random_rho(lee_cooc):
    # Random vectors score around 0 with a spread of ~0.08 on the ~130 WordSim pairs Lee covers; the mean of
    # 20 draws is a stable baseline.
    words = lee_cooc[0]
    return float(np.mean([wordsim(words, np.random.default_rng(s).standard_normal((len(words), 50))) for s in range(20)]))


class Recorder:
    """A ctx that remembers what it was told; ``cancel_after`` epochs it raises Cancelled."""

    def __init__(self, cancel_after: int | None = None):
        self.progress_calls, self.metrics, self.checks, self.cancel_after = [], [], 0, cancel_after

    def progress(self, fraction, message=None):
        self.progress_calls.append((fraction, message))

    def metric(self, **values):
        self.metrics.append(values)

    def check_cancelled(self):
        self.checks += 1
        if self.cancel_after is not None and len(self.metrics) >= self.cancel_after:
            raise Cancelled()


# --- counting ---------------------------------------------------------------------------------


def test_cooccurrence_matches_hand_count(tmp_path):
    # Window 2, 1/d each way. Line 1 "a b c a": a-b 1, b-c 1, c-a 1, a-c 1/2 (a..c), b-a 1/2 (b..a);
    # the two a's are 3 apart, outside the window. Line 2 "c b": b-c 1. Nothing pairs across lines
    # ("a" ending line 1 and "c" starting line 2 would add to a-c if it did).
    words, counts, X = cooccurrence(write(tmp_path / "t.txt", "a b c a\nc b\n"), window=2, min_count=1)
    assert words == ["a", "b", "c"]  # a: 2, then b and c with 2 each, ties by word
    assert counts.dtype == np.int64 and counts.tolist() == [2, 2, 2]
    expected = np.array([[0, 1.5, 1.5],
                         [1.5, 0, 2.0],
                         [1.5, 2.0, 0]])
    np.testing.assert_allclose(X.toarray(), expected)
    assert X.format == "csr" and X.has_sorted_indices


def test_window_reaches_further_and_rare_words_are_skipped_before_windowing(tmp_path):
    # With window 3 the two a's on line 1 (distance 3) pair up: a-a adds 1/3 each way.
    _, _, X = cooccurrence(write(tmp_path / "t.txt", "a b c a\nc b\n"), window=3, min_count=1)
    assert X[0, 0] == pytest.approx(2 / 3)
    # "x" occurs once; below min_count it is dropped first, so "a" and "b" become neighbours (1, not 1/2).
    words, _, X = cooccurrence(write(tmp_path / "u.txt", "a x b\na b\n"), window=1, min_count=2)
    assert words == ["a", "b"]
    np.testing.assert_allclose(X.toarray(), [[0, 2], [2, 0]])


def test_vocabulary_is_by_frequency_and_capped(lee):
    words, counts, X = cooccurrence(lee, min_count=5, max_vocab=100)
    assert len(words) == 100 and X.shape == (100, 100)
    assert words[0] == "the" and np.all(np.diff(counts) <= 0) and counts[-1] >= 5
    assert (abs(X - X.T)).max() < 1e-9  # symmetric


# --- training ---------------------------------------------------------------------------------


def test_numba_learns_similarity(lee, random_rho):
    ctx = Recorder()
    result = train_glove(lee, epochs=30, workers=2, seed=1, ctx=ctx, **LEE)
    assert isinstance(result, GloveResult)
    V = len(result.words)
    assert result.vectors.shape == (V, 50) and result.vectors.dtype == np.float32 and result.counts.shape == (V,)
    assert result.nonzeros > 100_000 and result.seconds_counting > 0 and result.seconds_training > 0
    costs = result.costs
    assert len(costs) == 30 and costs[-1] < 0.3 * costs[0]
    assert all(later < earlier * 1.01 for earlier, later in zip(costs, costs[1:], strict=False))  # Hogwild: nearly monotone
    assert [m["epoch"] for m in ctx.metrics] == list(range(1, 31)) and ctx.metrics[-1]["cost"] == costs[-1]
    fractions = [f for f, _ in ctx.progress_calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and all(m for _, m in ctx.progress_calls)
    rho = wordsim(result.words, result.vectors)
    assert rho > random_rho + 0.1, f"WordSim-353 rho {rho:.3f}, random vectors {random_rho:.3f}"


def test_torch_learns_like_numba(lee_cooc, random_rho):
    words, _, X = lee_cooc
    common = dict(vector_size=50, epochs=15, x_max=5.0, alpha=0.75, learning_rate=0.05, seed=3, workers=1)
    numba_vectors, numba_costs = fit_glove(X, device="cpu", ctx=None, **common)
    torch_vectors, torch_costs = fit_glove(X, device="torch-cpu", ctx=None, **common)
    assert torch_vectors.dtype == np.float32 and torch_vectors.shape == numba_vectors.shape
    assert all(later < earlier for earlier, later in zip(torch_costs, torch_costs[1:], strict=False))
    # Same objective, same AdaGrad scaling: mini-batches end within a few percent of per-pair updates (~1.0x here).
    assert torch_costs[-1] < 1.2 * numba_costs[-1]
    rho_numba, rho_torch = wordsim(words, numba_vectors), wordsim(words, torch_vectors)
    assert rho_torch > random_rho + 0.06, f"torch rho {rho_torch:.3f}, random vectors {random_rho:.3f}"
    assert abs(rho_torch - rho_numba) < 0.1, f"torch rho {rho_torch:.3f}, numba rho {rho_numba:.3f}"


def test_same_seed_same_vectors_on_one_thread(lee_cooc):
    X = lee_cooc[2]
    args = dict(vector_size=20, epochs=3, x_max=5.0, alpha=0.75, learning_rate=0.05, workers=1, device="cpu", ctx=None)
    a, costs_a = fit_glove(X, seed=7, **args)
    b, costs_b = fit_glove(X, seed=7, **args)
    c, _ = fit_glove(X, seed=8, **args)
    assert np.array_equal(a, b) and costs_a == costs_b
    assert not np.allclose(a, c)


def test_cancel_stops_after_the_epoch(lee_cooc):
    ctx = Recorder(cancel_after=1)
    with pytest.raises(Cancelled):
        fit_glove(lee_cooc[2], vector_size=10, epochs=10, x_max=5.0, alpha=0.75, learning_rate=0.05, seed=1,
                  workers=1, device="cpu", ctx=ctx)
    assert len(ctx.metrics) == 1


def test_cancel_while_counting(lee):
    with pytest.raises(Cancelled):
        train_glove(lee, ctx=Recorder(cancel_after=0))


# --- errors a user can cause --------------------------------------------------------------------


def test_min_count_that_removes_every_word(lee):
    message = r"No word occurs at least 100,000 times.*distinct words occur at most [\d,]+ times \('the'\)"
    with pytest.raises(UserError, match=message):
        train_glove(lee, min_count=100_000)


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file(tmp_path, text):
    with pytest.raises(UserError, match="empty"):
        train_glove(write(tmp_path / "t.txt", text))


def test_too_few_pairs(tmp_path):
    # Every line is one word: words exist but nothing co-occurs.
    with pytest.raises(UserError, match="Only 0 word pair"):
        train_glove(write(tmp_path / "t.txt", "a\nb\na\nb\n"), min_count=1)


def test_unknown_device(lee_cooc):
    with pytest.raises(UserError, match="Unknown device 'tpu'"):
        fit_glove(lee_cooc[2], vector_size=10, epochs=1, x_max=5.0, alpha=0.75, learning_rate=0.05, seed=1, workers=1,
                  device="tpu", ctx=None)

"""Train word vectors on a tokens artifact and keep them as a ``vectors`` artifact.

Word2Vec and FastText run through gensim's ``corpus_file`` path (the tokens artifact is
already in its one-sentence-per-line format, and it is the fastest way gensim trains). GloVe
runs our own trainer (``glove.py``). Every model is stored with its config, the tokens
artifact it came from, its training curve and its benchmark scores.

Example::

    m = train_vectors(ws, tokens_id, EmbeddingConfig(algorithm="word2vec", sg=True))
    kv = load_vectors(ws, m.id)  # from core.embeddings.store
    kv.most_similar("government", topn=5)
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import gensim
import numpy as np
from gensim.models import FastText, KeyedVectors, Word2Vec
from gensim.models.callbacks import CallbackAny2Vec

from core.embeddings.config import EmbeddingConfig
from core.embeddings.store import KIND, vectors_id, write_vectors
from core.errors import UserError
from core.jobs import NoJob
from core.tokens import KIND as TOKENS
from core.tokens import sentences_path
from core.workspace import Manifest, Workspace

MIN_TOKENS = 200
MIN_WORDS = 4


def train_vectors(ws: Workspace, tokens_id: str, config: EmbeddingConfig, ctx=None) -> Manifest:
    """Train ``config`` on the tokens artifact (or return the model already trained)."""
    ctx = ctx or NoJob()
    config.validate()
    artifact_id = vectors_id(tokens_id, config)
    if ws.exists(KIND, artifact_id):
        return ws.manifest(KIND, artifact_id)
    tokens = ws.manifest(TOKENS, tokens_id)
    path = sentences_path(ws, tokens_id)
    n_tokens = tokens.metrics.get("tokens_after", 0)
    if n_tokens < MIN_TOKENS:
        raise UserError(f"This corpus has {n_tokens:,} tokens after preprocessing; training needs at least "
                        f"{MIN_TOKENS:,} (and thousands for useful vectors). Bring more text or loosen the filters.")

    def write(folder: Path) -> dict:
        start = time.perf_counter()
        if config.algorithm == "glove":
            kv, curve = _train_glove(path, config, ctx)
        else:
            kv, curve = _train_gensim(path, n_tokens, config, ctx)
        seconds = time.perf_counter() - start
        metrics = write_vectors(folder, kv, curve, ctx, epochs=config.epochs)
        return {**metrics, "seconds": round(seconds, 2), "tokens": n_tokens,
                "words_per_s": round(n_tokens * config.epochs / max(seconds, 1e-9)),
                "final_loss": curve[-1].get("loss") if curve else None}

    return ws.create(KIND, artifact_id, name=f"{config.label()} · {tokens.name.removesuffix(' · tokens')}",
                     config=config.relevant(), parents=[tokens_id], write=write,
                     versions={"gensim": gensim.__version__})


# --- Word2Vec and FastText ----------------------------------------------------------------

class _Reporter(CallbackAny2Vec):
    """Per-epoch loss, progress and cancel for a gensim model."""

    def __init__(self, ctx, epochs: int, loss: bool):
        self.ctx, self.epochs, self.loss = ctx, epochs, loss
        self.epoch, self.curve, self.started = 0, [], time.perf_counter()

    def on_epoch_begin(self, model) -> None:
        # gensim's tally is float32 and cumulative over the whole train() call; starting each
        # epoch from zero keeps it far smaller, so far less precision is lost (still approximate).
        model.running_training_loss = 0.0
        model._epoch_loss, model._epoch_words = 0.0, 0

    def on_epoch_end(self, model) -> None:
        self.epoch += 1
        point = {"epoch": self.epoch, "seconds": round(time.perf_counter() - self.started, 2)}
        if self.loss:
            point["loss"] = round(model._epoch_loss, 1)
            point["loss_per_word"] = round(model._epoch_loss / max(model._epoch_words, 1), 4)
        self.curve.append(point)
        self.ctx.metric(**{k: v for k, v in point.items() if k in ("epoch", "loss")})
        self.ctx.progress(self.epoch / self.epochs * 0.95, f"Epoch {self.epoch} of {self.epochs} done")
        self.ctx.check_cancelled()


class _Instrumented:
    """gensim with a correct per-epoch loss, mid-epoch progress and cancel.

    With ``corpus_file`` every worker thread starts from the shared loss tally and writes its
    own total back at the end, so the last one wins and the tally shows about one worker's
    share. Each worker's own delta, summed here, is the epoch's loss. Progress comes from
    gensim's once-a-second report in the training thread; raising Cancelled there stops the
    run, while gensim's workers finish their chunk on their own and the model is dropped.
    """

    def _do_train_epoch(self, *args, **kwargs):
        before = self.running_training_loss
        examples, tally, raw_tally = super()._do_train_epoch(*args, **kwargs)
        with self._corpus_lab_lock:
            self._epoch_loss += float(self.running_training_loss) - float(before)
            self._epoch_words += raw_tally
        return examples, tally, raw_tally

    def _log_progress(self, job_queue, progress_queue, cur_epoch, example_count, total_examples,
                      raw_word_count, total_words, trained_word_count, elapsed):
        done = raw_word_count / total_words if total_words else 0.0
        ctx = self._corpus_lab_ctx
        ctx.progress((cur_epoch + done) / self.epochs * 0.95,
                     f"Epoch {cur_epoch + 1} of {self.epochs}: {100 * done:.0f}% · {trained_word_count / elapsed:,.0f} words/s")
        ctx.check_cancelled()


class _Word2Vec(_Instrumented, Word2Vec):
    pass


class _FastText(_Instrumented, FastText):
    pass


def _gensim_params(config: EmbeddingConfig) -> dict:
    params = dict(vector_size=config.vector_size, window=config.window, min_count=config.min_count,
                  sg=int(config.sg), hs=int(config.hs), negative=config.negative, sample=config.sample,
                  alpha=config.learning_rate, min_alpha=config.min_learning_rate, seed=config.seed,
                  workers=config.workers, epochs=config.epochs)
    if config.algorithm == "fasttext":
        params.update(min_n=config.min_n, max_n=config.max_n, bucket=config.bucket)
    return params


def _train_gensim(path: Path, n_tokens: int, config: EmbeddingConfig, ctx) -> tuple[KeyedVectors, list[dict]]:
    cls = _FastText if config.algorithm == "fasttext" else _Word2Vec
    model = cls(**_gensim_params(config))
    model._corpus_lab_ctx, model._corpus_lab_lock = ctx, threading.Lock()
    model._epoch_loss, model._epoch_words = 0.0, 0
    ctx.progress(0.01, "Building the vocabulary")
    model.build_vocab(corpus_file=str(path))
    if len(model.wv) < MIN_WORDS:
        raise UserError(f"Only {len(model.wv)} distinct words occur at least {config.min_count} times; training needs at "
                        f"least {MIN_WORDS}. Lower the minimum count or bring more text.")
    ctx.check_cancelled()
    loss = config.algorithm == "word2vec"  # gensim computes no loss for FastText
    reporter = _Reporter(ctx, config.epochs, loss)
    model.train(corpus_file=str(path), total_examples=model.corpus_count, total_words=model.corpus_total_words,
                epochs=config.epochs, compute_loss=loss, callbacks=[reporter])
    return model.wv, reporter.curve


# --- GloVe --------------------------------------------------------------------------------

def _train_glove(path: Path, config: EmbeddingConfig, ctx) -> tuple[KeyedVectors, list[dict]]:
    from core.device import device_info
    from core.embeddings.glove import train_glove

    result = train_glove(path, vector_size=config.vector_size, window=config.window, min_count=config.min_count,
                         epochs=config.epochs, x_max=config.x_max, alpha=config.weighting_power,
                         learning_rate=config.glove_learning_rate, seed=config.seed, workers=config.workers,
                         device=device_info().kind, ctx=ctx)
    if len(result.words) < MIN_WORDS:
        raise UserError(f"Only {len(result.words)} distinct words occur at least {config.min_count} times; training "
                        f"needs at least {MIN_WORDS}. Lower the minimum count or bring more text.")
    kv = KeyedVectors(config.vector_size)
    kv.add_vectors(result.words, np.asarray(result.vectors, dtype=np.float32))
    for word, count in zip(result.words, result.counts, strict=True):
        kv.set_vecattr(word, "count", int(count))
    curve = [{"epoch": i + 1, "loss": float(c)} for i, c in enumerate(result.costs)]
    return kv, curve

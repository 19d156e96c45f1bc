"""The corpus as training and validation blocks: split by document, joined with end-of-text, chunked."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from core import models
from core.errors import UserError
from core.finetune.config import FinetuneConfig, _causal_spec
from core.workspace import Workspace


@dataclass(frozen=True)
class Data:
    """Token blocks for training and validation (each a list of ``block_size`` ids)."""

    train: list[list[int]]
    val: list[list[int]]
    train_tokens: int
    val_tokens: int
    val_texts: tuple[str, ...]  # the held-out documents, for before/after views


def prepare_data(tokenizer, texts: list[str], config: FinetuneConfig) -> Data:
    """Split by document (seeded), join with the end-of-text token, cut into blocks.

    Validation gets ``val_fraction`` of the documents (at least one, and enough for one block);
    a corpus of one document, or one whose split leaves a side without a whole block, is split
    by blocks instead (the last blocks are held out). ``max_train_tokens`` keeps that many
    tokens of randomly drawn training blocks.

    >>> d = prepare_data(tokenizer, ["a long text ...", "another ...", ...], FinetuneConfig(block_size=64))
    >>> len(d.train[0]), d.train_tokens == 64 * len(d.train)
    (64, True)
    """
    texts = [t for t in texts if t and t.strip()]
    block = config.block_size
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    docs = [ids + eos for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []
    total = sum(len(d) for d in docs)
    if total < 2 * block:
        words = sum(len(re.findall(r"\w+", t)) for t in texts)
        per_token = words / total if total else 0.75
        raise UserError(f"Fine-tuning with blocks of {block} tokens needs at least ~{2 * block:,} tokens (about "
                        f"{max(1, round(2 * block * per_token)):,} words); this corpus has {total:,} tokens ({words:,} "
                        "words). It takes one block to train on and one to validate: add more text, or choose a smaller "
                        "block size.")
    rng = random.Random(config.seed)
    split = _split_documents(docs, texts, config, rng) if len(docs) > 1 else None
    if split is None:
        split = _split_blocks(docs, tokenizer, config)
    train, val, val_texts = split
    rng.shuffle(train)
    if config.max_train_tokens:
        train = train[: max(1, config.max_train_tokens // block)]
    return Data(train, val, len(train) * block, len(val) * block, tuple(val_texts))


def _chunk(ids: list[int], block: int) -> list[list[int]]:
    return [ids[i:i + block] for i in range(0, len(ids) - block + 1, block)]


def _split_documents(docs, texts, config, rng):
    order = list(range(len(docs)))
    rng.shuffle(order)
    n_val = min(len(docs) - 1, max(1, round(config.val_fraction * len(docs))))
    while sum(len(docs[i]) for i in order[:n_val]) < config.block_size and n_val < len(docs) - 1:
        n_val += 1  # short documents: hold out enough of them for one block
    val_ids, train_ids = sorted(order[:n_val]), order[n_val:]
    val = _chunk([t for i in val_ids for t in docs[i]], config.block_size)
    train = _chunk([t for i in train_ids for t in docs[i]], config.block_size)
    if not val or not train:
        return None
    return train, val, [texts[i] for i in val_ids]


def _split_blocks(docs, tokenizer, config):
    blocks = _chunk([t for d in docs for t in d], config.block_size)
    n_val = min(len(blocks) - 1, max(1, round(config.val_fraction * len(blocks))))
    train, val = blocks[:-n_val], blocks[-n_val:]
    # The held-out tail as text, one piece per document it touches.
    eos = tokenizer.eos_token_id
    pieces, current = [], []
    for t in (t for b in val for t in b):
        if t == eos:
            pieces.append(current)
            current = []
        else:
            current.append(t)
    pieces.append(current)
    return train, val, [tokenizer.decode(p).strip() for p in pieces if p]


def _texts(ws: Workspace, corpus_id: str) -> list[str]:
    from core.corpus.store import KIND as CORPUS
    from core.corpus.store import load_documents

    ws.manifest(CORPUS, corpus_id)  # a UserError when it is gone
    return [d.text for d in load_documents(ws, corpus_id)]


def validation_texts(ws: Workspace, corpus_id: str, config: FinetuneConfig) -> list[str]:
    """The held-out documents of a run with these settings (the same split ``run`` uses)."""
    return list(prepare_data(_tokenizer(_causal_spec(config.base, ws), ws), _texts(ws, corpus_id), config).val_texts)


_TOKENIZERS: dict[str, object] = {}


def _tokenizer(spec: models.ModelSpec, ws: Workspace):
    """The base's tokenizer without its weights (kept per process: the GGUF one takes ~3 s to read)."""
    key = f"{spec.id}|{spec.path}"
    if key not in _TOKENIZERS:
        from transformers import AutoTokenizer

        if spec.source == "tiny":
            tokenizer = models.byte_tokenizer()
        elif spec.id == models.SMOLLM_ID and not models.smollm_ready():
            gguf = models.smollm_gguf()
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        else:
            folder = models.smollm_dir() if spec.id == models.SMOLLM_ID else spec.path
            tokenizer = models.from_hub(spec.id, lambda local: AutoTokenizer.from_pretrained(
                folder, trust_remote_code=False, local_files_only=local or spec.source != "hub"))
        _TOKENIZERS[key] = tokenizer
    return _TOKENIZERS[key]


class _Blocks:
    """Equal-length blocks as a map-style dataset; the labels are the inputs (the model shifts them)."""

    def __init__(self, blocks: list[list[int]]):
        import torch

        self.ids = torch.tensor(blocks, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}

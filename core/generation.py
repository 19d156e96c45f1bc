"""Text generation with a causal LM: streaming, per-token probabilities, and perplexity.

``generate`` continues a prompt (or answers it, in chat mode) with greedy decoding, sampling or
beam search, streams the text as it is decoded, and says how sure the model was of every
token: its probability under the model's raw next-token distribution (before temperature,
top-k, top-p and penalties reshape it), the entropy of that distribution in bits and the five
likeliest alternatives. ``perplexity`` scores a text token by token, with a sliding window when
the text is longer than the model's context.

Example::

    m = models.load("smollm2-135m-instruct")
    g = generate(m, "Name three rivers.", PRESETS["precise"].with_(chat=True), on_text=print)
    g.text[:20], g.finish, len(g.tokens)   # '1. The River of Life', 'length', 80
    g.tokens[1]                            # TokenInfo(id=30, text='.', prob=0.94, entropy=0.66 (bits),
                                           #           top=(('.', 0.94), (')', 0.022), ('-', 0.0038), ...))
    p = perplexity(m, "The river bank was flooded after the storm.")
    p.perplexity, p.surprisal.shape        # 144.0, (8,): bits for every token but the first

Models are shared between sessions and threads, so everything that runs one holds
``models.model_lock`` and passes its settings to ``generate()`` as arguments; nothing here
writes to a model, its config or its ``generation_config``.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from core import models
from core.errors import UserError
from core.jobs import NoJob

MAX_NEW_TOKENS = 1024  # the cap: a run longer than this is a job for another tool
DEFAULT_CONTEXT = 2048  # when a config does not say how many positions the model has
PERPLEXITY_WINDOW = 1024  # at most this many tokens per forward: logits are window × vocabulary floats
STRATEGIES = ("greedy", "sample", "beam")
MAX_BEAMS = 16
TOP_N = 5  # alternatives kept per token
_LN2 = math.log(2.0)


@dataclass(frozen=True)
class GenerationConfig:
    """How to decode. ``0``/``1.0`` switch a filter off (top-k 0, top-p 1.0, repetition penalty 1.0).

    >>> GenerationConfig().label()
    'sample · T 0.7 · top-k 50 · top-p 0.9 · rep 1.1'
    >>> GenerationConfig.from_dict(GenerationConfig(stop=("\\n",)).to_dict()).stop
    ('\\n',)
    """

    max_new_tokens: int = 80
    strategy: str = "sample"  # "greedy" | "sample" | "beam"
    temperature: float = 0.7
    top_k: int = 50  # 0 = off
    top_p: float = 0.9  # 1.0 = off
    repetition_penalty: float = 1.1  # 1.0 = off
    no_repeat_ngram_size: int = 0  # 0 = off
    num_beams: int = 4  # used by "beam"
    stop: tuple[str, ...] = ()  # stop strings: the output is cut before the first one
    seed: int = 0  # same seed + same settings + same model = same text
    chat: bool = False  # wrap the prompt in the tokenizer's chat template (user turn + generation prompt)
    system: str = ""  # optional system message in chat mode

    def label(self) -> str:
        """A short summary for tables and history, naming only the settings that are on."""
        parts = [self.strategy if self.strategy != "beam" else f"beam {self.num_beams}"]
        if self.strategy == "sample":
            parts.append(f"T {self.temperature:g}")
            if self.top_k:
                parts.append(f"top-k {self.top_k}")
            if self.top_p < 1.0:
                parts.append(f"top-p {self.top_p:g}")
        if self.repetition_penalty != 1.0:
            parts.append(f"rep {self.repetition_penalty:g}")
        if self.no_repeat_ngram_size:
            parts.append(f"no-repeat {self.no_repeat_ngram_size}")
        return " · ".join(parts)

    def with_(self, **changes) -> GenerationConfig:
        """A copy with some fields changed: ``PRESETS["precise"].with_(chat=True)``."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-friendly: the stop strings become a list."""
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> GenerationConfig:
        """The inverse of ``to_dict``; keys this version does not know (from a newer history) are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        if "stop" in values:
            stop = values["stop"]
            values["stop"] = (stop,) if isinstance(stop, str) else tuple(stop or ())
        return cls(**values)


PRESETS: dict[str, GenerationConfig] = {
    "precise": GenerationConfig(strategy="greedy", repetition_penalty=1.1),
    "balanced": GenerationConfig(strategy="sample", temperature=0.7, top_k=50, top_p=0.9),
    "creative": GenerationConfig(strategy="sample", temperature=1.0, top_k=0, top_p=0.95),
}


@dataclass(frozen=True)
class TokenInfo:
    """One token and how sure the model was of it, from its raw next-token distribution."""

    id: int
    text: str  # tokenizer.decode([id]): the piece as a person sees it
    prob: float  # softmax of the raw logits, before temperature / top-k / top-p / penalties
    entropy: float  # bits, of that same distribution
    top: tuple[tuple[str, float], ...]  # the 5 likeliest (piece, prob), likeliest first


@dataclass(frozen=True)
class Generation:
    """One run of ``generate``: the continuation, every token's probabilities, and how it ended."""

    model_id: str
    model_label: str
    prompt: str
    text: str  # the generated continuation only, cut before a stop string
    tokens: tuple[TokenInfo, ...]  # one per generated token, up to the cut (a token that straddles it is kept)
    config: GenerationConfig
    prompt_tokens: int  # tokens fed to the model, after the chat template and truncation
    dropped: int  # prompt tokens dropped from the left to fit the context
    finish: str  # "length" | "eos" | "stop" | "cancelled"
    notices: tuple[str, ...]  # plain-words notes for the user
    seconds: float
    first_token_s: float
    tokens_per_s: float

    def to_json(self) -> dict:
        """One history record, JSON-serialisable (no per-token details)."""
        return {
            "model_id": self.model_id, "model_label": self.model_label, "prompt": self.prompt, "text": self.text,
            "config": self.config.to_dict(), "finish": self.finish, "tokens": len(self.tokens),
            "prompt_tokens": self.prompt_tokens, "dropped": self.dropped, "notices": list(self.notices),
            "seconds": round(self.seconds, 3), "first_token_s": round(self.first_token_s, 3),
            "tokens_per_s": round(self.tokens_per_s, 2),
        }


# --- checks and prompt preparation --------------------------------------------------------------
def check_prompt(m: models.LoadedModel, prompt: str, config: GenerationConfig) -> None:
    """Refuse, in plain words, a prompt or settings that cannot run; return None when all is well.

    >>> check_prompt(m, "  ", GenerationConfig())   # UserError: Write a prompt first ...
    """
    if m.spec.kind != models.CAUSAL:
        raise UserError(f"{m.spec.label} is an encoder: it reads text but cannot write any. Choose a causal language "
                        "model such as SmolLM2-135M-Instruct.")
    if not (prompt or "").strip():
        raise UserError("Write a prompt first: the model continues (or, in Chat mode, answers) the text you give it.")
    c = config
    if c.strategy not in STRATEGIES:
        raise UserError(f"Unknown decoding strategy '{c.strategy}'; choose greedy, sample or beam.")
    if not isinstance(c.max_new_tokens, int) or c.max_new_tokens < 1:
        raise UserError("Max new tokens must be at least 1.")
    if c.strategy == "sample":
        if not c.temperature > 0:
            raise UserError("Temperature must be above 0 when sampling. For the single likeliest text, choose greedy.")
        if not 0 < c.top_p <= 1:
            raise UserError("Top-p must be above 0 and at most 1 (1 switches it off).")
        if c.top_k < 0:
            raise UserError("Top-k must be 0 (off) or more.")
    if c.strategy == "beam" and not 2 <= c.num_beams <= MAX_BEAMS:
        raise UserError(f"Beam search needs between 2 and {MAX_BEAMS} beams; for one, choose greedy.")
    if not c.repetition_penalty > 0:
        raise UserError("The repetition penalty must be above 0 (1 switches it off; above 1 discourages repeats).")
    if c.no_repeat_ngram_size < 0:
        raise UserError("No-repeat n-gram size must be 0 (off) or more.")
    if not 0 <= c.seed < 2**63:
        raise UserError("The seed must be a whole number from 0 up.")
    if c.chat and not getattr(m.tokenizer, "chat_template", None):
        raise UserError(f"{m.spec.label} has no chat template; switch Chat mode off to continue the text as is.")


def context_length(m: models.LoadedModel) -> int:
    """How many positions the model reads at most; 2048 when its config does not say."""
    config = m.model.config
    for name in ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return DEFAULT_CONTEXT


def new_token_budget(context: int, n_prompt: int, wanted: int) -> int:
    """How many tokens to write: ``wanted`` when prompt + wanted fits the context, else less.

    A short prompt keeps all of itself and the output shrinks to the room that is left; a long
    prompt keeps at least half the context for itself and is cut from the left (see ``prompt_ids``).

    >>> new_token_budget(256, 20, 80), new_token_budget(256, 20, 1024), new_token_budget(256, 300, 1024)
    (80, 236, 128)
    """
    return max(1, min(wanted, max(context - n_prompt, context // 2)))


@dataclass(frozen=True)
class _Plan:
    ids: list[int]
    dropped: int
    new_tokens: int
    notices: tuple[str, ...]


def prompt_ids(m: models.LoadedModel, prompt: str, config: GenerationConfig) -> tuple[list[int], int]:
    """The token ids fed to the model and how many prompt tokens were dropped from the left.

    Chat mode renders the tokenizer's chat template (system message, user turn, generation
    prompt); otherwise the text is encoded as it is. Prompt + new tokens must fit the context,
    so an over-long prompt loses its beginning (in chat mode, the beginning of the user's text:
    the template's header survives).

    >>> prompt_ids(tiny, "x" * 300, GenerationConfig(max_new_tokens=80))[1]   # 256 positions
    124
    """
    plan = _plan(m, prompt, config)
    return plan.ids, plan.dropped


def _plan(m: models.LoadedModel, prompt: str, config: GenerationConfig) -> _Plan:
    notices = []
    wanted = config.max_new_tokens
    if wanted > MAX_NEW_TOKENS:
        notices.append(f"At most {MAX_NEW_TOKENS} new tokens per run: writing {MAX_NEW_TOKENS} instead of {wanted:,}.")
        wanted = MAX_NEW_TOKENS
    context = context_length(m)
    ids = _encode(m, prompt, config)
    new_tokens = new_token_budget(context, len(ids), wanted)
    if new_tokens < wanted:
        notices.append(f"{m.spec.label} reads at most {context:,} tokens, prompt included, so this run writes at most "
                       f"{new_tokens:,} new tokens.")
    room = context - new_tokens
    dropped = 0
    if len(ids) > room:
        full = len(ids)
        if config.chat:  # cut the user's text, not the template around it
            body = m.tokenizer(prompt, add_special_tokens=False)["input_ids"]
            keep = body[len(ids) - room:]
            if keep:
                ids = _encode(m, m.tokenizer.decode(keep), config)
        bos = m.tokenizer.bos_token_id
        head = ids[:1] if bos is not None and ids[0] == bos and not config.chat else []  # a model trained with BOS keeps it
        ids = head + ids[len(ids) - room + len(head):]  # plain mode; in chat mode, when re-encoding the cut text differs
        dropped = full - len(ids)
        notices.append(f"The prompt was too long for {m.spec.label}'s {context:,}-token context: its first {dropped:,} "
                       "tokens were left out.")
    return _Plan(ids, dropped, new_tokens, tuple(notices))


def _encode(m: models.LoadedModel, prompt: str, config: GenerationConfig) -> list[int]:
    if not config.chat:
        return list(m.tokenizer(prompt)["input_ids"])  # with whatever special tokens (BOS) the model expects
    messages = ([{"role": "system", "content": config.system}] if config.system.strip() else [])
    messages.append({"role": "user", "content": prompt})
    try:
        text = m.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    except Exception as exc:  # a Jinja template raising, e.g. one that allows no system role
        raise UserError(f"{m.spec.label}'s chat template refused this conversation ({exc}). Leave the system message "
                        "empty, or switch Chat mode off.") from None
    return list(m.tokenizer(text, add_special_tokens=False)["input_ids"])  # the template already has them


# --- generation ---------------------------------------------------------------------------------
def generate(
    m: models.LoadedModel,
    prompt: str,
    config: GenerationConfig,
    *,
    on_text: Callable[[str], Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_wait: Callable[[int], None] | None = None,
) -> Generation:
    """Continue ``prompt``; ``on_text(piece)`` gets the text as it is decoded, ``should_stop()`` ends it early.

    The Generate page runs this inside a background job and polls the job, so it calls the
    model directly in this thread: no TextIteratorStreamer and no second thread, hence a
    generation that crashes ends its job with an error and can never leave the page waiting
    on a queue. Streamed pieces never show a stop string (text that might start one is held
    back until it cannot); with beam search, which cannot stream, ``on_text`` gets the whole
    text once at the end. While other sessions use the model, ``on_wait(n)`` hears how many are ahead.

    >>> g = generate(tiny, "abc", GenerationConfig(strategy="greedy", max_new_tokens=8))
    >>> len(g.tokens), g.finish, round(g.tokens[0].prob, 4)   # random weights: all ~1/257
    (8, 'length', 0.0068)
    """
    import torch

    check_prompt(m, prompt, config)
    tok = m.tokenizer
    stops = tuple(s for s in config.stop if s)
    beam = config.strategy == "beam"
    eos = _eos_ids(m)
    stop_criteria, streamer_class, criteria_list = _hf_classes()
    streamer = None if beam else streamer_class(tok, on_text, stops)
    infos: list[TokenInfo]
    with models.model_lock(m, on_wait=on_wait), torch.inference_mode(), _private_rng(m.device):
        # Encoding under the lock too: a fast tokenizer is one Rust object, and a caller that
        # switches its truncation on while another encodes gets "Already borrowed".
        plan = _plan(m, prompt, config)
        criteria = stop_criteria(tok, len(plan.ids), stops, should_stop)
        ids = torch.tensor([plan.ids], device=m.device)
        # Seeded here, under the lock and in a forked RNG state: two sessions cannot interleave
        # their draws on this model, and the caller's own RNG is left as it was.
        torch.manual_seed(config.seed)
        start = time.perf_counter()
        if streamer is not None:
            streamer.start = start
        out = m.model.generate(
            ids, attention_mask=torch.ones_like(ids), stopping_criteria=criteria_list([criteria]), streamer=streamer,
            return_dict_in_generate=True, output_logits=not beam,
            **_generate_kwargs(config, plan.new_tokens, pad=_pad_id(m, eos)))
        generated = out.sequences[0, len(plan.ids):].tolist()
        if beam:  # beam scores are per hypothesis: one teacher-forced forward gives the real per-token ones
            infos = _token_infos(m, plan.ids, generated)
        else:  # raw logits, one (1, vocab) float32 tensor per step
            infos = _infos(tok, [step[0] for step in out.logits], generated)
        del out  # the logits and the returned KV cache
    seconds = time.perf_counter() - start

    text = tok.decode(generated, skip_special_tokens=True)
    cut = _first_stop(text, stops)
    if cut is not None:
        text, finish = text[:cut], "stop"
        infos = infos[:_tokens_before(tok, generated, cut)]
    elif criteria.cancelled:
        finish = "cancelled"
    elif generated and generated[-1] in eos:
        finish = "eos"
        infos = infos[:-1]  # the end-of-turn token (<|im_end|>) is how it ended, not text it wrote
    else:
        finish = "length"
    if beam and on_text is not None and text:
        on_text(text)
    first = streamer.first_token_s if streamer is not None and streamer.first_token_s is not None else seconds
    return Generation(
        model_id=m.spec.id, model_label=m.spec.label, prompt=prompt, text=text, tokens=tuple(infos), config=config,
        prompt_tokens=len(plan.ids), dropped=plan.dropped, finish=finish, notices=plan.notices, seconds=seconds,
        first_token_s=first, tokens_per_s=len(generated) / seconds if seconds > 0 else 0.0)


def _generate_kwargs(config: GenerationConfig, new_tokens: int, *, pad: int | None) -> dict:
    """Everything ``model.generate`` needs to decode as ``config`` says, whatever the model's own defaults."""
    kwargs: dict[str, Any] = {
        "max_new_tokens": new_tokens, "repetition_penalty": config.repetition_penalty,
        "no_repeat_ngram_size": config.no_repeat_ngram_size, "num_return_sequences": 1, "pad_token_id": pad,
    }
    if config.strategy == "sample":
        kwargs.update(do_sample=True, num_beams=1, temperature=config.temperature, top_k=config.top_k, top_p=config.top_p)
    elif config.strategy == "beam":
        kwargs.update(do_sample=False, num_beams=config.num_beams)
    else:
        kwargs.update(do_sample=False, num_beams=1)
    return kwargs


def _eos_ids(m: models.LoadedModel) -> set[int]:
    ids = getattr(m.model.generation_config, "eos_token_id", None)
    ids = set(ids if isinstance(ids, list | tuple) else [] if ids is None else [ids])
    if m.tokenizer.eos_token_id is not None:
        ids.add(m.tokenizer.eos_token_id)
    return ids


def _pad_id(m: models.LoadedModel, eos: set[int]) -> int | None:
    if m.tokenizer.pad_token_id is not None:
        return m.tokenizer.pad_token_id
    return min(eos) if eos else None


def _private_rng(device: str):
    import torch

    return torch.random.fork_rng(devices=[torch.cuda.current_device()] if device == "cuda" else [])


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    """Where the earliest stop string starts in ``text``, or None."""
    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(hits) if hits else None


def _tokens_before(tokenizer, ids: list[int], cut: int) -> int:
    """How many of ``ids`` begin before character ``cut`` of their decoded text (binary search on prefixes)."""
    lo, hi = 0, len(ids)  # the answer k is the first prefix whose text already reaches the cut
    while lo < hi:
        mid = (lo + hi) // 2
        if len(tokenizer.decode(ids[:mid], skip_special_tokens=True)) >= cut:
            hi = mid
        else:
            lo = mid + 1
    return lo


@functools.cache
def _hf_classes():
    """The stopping criterion and the streamer, built on first use: transformers is a slow import."""
    from transformers import StoppingCriteria, StoppingCriteriaList, TextStreamer

    class StopCriteria(StoppingCriteria):
        """Stop on the user's Stop button or on a stop string in the generated text.

        Not HF's ``stop_strings=``: it matches across the prompt boundary (a prompt ending in
        ``\\n`` and the stop string ``\\nThe`` stop after one token, with no stop string in the
        output), and it builds a table over the whole vocabulary for every new set of stop
        strings (~0.7 s for SmolLM2's 49k tokens). Decoding the last few generated tokens each
        step costs microseconds and sees only what the model wrote.
        """

        def __init__(self, tokenizer, n_prompt: int, stops: tuple[str, ...], should_stop):
            self.tokenizer, self.n_prompt, self.stops, self.should_stop = tokenizer, n_prompt, stops, should_stop
            # A token holds at least a quarter of a character (byte-level pieces of a 4-byte character).
            self.window = 4 * max((len(s) for s in stops), default=0) + 4
            self.cancelled = False

        def __call__(self, input_ids, scores, **kwargs):
            import torch

            rows = input_ids.shape[0]  # 1, or 2 × beams in beam search: each row gets its own answer
            if self.should_stop is not None and self.should_stop():
                self.cancelled = True
                return torch.ones(rows, dtype=torch.bool, device=input_ids.device)
            if not self.stops:
                return torch.zeros(rows, dtype=torch.bool, device=input_ids.device)
            tail = input_ids[:, max(self.n_prompt, input_ids.shape[1] - self.window):].tolist()
            texts = self.tokenizer.batch_decode(tail, skip_special_tokens=True)
            hits = [any(s in t for s in self.stops) for t in texts]
            return torch.tensor(hits, dtype=torch.bool, device=input_ids.device)

    class Streamer(TextStreamer):
        """Hands decoded text to ``on_text`` (never a stop string) and notes when the first token came."""

        def __init__(self, tokenizer, on_text, stops: tuple[str, ...]):
            super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
            self.on_text, self.stops = on_text, stops
            self.start = time.perf_counter()
            self.first_token_s: float | None = None
            self.pending = ""  # decoded text that could be the start of a stop string
            self.stopped = False

        def put(self, value):
            if not self.next_tokens_are_prompt and self.first_token_s is None:
                self.first_token_s = time.perf_counter() - self.start
            if self.on_text is None:  # only the timing is wanted: skip the decoding
                self.next_tokens_are_prompt = False
                return
            super().put(value)

        def end(self):
            if self.on_text is not None:
                super().end()

        def on_finalized_text(self, text: str, stream_end: bool = False):
            if self.stopped:
                return
            self.pending += text
            cut = _first_stop(self.pending, self.stops)
            if cut is not None:
                self.stopped = True
                ready, self.pending = self.pending[:cut], ""
            elif stream_end:
                ready, self.pending = self.pending, ""
            else:
                keep = len(self.pending) - _partial_stop(self.pending, self.stops)
                ready, self.pending = self.pending[:keep], self.pending[keep:]
            if ready:
                self.on_text(ready)

    return StopCriteria, Streamer, StoppingCriteriaList


def _partial_stop(text: str, stops: tuple[str, ...]) -> int:
    """The length of the longest end of ``text`` that begins some stop string (0 when none)."""
    best = 0
    for s in stops:
        for n in range(min(len(s) - 1, len(text)), best, -1):
            if text.endswith(s[:n]):
                best = n
                break
    return best


# --- token probabilities ------------------------------------------------------------------------
def token_probabilities(m: models.LoadedModel, context_ids: list[int], ids: list[int]) -> list[TokenInfo]:
    """Teacher-forced: how likely each of ``ids`` was after ``context_ids`` and the ids before it.

    One forward over context + ids; the logits at position ``len(context) - 1 + i`` predict ``ids[i]``.

    >>> infos = token_probabilities(m, m.tokenizer("The river")["input_ids"], m.tokenizer(" bank of the")["input_ids"])
    >>> [(t.text, round(t.prob, 3)) for t in infos]      # SmolLM2
    [(' bank', 0.0), (' of', 0.008), (' the', 0.435)]
    """
    import torch

    with models.model_lock(m), torch.inference_mode():
        return _token_infos(m, context_ids, ids)


def _token_infos(m: models.LoadedModel, context_ids: list[int], ids: list[int]) -> list[TokenInfo]:
    import torch

    if not context_ids:
        raise ValueError("context_ids is empty: the first token has no prediction to score it by")
    if not ids:
        return []
    full = torch.tensor([list(context_ids) + list(ids)], device=m.device)
    logits = _logits(m, full, len(ids) + 1)[:-1]  # row i predicts ids[i]
    return _infos(m.tokenizer, logits, ids)


def _logits(m: models.LoadedModel, ids, keep: int):
    """The last ``keep`` positions' logits ``(keep, vocab)`` of one forward over ``ids`` ``(1, seq)``.

    ``logits_to_keep`` spares the vocabulary projection for the positions nobody reads (a long
    prompt's logits are seq × vocabulary: 7000 × 49k × 2 B = 690 MB for SmolLM2); models without it
    compute them all.
    """
    import torch

    mask = torch.ones_like(ids)
    try:
        logits = m.model(ids, attention_mask=mask, logits_to_keep=keep).logits[0]
    except TypeError:
        logits = m.model(ids, attention_mask=mask).logits[0]
    return logits[-keep:]


def _infos(tokenizer, logits, ids: list[int], chunk: int = 256) -> list[TokenInfo]:
    """TokenInfos from raw logits, a ``(len(ids), vocab)`` tensor or one ``(vocab,)`` row per token.

    Softmax, entropy and top-5 in float32, ``chunk`` rows at a time, so 1024 steps of a 128k
    vocabulary never stand in memory twice as float32.
    """
    import torch

    if not ids:
        return []
    chosen: list[float] = []
    entropy: list[float] = []
    top_p: list[list[float]] = []
    top_i: list[list[int]] = []
    for lo in range(0, len(ids), chunk):
        rows = logits[lo:lo + chunk]
        block = torch.stack(list(rows)) if isinstance(rows, list | tuple) else rows
        block = block.float()
        p, logp = torch.softmax(block, dim=-1), torch.log_softmax(block, dim=-1)  # cheaper than exp(log_softmax)
        picked = torch.tensor(ids[lo:lo + chunk], device=p.device)
        chosen += p[torch.arange(len(picked), device=p.device), picked].tolist()
        entropy += (-torch.nansum(p * logp, dim=-1) / _LN2).tolist()  # nansum: 0 × −inf of a masked token adds 0
        values, indices = p.topk(min(TOP_N, p.shape[-1]), dim=-1)
        top_p += values.tolist()
        top_i += indices.tolist()
    piece = _pieces(tokenizer, set(ids).union(*map(set, top_i)))
    return [TokenInfo(i, piece[i], c, e, tuple((piece[j], q) for j, q in zip(js, qs, strict=True)))
            for i, c, e, js, qs in zip(ids, chosen, entropy, top_i, top_p, strict=True)]


def _pieces(tokenizer, ids) -> dict[int, str]:
    """Each id decoded on its own, in one batch call (one per id would cost a Python round trip each)."""
    ids = sorted(ids)
    return dict(zip(ids, tokenizer.batch_decode([[i] for i in ids]), strict=True))


# --- perplexity ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Perplexity:
    """How surprised the model is by a text, token by token.

    ``surprisal[i]`` = −log2 p(ids[i] | everything before it), in bits; perplexity = 2 ** mean.
    The first token has no prediction, so it is not scored.
    """

    ids: tuple[int, ...]
    tokens: tuple[str, ...]
    surprisal: np.ndarray  # (len(ids),) float64, bits
    perplexity: float
    truncated: bool  # the text was cut at max_tokens


def perplexity(m: models.LoadedModel, text: str, *, max_tokens: int = 4096, ctx=None) -> Perplexity:
    """Score ``text`` with a sliding window: each token once, with at least half a window of context.

    The window is the model's context, at most ``PERPLEXITY_WINDOW`` tokens (its logits alone
    are window × vocabulary floats: 8192 × 49k × 4 B = 1.6 GB for SmolLM2 at full length). A
    longer text moves the window on by half its width and scores only the new tokens: the HF
    recipe, so no token counts twice and every one after the first window sees ≥ window/2 tokens.

    >>> p = perplexity(tiny, "x" * 600)    # 256 positions: windows at 0, 128, 256, 384
    >>> len(p.ids), p.surprisal.shape       # 599, (599,)
    """
    import torch

    ctx = ctx or NoJob()
    if m.spec.kind != models.CAUSAL:
        raise UserError(f"{m.spec.label} is an encoder; perplexity needs a causal language model.")
    if not (text or "").strip():
        raise UserError("Give a text to score: perplexity needs at least two tokens.")
    with models.model_lock(m):  # the tokenizer is shared too (see generate)
        ids = list(m.tokenizer(text)["input_ids"])
    truncated = len(ids) > max_tokens
    ids = ids[:max_tokens]
    if len(ids) < 2:
        raise UserError("The text is a single token; perplexity needs at least two (the first one is never scored).")
    n = len(ids)
    window = min(context_length(m), PERPLEXITY_WINDOW)
    stride = max(1, window // 2)
    windows = 1 + -(-max(0, n - window) // stride)
    bits: list[torch.Tensor] = []
    begin, scored_to = 0, 1  # tokens before scored_to are scored already (token 0 never is)
    for k in range(windows):
        ctx.check_cancelled()
        end = min(begin + window, n)
        ctx.progress(k / windows, f"Scoring tokens {scored_to + 1:,}–{end:,} of {n:,}")
        chunk = torch.tensor([ids[begin:end]], device=m.device)
        keep = end - scored_to + 1  # the positions that predict tokens scored_to .. end-1, and the last one
        with models.model_lock(m), torch.inference_mode():  # one window per turn: other sessions get theirs
            logits = _logits(m, chunk, keep)[:-1].float()
            targets = chunk[0, scored_to - begin:, None]
            nll = torch.logsumexp(logits, dim=-1) - logits.gather(1, targets)[:, 0]  # −log p, float32
        bits.append((nll / _LN2).cpu().double())
        begin, scored_to = begin + stride, end
    ctx.progress(1.0, f"Scored {n - 1:,} tokens")
    surprisal = torch.cat(bits).numpy()
    scored = ids[1:]
    return Perplexity(ids=tuple(scored), tokens=tuple(m.tokenizer.batch_decode([[i] for i in scored])),
                      surprisal=surprisal, perplexity=float(2 ** surprisal.mean()), truncated=truncated)

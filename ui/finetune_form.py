"""The fine-tuning settings, and the pre-flight estimate of what they will cost."""

from __future__ import annotations

import json

import streamlit as st

from core import finetune, models
from core.errors import UserError
from ui.safe import md

LEARNING_RATES = {"lora": 2e-4, "full": 5e-5}  # LoRA's few new weights take a larger step than a whole model


def _method_changed() -> None:
    st.session_state.ft_learning_rate = LEARNING_RATES[st.session_state.ft_method]


def finetune_form(ws) -> finetune.FinetuneConfig:
    default = finetune.FinetuneConfig()
    specs = {s.id: s for s in models.registry(ws) if s.kind == models.CAUSAL}
    base = st.selectbox("Base model", list(specs), key="ft_base",
                        format_func=lambda i: f"{specs[i].label} · {specs[i].source}")
    st.caption(md(specs[base].description))
    method = st.radio("Method", ["lora", "full"], horizontal=True, key="ft_method", on_change=_method_changed,
                      format_func={"lora": "LoRA (small adapter, base frozen)", "full": "Full (every weight)"}.get)
    st.session_state.setdefault("ft_learning_rate", LEARNING_RATES[method])
    a, b, c, d = st.columns(4)
    epochs = a.number_input("Epochs", 0.1, 20.0, float(default.epochs), 0.5, key="ft_epochs")
    max_steps = b.number_input("Max steps (0 = by epochs)", 0, 100_000, default.max_steps, key="ft_max_steps")
    lr = c.number_input("Learning rate", 1e-7, 1.0, format="%.1e", step=1e-5, key="ft_learning_rate")
    scheduler = d.selectbox("Schedule", ["linear", "cosine", "constant"], key="ft_scheduler")
    batch = a.number_input("Batch size", 1, 256, default.batch_size, key="ft_batch")
    accum = b.number_input("Gradient accumulation", 1, 64, default.grad_accum, key="ft_accum",
                           help="Steps whose gradients add up before one update: a larger batch in the same memory.")
    block = c.number_input("Block size (tokens)", 16, 4096, default.block_size, 16, key="ft_block")
    tokens = d.number_input("Max training tokens (0 = all)", 0, 100_000_000, default.max_train_tokens, 10_000,
                            key="ft_tokens", help="Caps the run's length on big corpora; the blocks are drawn at random.")
    with st.expander("More settings"):
        a, b, c, d = st.columns(4)
        warmup = a.number_input("Warm-up (share of steps)", 0.0, 0.5, default.warmup_ratio, 0.01, key="ft_warmup")
        decay = b.number_input("Weight decay", 0.0, 1.0, default.weight_decay, 0.01, key="ft_decay")
        val = c.number_input("Validation share", 0.02, 0.5, default.val_fraction, 0.01, key="ft_val",
                             help="Documents held out to measure perplexity before and after; never trained on.")
        seed = d.number_input("Seed", 0, 2**31 - 1, default.seed, key="ft_seed")
        r, alpha, dropout, targets = default.lora_r, default.lora_alpha, default.lora_dropout, ""
        if method == "lora":
            r = a.number_input("LoRA rank r", 1, 256, default.lora_r, key="ft_r")
            alpha = b.number_input("LoRA alpha", 1, 512, default.lora_alpha, key="ft_alpha")
            dropout = c.number_input("LoRA dropout", 0.0, 0.9, default.lora_dropout, 0.05, key="ft_dropout")
            targets = d.text_input("Target modules (comma-separated; empty = chosen for the architecture)", "",
                                   key="ft_targets")
    return finetune.FinetuneConfig(
        base=base, method=method, block_size=int(block), epochs=float(epochs), max_steps=int(max_steps),
        learning_rate=float(lr), scheduler=scheduler, warmup_ratio=float(warmup), weight_decay=float(decay),
        batch_size=int(batch), grad_accum=int(accum), lora_r=int(r), lora_alpha=int(alpha),
        lora_dropout=float(dropout), target_modules=tuple(t.strip() for t in targets.split(",") if t.strip()),
        val_fraction=float(val), max_train_tokens=int(tokens), seed=int(seed))


# The share of a run's estimated time spent validating above which the page says so next to the estimate.
VALIDATING_MOST = 0.5


@st.cache_data(show_spinner="Estimating memory and time…", max_entries=64)
def _estimate(root: str, corpus_id: str, config_json: str) -> finetune.Estimate:
    from core.workspace import Workspace

    return finetune.preflight(Workspace(root), corpus_id, finetune.FinetuneConfig.from_dict(json.loads(config_json)))


def estimate_panel(ws, corpus_id: str, config: finetune.FinetuneConfig) -> finetune.Estimate | None:
    """Steps, memory and time for these settings; None (with the reason shown) when the run cannot start."""
    try:
        est = _estimate(str(ws.root), corpus_id, json.dumps(config.to_dict(), sort_keys=True))
    except UserError as exc:
        st.error(md(exc))
        return None
    a, b, c, d = st.columns(4)
    a.metric("Optimizer steps", f"{est.steps:,}")
    b.metric("Tokens trained", f"{est.tokens_trained:,}",
             help=f"What the {est.steps:,} steps read; the training split holds {est.train_tokens:,} tokens.")
    c.metric("Memory (estimate)", f"{est.memory_bytes / 2**30:,.2f} GB")
    d.metric("Time (estimate)", finetune.duration(est.seconds),
             help=f"Of which {finetune.duration(est.val_seconds)} for {est.evaluations} validations of "
                  f"{est.val_tokens:,} tokens (before training, then every quarter of the run). The running job "
                  "corrects this from its own measured speed.")
    st.caption(f"Training {est.trainable:,} of {est.params:,} parameters ({est.trainable / max(est.params, 1):.2%}) "
               f"on {est.tokens_trained:,} tokens; {est.evaluations} validations of {est.val_tokens:,} tokens, "
               f"about {finetune.duration(est.val_seconds)} of the time.")
    if est.seconds and est.val_seconds >= VALIDATING_MOST * est.seconds:
        # Said here, not only in the metric's tooltip: a short run on the defaults spent most of its time
        # validating (3 SmolLM2 steps on Lee: ~90 s, of which ~20 s training), which looked like slow training.
        st.info(md(f"Most of this run ({finetune.duration(est.val_seconds)} of {finetune.duration(est.seconds)}) "
                   "measures the model on the validation text rather than training it. For a quicker run, lower "
                   "“Validation share” under More settings; for more learning in the same wait, raise the steps."),
                icon=":material/timer:")
    if not est.fits:
        st.error(md(est.reason))
        return None
    if est.too_little:
        st.warning(est.too_little, icon=":material/info:")
    return est


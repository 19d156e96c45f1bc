"""A finished fine-tune: its numbers, its loss curve, the download, and the before/after comparison."""

from __future__ import annotations

import json

import streamlit as st

from core import finetune, generation, memorisation, models, plots
from core.corpus.store import load_documents
from core.jobs import DONE, SubProgress
from core.workspace import Workspace
from ui import report
from ui.jobs import finished_job, start_job
from ui.safe import md


def pick(ws, corpus_id: str):
    """The fine-tunes of the workspace, this corpus' first and the newest on top; None when there are none."""
    runs = sorted(ws.list(finetune.KIND), key=lambda m: (corpus_id not in m.parents, -m.created))
    if not runs:
        return None
    ids = [r.id for r in runs]
    if st.session_state.get("ft_selected") in ids:  # a run that just finished is shown first
        st.session_state.ft_pick = st.session_state.pop("ft_selected")
    by_id = {r.id: r for r in runs}
    choice = st.selectbox("Fine-tuned model", ids, key="ft_pick",
                          format_func=lambda i: f"{by_id[i].name} · {by_id[i].id}")
    return by_id[choice]


def summary(ws, manifest) -> None:
    m = manifest.metrics
    a, b, c, d = st.columns(4)
    before, after = m.get("val_ppl_before"), m.get("val_ppl_after")
    a.metric("Validation perplexity", f"{after:,.2f}" if after else "–",
             delta=f"{after - before:,.2f} from {before:,.2f}" if after and before else None, delta_color="inverse")
    b.metric("Steps", f"{m.get('steps', 0):,}")
    c.metric("Training tokens/s", f"{m.get('tokens_per_s', 0):,.0f}")
    d.metric("Took", finetune.duration(m.get("wall_seconds", m.get("seconds", 0))),
             help=f"Training steps {finetune.duration(m.get('seconds', 0))}; the rest is loading and validation.")
    method = finetune.METHOD_LABELS.get(m.get("method", ""), m.get("method", ""))
    st.caption(md(f"{method} on {m.get('base', '')}: {m.get('trainable_params', 0):,} trainable of "
                  f"{m.get('params', 0):,} parameters · {m.get('tokens_trained', m.get('train_tokens', 0)):,} tokens trained. "
                  f"Use it on the Generate and Attention pages as “{manifest.name}”."))
    if m.get("curve"):
        report.chart(plots.loss_curve(m["curve"]), "ft_curve", f"Fine-tuning loss: {manifest.name}",
                     {"page": "finetune", "artifacts": [["finetune", manifest.id]]})
    st.download_button("Download (zip: loads with transformers / peft)", lambda: finetune.export_zip(ws, manifest.id),
                       f"{manifest.id}.zip", "application/zip", key="ft_zip", on_click="ignore")


def before_after(ws, manifest) -> None:
    """The base and the fine-tuned model on the same prompts, memorisation flagged, and the per-token gains."""
    corpus_id = manifest.parents[0]
    config = finetune.FinetuneConfig.from_dict({k: v for k, v in manifest.config.items() if k != "corpus"})
    held_out = _held_out(str(ws.root), corpus_id, json.dumps(config.to_dict(), sort_keys=True))
    default = "\n".join(" ".join(t.split()[:8]) for t in held_out[:3])
    prompts = st.text_area("Prompts (one per line; continued as plain text)", default, key="ft_prompts")
    tokens = st.slider("New tokens per prompt", 10, 200, 40, key="ft_new_tokens")
    if st.button("Compare before and after", type="primary", key="ft_compare"):
        lines = [p for p in prompts.splitlines() if p.strip()][:8]
        start_job("ft_cmp_job", "Base vs fine-tuned", lambda ctx: _compare(ws, manifest, config, lines, held_out,
                                                                           tokens, ctx), kind="generate")
    job = finished_job("ft_cmp_job")
    if job is not None and job.status == DONE:
        st.session_state.ft_cmp = (manifest.id, job.result)
    elif job is not None:
        st.error(md(job.error or "Cancelled."))
    shown = st.session_state.get("ft_cmp")
    if not shown or shown[0] != manifest.id:
        return
    result = shown[1]
    for row in result["rows"]:
        st.caption(md(f"Prompt: {row['prompt']}"))
        for column, name, g, overlap in zip(st.columns(2), ("Base", "Fine-tuned"), row["outputs"], row["overlaps"],
                                            strict=True):
            column.markdown(f"**{name}**")
            column.code(g.text, language=None, wrap_lines=True)
            if overlap.flagged:
                column.warning(md(f"Copies {overlap.n} words in a row from the training corpus: “{overlap.text}”"))
            else:
                column.caption(f"Longest run of words shared with the training corpus: {overlap.n}")
    base_p, tuned_p = result["passage"]
    st.subheader("Which tokens it now expects")
    st.caption(md(f"A held-out passage, scored by both models: perplexity {base_p.perplexity:,.2f} → "
                  f"{tuned_p.perplexity:,.2f}."))
    report.chart(plots.probability_change_chart(base_p.tokens, base_p.surprisal, tuned_p.surprisal), "ft_change",
                 f"Before and after fine-tuning: {manifest.name} (perplexity {base_p.perplexity:,.2f} → "
                 f"{tuned_p.perplexity:,.2f})", {"page": "finetune", "artifacts": [["finetune", manifest.id]]})
    gain = base_p.surprisal - tuned_p.surprisal
    order = gain.argsort()[::-1][:12]
    import pandas as pd  # here: ~0.4 s cold, and the page's first render has no before/after to show

    st.dataframe(pd.DataFrame({"token": [repr(base_p.tokens[i]) for i in order],
                               "p before": (2.0 ** -base_p.surprisal[order]).round(4),
                               "p after": (2.0 ** -tuned_p.surprisal[order]).round(4),
                               "bits gained": gain[order].round(2)}), hide_index=True)


@st.cache_data(show_spinner=False, max_entries=16)
def _held_out(root: str, corpus_id: str, config_json: str) -> list[str]:
    """The run's validation documents: re-splitting tokenises the whole corpus, so once per run, not per rerun."""
    config = finetune.FinetuneConfig.from_dict(json.loads(config_json))
    return finetune.validation_texts(Workspace(root), corpus_id, config)


def _compare(ws, manifest, config, prompts, held_out, tokens, ctx) -> dict:
    base = models.load(config.base, ws=ws, ctx=SubProgress(ctx, 0.0, 0.15))
    tuned = models.load(f"finetune:{manifest.id}", ws=ws, ctx=SubProgress(ctx, 0.15, 0.3))
    unseen = set(held_out)
    training = [d.text for d in load_documents(ws, manifest.parents[0]) if d.text not in unseen]
    greedy = generation.GenerationConfig(strategy="greedy", max_new_tokens=tokens, repetition_penalty=1.1)
    rows = []
    for i, prompt in enumerate(prompts):
        ctx.check_cancelled()
        ctx.progress(0.3 + 0.6 * i / max(1, len(prompts)), f"Prompt {i + 1} of {len(prompts)}")
        outputs = [generation.generate(m, prompt, greedy) for m in (base, tuned)]
        rows.append({"prompt": prompt, "outputs": outputs,
                     "overlaps": [memorisation.longest_overlap(g.text, training) for g in outputs]})
    ctx.progress(0.9, "Scoring a held-out passage with both models")
    passage = " ".join((held_out[0] if held_out else "").split()[:300])
    scored = tuple(generation.perplexity(m, passage) for m in (base, tuned))
    return {"rows": rows, "passage": scored}

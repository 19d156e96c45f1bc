"""Running generations as jobs, streaming them onto the page, and showing what the model was sure of."""

from __future__ import annotations

import html
import json
import time

import pandas as pd
import streamlit as st

from core import access, generation, plots
from core.jobs import DONE, REGISTRY, Job
from ui import report
from ui.access import refuse, role
from ui.jobs import finished_job, live, session_id
from ui.safe import md


def work(runs: list[tuple]):
    """The job for ``runs`` — (LoadedModel, prompt, GenerationConfig) each — one after the other.

    Its ``partial`` is the text so far of every run, a new list at every piece; Stop ends the
    current run at the next token and keeps what it wrote. No Streamlit here: a worker thread runs it.
    """
    def job(ctx):
        texts, results = [""] * len(runs), []
        for i, (m, prompt, config) in enumerate(runs):
            pieces = 0

            def on_text(piece: str, i: int = i, budget: int = config.max_new_tokens, label: str = m.spec.label) -> None:
                nonlocal pieces
                pieces += 1
                texts[i] += piece
                ctx.partial(list(texts))
                ctx.progress((i + min(1.0, pieces / budget)) / len(runs), f"Generating with {label}")

            def on_wait(ahead: int, i: int = i, label: str = m.spec.label) -> None:
                ctx.progress(i / len(runs), f"Waiting for {label}: {ahead} {'request' if ahead == 1 else 'requests'} "
                                            "from other sessions ahead of yours")

            ctx.progress(i / len(runs), f"Generating with {m.spec.label}")
            results.append(generation.generate(m, prompt, config, on_text=on_text, should_stop=lambda: ctx.cancelled,
                                               on_wait=on_wait))
            if ctx.cancelled:
                break
        return results

    return job


def start(state_key: str, runs: list[tuple]) -> None:
    """Generate ``runs`` in a background job owned by this session under ``state_key``."""
    me = session_id()
    mine = sum(1 for j in REGISTRY.active() if j.owner == me and j.kind == "generate" and not j.is_finished)
    try:  # a viewer of a shared session: one at a time, bounded (the presenter: no limits)
        access.check_generation(role(), [p for _, p, _ in runs], [c.max_new_tokens for _, _, c in runs], mine)
    except access.Forbidden as exc:
        refuse(exc)
    job = REGISTRY.submit("Generating text", work(runs), kind="generate", owner=session_id())
    st.session_state[state_key] = job.id
    job.wait(0.5)
    st.rerun()


def poll(state_key: str, labels: list[str]) -> list[generation.Generation] | None:
    """While this session's job runs: the streaming panel (None). Once it ends: its results, handed back once."""
    job = finished_job(state_key, panel=lambda running: _live(running, labels))
    if job is None:
        return None
    if job.status != DONE:
        st.error(md(job.error or "The generation was cancelled."))
        return None
    for g in job.result:
        remember(g)
    return job.result


class _Slots:
    """The panel's status line and one code block per run; ``draw`` sends only what changed on screen."""

    def __init__(self, job: Job, labels: list[str]):
        self.title, self.shown = job.title, {}
        self.status = st.empty()
        self.texts = []
        for column, label in zip(st.columns(len(labels)), labels, strict=True):
            column.caption(md(label))
            self.texts.append(column.empty())

    def draw(self, texts: list[str], message: str) -> None:
        message = message or self.title  # "Generating with …", or waiting for another session
        if self.shown.get("status") != message:
            self.status.caption(md(message))
            self.shown["status"] = message
        for i, (slot, text) in enumerate(zip(self.texts, texts + [""] * len(self.texts), strict=False)):
            if self.shown.get(i) != text:
                slot.code(text + "▌", language=None, wrap_lines=True)
                self.shown[i] = text


def _live(job: Job, labels: list[str]) -> None:
    """The streaming panel: the status line, one code block per run that grows as the text arrives, Stop."""

    def body(current: Job):
        slots = _Slots(current, labels)
        slots.draw(list(current.partial or []), current.message)
        return lambda j: slots.draw(list(j.partial or []), j.message)

    def stop(current: Job) -> None:  # outside the streaming fragment, so a click stops it at once (ui.jobs.live)
        st.button("Stop", key=f"stop-{current.id}", on_click=current.cancel, disabled=current.cancel_requested,
                  help="Ends the generation at the next token and keeps the text so far.")

    live(job, body, lambda j: (j.partial, j.message), controls=stop)


def show(g: generation.Generation, key: str) -> None:
    """The text, how it ended, and the token view: colour = probability, hover = the top-5 alternatives."""
    st.code(g.text or "(nothing: the model ended at once)", language=None, wrap_lines=True)
    ending = {"length": "reached the token limit", "eos": "the model ended it", "stop": "hit a stop string",
              "cancelled": "stopped by you; the text so far is kept"}[g.finish]
    st.caption(md(f"{g.model_label} · {g.config.label()} · {len(g.tokens)} tokens in {g.seconds:.1f} s "
                  f"({g.tokens_per_s:.1f} tokens/s, first after {g.first_token_s:.2f} s) · {ending}"))
    for notice in g.notices:
        st.info(md(notice))
    if not g.tokens:
        return
    st.html(token_html(g.tokens))
    report.add_button(key, f"Generated by {g.model_label}", lambda: {
        "kind": "tokens", "text": g.text,
        "tokens": [{"text": t.text, "weight": float(t.prob),
                    "tip": f"p = {t.prob:.1%} · " + ", ".join(f"{s!r} {p:.0%}" for s, p in t.top)} for t in g.tokens]},
        {"page": "generate", "uses": (), "settings": {"settings": g.config.label(), "model": g.model_label}})
    st.caption("Each generated token, coloured by the probability the model gave it (red: a surprise, green: sure). "
               "Hover or tap a token for the five likeliest alternatives.")
    st.plotly_chart(plots.token_probability_chart([t.text for t in g.tokens], [t.prob for t in g.tokens],
                                                  [t.entropy for t in g.tokens]), key=f"{key}_probs")
    labels = [f"#{i + 1} {t.text!r} · p = {t.prob:.2f}" for i, t in enumerate(g.tokens)]
    i = st.selectbox("Look at one token", range(len(labels)), format_func=labels.__getitem__, key=f"{key}_token")
    token = g.tokens[int(i)]
    st.dataframe(pd.DataFrame({"alternative": [repr(s) for s, _ in token.top], "probability": [p for _, p in token.top]}),
                 hide_index=True, column_config={"probability": st.column_config.ProgressColumn(
                     "probability", min_value=0.0, max_value=1.0, format="%.3f")})


# A CSS tooltip, not a title attribute: it shows at once, and a tap (focus) pins it on a touch screen.
TOKEN_STYLE = """<style>
.cl-tok{position:relative;color:#111;border-radius:3px;padding:1px 0;cursor:pointer;outline:none}
.cl-tok:focus{box-shadow:0 0 0 2px #1c7ed6}
.cl-tip{display:none;position:absolute;left:0;top:1.8em;z-index:20;min-width:12em;background:#212529;color:#f8f9fa;
 padding:6px 9px;border-radius:5px;white-space:pre;font-size:0.82em;line-height:1.45;pointer-events:none}
.cl-tok:hover .cl-tip,.cl-tok:focus .cl-tip{display:block}
</style>"""


def token_html(tokens) -> str:
    """Escaped spans, one per token: user and model text never becomes markup."""
    spans = []
    for t in tokens:
        hue = int(120 * t.prob)  # 0 red … 120 green
        alternatives = "\n".join(f"{s!r}  {p:.1%}" for s, p in t.top)
        tip = f"p = {t.prob:.1%} · entropy {t.entropy:.2f} bits\n{alternatives}"
        spans.append(f'<span class="cl-tok" tabindex="0" style="background:hsl({hue},75%,82%)">{html.escape(t.text)}'
                     f'<span class="cl-tip">{html.escape(tip)}</span></span>')
    return (TOKEN_STYLE + '<div style="font-family:ui-monospace,monospace;white-space:pre-wrap;line-height:1.9">'
            + "".join(spans) + "</div>")


# --- this session's history -----------------------------------------------------------------------
def remember(g: generation.Generation) -> None:
    st.session_state.setdefault("gen_history", []).append({"time": time.strftime("%Y-%m-%d %H:%M:%S"), **g.to_json()})


def history() -> None:
    records = st.session_state.get("gen_history", [])
    if not records:
        st.info("Nothing generated in this browser session yet.")
        return
    table = pd.DataFrame([{"time": r["time"], "model": r.get("model_label", r.get("model_id")), "prompt": r["prompt"],
                           "text": r["text"], "finish": r.get("finish")} for r in records])
    st.dataframe(table, hide_index=True)
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
    st.download_button("Download the history (JSONL)", data.encode(), "generations.jsonl", "application/jsonl",
                       key="gen_history_download")
    if st.button("Clear the history", key="gen_history_clear"):
        st.session_state.gen_history = []
        st.rerun()

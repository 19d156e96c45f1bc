"""Generate: prompt a causal language model, watch it write, and see how sure it was of every token."""

import pandas as pd
import streamlit as st

from core import generation, plots
from core.errors import UserError
from core.jobs import DONE
from ui import cached, generation_view, permalink
from ui.generation_form import settings_form
from ui.jobs import finished_job, running, start_job
from ui.model_picker import model_picker
from ui.safe import md
from ui.state import active_corpus_id

DEFAULT_PROMPT = "What is a word embedding? Answer in two sentences."


def chat_available(m) -> bool:
    return bool(getattr(m.tokenizer, "chat_template", None))


st.title("Generate")
permalink.bind(gen_model=str, gen_prompt=str, gen_preset=str, gen_max_new_tokens=int, gen_strategy=str,
               gen_temperature=float, gen_top_k=int, gen_top_p=float, gen_repetition_penalty=float,
               gen_no_repeat_ngram_size=int, gen_num_beams=int, gen_seed=int)
m = model_picker("gen", kinds=("causal",))
if m is None:
    st.info("Load a language model to write with it. The bundled SmolLM2 works offline; its first load converts it "
            "once (~20 s).")
    st.stop()

write, compare, ppl, past = st.tabs(["Generate", "Compare", "Perplexity", "History"], key="gen_tabs")
with write:
    config = settings_form("gen", chat_available=chat_available(m), chat_default=m.spec.chat)
    prompt = st.text_area("Prompt", DEFAULT_PROMPT, key="gen_prompt", max_chars=20_000)
    if st.button("Generate", type="primary", key="gen_go", disabled=running("gen_job")):
        try:
            generation.check_prompt(m, prompt, config)
            generation_view.start("gen_job", [(m, prompt, config)])
        except UserError as exc:
            st.error(md(exc))
    results = generation_view.poll("gen_job", [m.spec.label])
    if results:
        st.session_state.gen_last = results[0]
    if "gen_last" in st.session_state:
        generation_view.show(st.session_state.gen_last, "gen_view")

with compare:
    st.caption("The same prompt twice: change the settings, the model, or both, and read the two side by side.")
    left, right = st.columns(2)
    with left:
        st.subheader("A")
        st.caption(md(f"{m.spec.label} with the settings of the Generate tab: {config.label()}"))
    with right:
        st.subheader("B")
        other = model_picker("gen_b", kinds=("causal",))
        config_b = settings_form("gen_b", chat_available=other is not None and chat_available(other),
                                 chat_default=other is not None and other.spec.chat)
    prompt_c = st.text_area("Prompt", DEFAULT_PROMPT, key="gen_cmp_prompt", max_chars=20_000)
    if st.button("Compare", type="primary", key="gen_cmp_go", disabled=other is None or running("gen_cmp_job")):
        try:
            generation.check_prompt(m, prompt_c, config)
            generation.check_prompt(other, prompt_c, config_b)
            generation_view.start("gen_cmp_job", [(m, prompt_c, config), (other, prompt_c, config_b)])
        except UserError as exc:
            st.error(md(exc))
    pair = generation_view.poll("gen_cmp_job", ["A: " + m.spec.label, "B: " + (other.spec.label if other else "")])
    if pair:
        st.session_state.gen_cmp_last = pair
    for column, g, name in zip(st.columns(2), st.session_state.get("gen_cmp_last", []), "AB", strict=False):
        with column:
            generation_view.show(g, f"gen_cmp_{name}")

with ppl:
    st.caption("Perplexity: how surprised the model is by a text, 2 to the mean bits per token. Lower means the text "
               "is more like what the model expects; fine-tuning on a corpus should lower it for that corpus.")
    cid = active_corpus_id()
    source = st.radio("Text", ["Type", "A corpus document"] if cid else ["Type"], horizontal=True, key="ppl_source")
    if source == "Type":
        text = st.text_area("Text", "The quick brown fox jumps over the lazy dog.", key="ppl_text", max_chars=200_000)
    else:
        docs = cached.documents(cid)
        i = st.number_input("Document #", 0, len(docs) - 1, 0, key="ppl_doc")
        text = docs[int(i)].text
        st.code(text[:2000] + (" …" if len(text) > 2000 else ""), language=None, wrap_lines=True)
    if st.button("Measure perplexity", type="primary", key="ppl_go"):
        start_job("ppl_job", f"Perplexity with {m.spec.label}", lambda ctx: generation.perplexity(m, text, ctx=ctx),
                  kind="perplexity")
    job = finished_job("ppl_job")
    if job is not None and job.status == DONE:
        st.session_state.ppl_last = (m.spec.label, job.result)
    elif job is not None:
        st.error(md(job.error or "Cancelled."))
    if "ppl_last" in st.session_state:
        label, p = st.session_state.ppl_last
        a, b, c = st.columns(3)
        a.metric("Perplexity", f"{p.perplexity:,.2f}")
        b.metric("Tokens scored", f"{len(p.ids):,}")
        c.metric("Mean surprisal", f"{p.surprisal.mean():.2f} bits")
        if p.truncated:
            st.info("The text was long, so only its beginning was scored.")
        st.plotly_chart(plots.surprisal_chart(p.tokens, p.surprisal, f"Surprisal per token under {label}"),
                        key="ppl_chart")
        worst = p.surprisal.argsort()[::-1][:15]
        st.dataframe(pd.DataFrame({"token": [repr(p.tokens[j]) for j in worst], "position": worst + 1,
                                   "bits": p.surprisal[worst].round(2)}), hide_index=True)

with past:
    generation_view.history()

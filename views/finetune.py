"""Fine-tune: adapt a pretrained language model to the active corpus, then prove it learned."""

import streamlit as st

from core import finetune, models
from core.jobs import CANCELLED, DONE
from core.workspace import Workspace
from ui import cached, finetune_results
from ui.access import presenter_only
from ui.finetune_form import estimate_panel, finetune_form
from ui.jobs import finished_job, running, start_job
from ui.safe import md
from ui.state import active_corpus_id, flash, show_flash, workspace

st.title("Fine-tune")
ws: Workspace = workspace()
cid = active_corpus_id()
if cid is None:
    st.info("Pick or upload a corpus on the Corpus page first: fine-tuning teaches a model that corpus' text.")
    st.page_link("views/corpus.py", label="Go to Corpus", icon=":material/description:")
    st.stop()
show_flash()
st.caption(md(f"Corpus: {ws.manifest('corpus', cid).name} · {len(cached.documents(cid)):,} documents. Training "
              "uses its own copy of the base model, so other pages keep working meanwhile."))

train, results = st.tabs(["Train", "Results"], key="ft_tabs")
with train:
    config = finetune_form(ws)
    # The estimate needs torch, transformers and peft (~10 s cold): the form draws first, the estimate
    # (and with it the Start button) follows once the idle-time warm-up, or this page, has imported them.
    estimate = None
    if cached.when_warmed("transformers", "Loading torch and transformers for the estimate (once per server, "
                                          "up to ~10 s)…"):
        estimate = estimate_panel(ws, cid, config)
    run_id = finetune.finetune_id(cid, config)
    if ws.exists(finetune.KIND, run_id):
        st.success("These settings were already trained on this corpus; see the Results tab.")
    if presenter_only("finetune") and st.button("Start fine-tuning", type="primary", key="ft_start",
                 disabled=estimate is None or running("ft_job") or ws.exists(finetune.KIND, run_id)):
        label = models.resolve(config.base, ws).label
        start_job("ft_job", f"Fine-tuning {label} on this corpus with {finetune.METHOD_LABELS[config.method]}",
                  lambda ctx: finetune.run(ws, cid, config, ctx=ctx), kind="finetune", key=f"finetune-{run_id}")
    job = finished_job("ft_job")
    if job is not None and job.status == DONE:
        st.session_state.ft_selected = job.result.id
        flash("success", "Fine-tuning finished: the Results tab compares the model before and after.")
        st.rerun()
    elif job is not None and job.status == CANCELLED:
        st.info("Cancelled. The last checkpoint is kept: start again with the same settings to resume from it.")
    elif job is not None:
        st.error(md(job.error))
    # A toggle, not an expander: an expander draws its code blocks closed too, and the first code block
    # of a visit loads the browser's syntax highlighter (~0.9 s of the page's first render).
    if st.toggle("Run the same training on several GPUs (accelerate launch)", key="ft_multi_gpu"):
        command, yaml = finetune.accelerate_command(cid, config)
        st.caption("The page trains on one device. On a machine with several GPUs and this workspace, the same entry "
                   "point trains with data parallelism: save the config below as finetune.yaml in the Corpus Lab "
                   "folder (it is for 2 GPUs; DeepSpeed and FSDP are in its comments), then run the command.")
        st.code(yaml, language="yaml")
        st.code(command, language="bash")

with results:
    chosen = finetune_results.pick(ws, cid)
    if chosen is None:
        st.info("No fine-tuned models yet. Start one on the Train tab.")
    else:
        finetune_results.summary(ws, chosen)
        st.divider()
        finetune_results.before_after(ws, chosen)

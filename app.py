"""Corpus Lab: the entrypoint. Navigation over the file pages, and the shared sidebar."""

import os

import streamlit as st
from streamlit import delta_generator

from core.device import share_cpu_politely
from ui import access, cached, permalink, sidebar

share_cpu_politely()  # before a page loads torch: its threads share this process's cores with Streamlit and the browser

# Before the first element a process draws, Streamlit checks whether it runs in a REPL (to print a
# "use streamlit run" hint) with inspect.stack(), which resolves the file of every loaded module:
# 0.2-0.3 s of the first page after a server starts. This app only ever runs under `streamlit run`.
delta_generator._use_warning_has_been_displayed = True

# A file, not ":material/…" (Streamlit fetches that favicon from fonts.gstatic.com at every page load)
# nor an emoji (a box on machines without an emoji font): served by this server, nothing leaves the machine.
st.set_page_config(page_title="Corpus Lab", layout="wide",
                   page_icon=os.path.join(os.path.dirname(os.path.abspath(__file__)), "ui", "icon.png"))

pages = {
    "": [st.Page("views/home.py", title="Home", icon=":material/home:", default=True)],
    "Data": [
        st.Page("views/corpus.py", title="Corpus", icon=":material/description:", url_path="corpus"),
        st.Page("views/preprocess.py", title="Preprocess", icon=":material/tune:", url_path="preprocess"),
        st.Page("views/analyze.py", title="Analyze", icon=":material/query_stats:", url_path="analyze"),
        st.Page("views/topics.py", title="Topics", icon=":material/category:", url_path="topics"),
    ],
    "Word vectors": [
        st.Page("views/embeddings.py", title="Embeddings", icon=":material/hub:", url_path="embeddings"),
        st.Page("views/map.py", title="Map", icon=":material/scatter_plot:", url_path="map"),
    ],
    "Transformers": [
        st.Page("views/attention.py", title="Attention", icon=":material/visibility:", url_path="attention"),
        st.Page("views/generate.py", title="Generate", icon=":material/edit_note:", url_path="generate"),
        st.Page("views/finetune.py", title="Fine-tune", icon=":material/model_training:", url_path="finetune"),
        st.Page("views/classify.py", title="Classify", icon=":material/label:", url_path="classify"),
    ],
    "Share": [st.Page("views/report.py", title="Report", icon=":material/summarize:", url_path="report")],
}


@st.cache_resource(show_spinner=False)
def warm_up() -> None:
    """Once per process: load what later pages need (NLTK and WordNet, gensim, UMAP's numba code, which
    a first map would otherwise wait ~10+ s for) in the background, whenever no page is being drawn."""
    if os.environ.get("CORPUS_LAB_WARMUP", "1") != "0":
        cached.warm_up_when_idle()


warm_up()
access.gate()  # a shared server: nothing shows before the access code
with cached.ACTIVITY.script_run():
    page = st.navigation(pages)
    link_slot = sidebar.render()
    if st.context.is_embedded:
        sidebar.embedded_context()
    try:
        page.run()
    finally:  # also when the page stopped early (st.stop): its link is still worth copying
        with link_slot.container():
            permalink.copy_link()

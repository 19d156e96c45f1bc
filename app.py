"""Corpus Lab: the entrypoint. Navigation over the file pages, and the shared sidebar."""

import streamlit as st

from ui import sidebar

st.set_page_config(page_title="Corpus Lab", page_icon=":material/biotech:", layout="wide")

pages = {
    "": [st.Page("views/home.py", title="Home", icon=":material/home:", default=True)],
    "Data": [
        st.Page("views/corpus.py", title="Corpus", icon=":material/description:", url_path="corpus"),
        st.Page("views/preprocess.py", title="Preprocess", icon=":material/tune:", url_path="preprocess"),
    ],
    "Word vectors": [
        st.Page("views/embeddings.py", title="Embeddings", icon=":material/scatter_plot:", url_path="embeddings"),
    ],
}
page = st.navigation(pages)
sidebar.render()
page.run()

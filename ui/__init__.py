"""Streamlit helpers shared by the pages: state, cached loaders, widgets, the job panel."""

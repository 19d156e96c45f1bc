"""Corpus Lab's logic: pure Python, no Streamlit (enforced by ruff's banned-api rule)."""

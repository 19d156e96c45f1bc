"""Token-level views for the Preprocess page: the highlighted preview and the effect report.

User text goes into HTML only through html.escape, and st.html sanitises what it renders."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from core import plots
from core.preprocess import Trace

STYLES = {
    "kept": "",
    "case": "background:#fff3bf",
    "normalised": "background:#ffd8a8",
    "special": "background:#d0ebff",
    "dropped": "color:#adb5bd;text-decoration:line-through",
}
LEGEND = ("unchanged · <span style='background:#fff3bf'>case folded</span> · "
          "<span style='background:#ffd8a8'>stemmed/lemmatized</span> · "
          "<span style='background:#d0ebff'>placeholder</span> · "
          "<span style='color:#adb5bd;text-decoration:line-through'>dropped</span>")


def _span(t: Trace, show_dropped: bool) -> str:
    if t.output is None:
        if not show_dropped:
            return ""
        return f"<span style='{STYLES['dropped']}' title='dropped: {t.step}'>{html.escape(t.token)}</span>"
    style = STYLES.get(t.step, "")
    title = html.escape(f"{t.token} → {t.output} ({t.step})", quote=True)
    return f"<span style='{style};padding:0 2px;border-radius:3px' title='{title}'>{html.escape(t.output)}</span>"


def tokens_html(sentences: list[list[Trace]], show_dropped: bool = True) -> str:
    lines = [" ".join(s for s in (_span(t, show_dropped) for t in sentence) if s) for sentence in sentences]
    body = "".join(f"<div style='margin-bottom:0.4em'>{line}</div>" for line in lines if line)
    return (f"<div style='font-family:monospace;line-height:1.9;max-height:420px;overflow:auto'>{body}</div>"
            f"<div style='font-size:0.8em;color:#868e96;margin-top:0.5em'>{LEGEND}</div>")


def effect_report(report: dict) -> None:
    s = report["summary"]
    reduction = 1 - s["types_after"] / s["types_before"] if s["types_before"] else 0.0
    cols = st.columns(6)
    cols[0].metric("Sentences", f"{s['sentences']:,}")
    cols[1].metric("Tokens before", f"{s['tokens_before']:,}")
    cols[2].metric("Tokens after", f"{s['tokens_after']:,}")
    cols[3].metric("Types before", f"{s['types_before']:,}")
    cols[4].metric("Types after", f"{s['types_after']:,}")
    cols[5].metric("Vocabulary reduction", f"{reduction:.0%}")
    st.plotly_chart(plots.removal_waterfall(s["tokens_before"], report["removed"], s["tokens_after"]),
                    key="waterfall")
    left, right = st.columns(2)
    left.plotly_chart(plots.top_words_bar(report["top_before"][:20], "Top words before"), key="top_before")
    right.plotly_chart(plots.top_words_bar(report["top_after"][:20], "Top words after"), key="top_after")

    st.markdown("**Merged forms** — what normalisation and case folding put together")
    st.dataframe(pd.DataFrame([{"form": r["form"], "total": r["total"], "forms": len(r["variants"]),
                                "merged": ", ".join(f"{w} {c:,}" for w, c in r["variants"]),
                                "example": r["example"]} for r in report["merges"]]),
                 hide_index=True, width="stretch", height=300, key="merges_table")
    st.markdown("**Case variants** — spellings that differ only in case, and what each became")
    st.dataframe(pd.DataFrame([{"word": r["word"], "total": r["total"],
                                "variants": ", ".join(f"{w} {c:,} → {o if o is not None else '(dropped)'}"
                                                      for w, c, o in r["variants"])}
                               for r in report["case_merges"]]),
                 hide_index=True, width="stretch", height=300, key="case_table")

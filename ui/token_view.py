"""Token-level views for the Preprocess page: the highlighted preview and the effect report.

User text goes into HTML only through html.escape, and st.html sanitises what it renders."""

from __future__ import annotations

import html

import streamlit as st

from core import plots
from core.preprocess import Trace
from ui.report import chart as report_chart

STYLES = {
    "kept": "",
    "case": "background:#fff3bf",
    "normalised": "background:#ffd8a8",
    "special": "background:#d0ebff",
    "name": "background:#e5dbff",
    "dropped": "color:#adb5bd;text-decoration:line-through",
}
LEGEND = ("unchanged · <span style='background:#fff3bf'>case folded</span> · "
          "<span style='background:#ffd8a8'>stemmed/lemmatized</span> · "
          "<span style='background:#d0ebff'>placeholder</span> · "
          "<span style='background:#e5dbff'>name, not stemmed</span> · "
          "<span style='border-bottom:2px solid #7048e8'>phrase</span> · "
          "<span style='color:#adb5bd;text-decoration:line-through'>dropped</span>")


def _span(t: Trace, show_dropped: bool, phrase: str | None = None) -> str:
    if t.output is None:
        if not show_dropped:
            return ""
        return f"<span style='{STYLES['dropped']}' title='dropped: {t.step}'>{html.escape(t.token)}</span>"
    style = STYLES.get(t.step, "") + (";border-bottom:2px solid #7048e8" if phrase else "")
    title = html.escape(f"{t.token} → {t.output} ({t.step})" + (f" · in the phrase {phrase}" if phrase else ""), quote=True)
    return f"<span style='{style};padding:0 2px;border-radius:3px' title='{title}'>{html.escape(t.output)}</span>"


def phrase_parts(sentence: list[Trace], phrases: frozenset[str]) -> dict[int, str]:
    """Positions of ``sentence`` that the corpus' phrases join (longest first), e.g. {4: "new_south_wales", …}."""
    kept = [i for i, t in enumerate(sentence) if t.output is not None]
    marks: dict[int, str] = {}
    k = 0
    while k < len(kept):
        for n in (3, 2):
            joined = "_".join(sentence[i].output for i in kept[k:k + n])
            if len(kept[k:k + n]) == n and joined in phrases:
                marks.update({i: joined for i in kept[k:k + n]})
                k += n
                break
        else:
            k += 1
    return marks


def tokens_html(sentences: list[list[Trace]], show_dropped: bool = True, phrases: frozenset[str] = frozenset()) -> str:
    lines = []
    for sentence in sentences:
        marks = phrase_parts(sentence, phrases) if phrases else {}
        spans = (_span(t, show_dropped, marks.get(i)) for i, t in enumerate(sentence))
        lines.append(" ".join(s for s in spans if s))
    body = "".join(f"<div style='margin-bottom:0.4em'>{line}</div>" for line in lines if line)
    return (f"<div style='font-family:monospace;line-height:1.9;max-height:420px;overflow:auto'>{body}</div>"
            f"<div style='font-size:0.8em;color:#868e96;margin-top:0.5em'>{LEGEND}</div>")


def effect_report(report: dict) -> None:
    import pandas as pd  # here: the Preprocess page's first render (no run yet) needs no pandas

    s = report["summary"]
    reduction = 1 - s["types_after"] / s["types_before"] if s["types_before"] else 0.0
    cols = st.columns(6)
    cols[0].metric("Sentences", f"{s['sentences']:,}")
    cols[1].metric("Tokens before", f"{s['tokens_before']:,}")
    cols[2].metric("Tokens after", f"{s['tokens_after']:,}")
    cols[3].metric("Types before", f"{s['types_before']:,}")
    cols[4].metric("Types after", f"{s['types_after']:,}")
    cols[5].metric("Vocabulary reduction", f"{reduction:.0%}")
    report_chart(plots.removal_waterfall(s["tokens_before"], report["removed"], s["tokens_after"]), "waterfall",
                 "What preprocessing removed", {"page": "preprocess", "uses": ("corpus", "tokens")})
    left, right = st.columns(2)
    left.plotly_chart(plots.top_words_bar(report["top_before"][:20], "Top words before"), key="top_before")
    right.plotly_chart(plots.top_words_bar(report["top_after"][:20], "Top words after"), key="top_after")

    st.markdown("**Merged forms** — what normalisation and case folding put together")
    st.dataframe(pd.DataFrame([{"form": r["form"], "total": r["total"], "forms": len(r["variants"]),
                                "merged": ", ".join(f"{w} {c:,}" for w, c in r["variants"]),
                                "example": r["example"]} for r in report["merges"]]),
                 hide_index=True, width="stretch", height=300, key="merges_table")
    phrases = report.get("phrases", [])
    if phrases:
        st.markdown(f"**Phrases** — {report.get('phrase_types', len(phrases)):,} word pairs and triples joined into "
                    "one token, because they occur together far more often than chance")
        st.dataframe(pd.DataFrame(phrases, columns=["phrase", "count"]), hide_index=True, width="stretch", height=300,
                     key="phrases_table")
    names = report.get("names", [])
    if names:
        st.markdown("**Names kept** — capitalised words inside sentences, left unstemmed; what the normaliser would "
                    "have made of them")
        st.dataframe(pd.DataFrame(names, columns=["name", "count", "would have become"]), hide_index=True,
                     width="stretch", height=300, key="names_table")
    st.markdown("**Case variants** — spellings that differ only in case, and what each became")
    st.dataframe(pd.DataFrame([{"word": r["word"], "total": r["total"],
                                "variants": ", ".join(f"{w} {c:,} → {o if o is not None else '(dropped)'}"
                                                      for w, c, o in r["variants"])}
                               for r in report["case_merges"]]),
                 hide_index=True, width="stretch", height=300, key="case_table")

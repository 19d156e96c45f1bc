"""The Classify page's parts: the split and its balance, the three kinds of model's forms, the leaderboard,
the scorecard (confusion matrix with clickable cells, calibration, ROC/PR with a threshold), the errors with
the words that pushed them, and the classifier put to use."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core import classify
from core.classify.metrics import predict
from core.jobs import DONE
from ui import report
from ui.access import confirmed_delete, is_presenter, presenter_only, require
from ui.jobs import finished_job, start_job
from ui.permalink import valid_choice
from ui.safe import md

KEYS = ("cl_test", "cl_val", "cl_seed", "cl_method", "cl_epochs", "cl_lr_method", "cl_base", "cl_threshold",
        "cl_text", "cl_max_length")
PREVIEW = 300


# --- the split ----------------------------------------------------------------------------------------------
def split_form() -> classify.SplitConfig:
    with st.expander("Split: train / validation / test"):
        a, b, c = st.columns(3)
        test = a.slider("Test share", 0.1, 0.5, 0.2, 0.05, key="cl_test",
                        help="Held out until the end: every score below is measured on it, never trained on.")
        val = b.slider("Validation share", 0.0, 0.3, 0.1, 0.05, key="cl_val",
                       help="Held out to watch the transformer's training (its F1 per epoch); the baselines ignore it.")
        seed = c.number_input("Seed", 0, 2**31 - 1, 42, key="cl_seed", help="The same seed gives the same split.")
    return classify.SplitConfig(test=float(test), validation=float(val), seed=int(seed))


@st.cache_data(max_entries=8, show_spinner="Reading the labels…")
def _prepared(root: str, cid: str, test: float, validation: float, seed: int):
    from ui.state import workspace

    return classify.prepare(workspace(), cid, classify.SplitConfig(test, validation, seed))


def prepared(root, cid: str, config: classify.SplitConfig):
    return _prepared(str(root), cid, config.test, config.validation, config.seed)


def offer_labelled_sample() -> None:
    from core.corpus.store import ingest_sample
    from ui.state import set_active_corpus, workspace

    if presenter_only("upload") and st.button("Use the Movie-review polarity sample (200 labelled sentences)",
                                              key="cl_sample"):
        require("upload")
        set_active_corpus(ingest_sample(workspace(), "polarity").id)
        st.rerun()


def balance(split, report: dict) -> None:
    counts = split.balance()
    # The split in words first: the chart below waits for the browser's Plotly script (~1 s on a first visit).
    sizes = " · ".join(f"{part} {len(split.part(part)):,}" for part in ("train", "validation", "test"))
    st.markdown(f"**{len(split.y):,} labelled documents in {len(split.classes)} classes:** {sizes}")  # numbers only
    fig = go.Figure([go.Bar(name=part, y=split.classes, x=[counts[part].get(c, 0) for c in split.classes],
                            orientation="h") for part in ("train", "validation", "test")])
    fig.update_layout(barmode="stack", height=min(120 + 22 * len(split.classes), 500), margin=dict(l=10, r=10, t=30, b=10),
                      title="Each class in train, validation and test",
                      legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1, xanchor="right"),
                      xaxis_title="documents")
    st.plotly_chart(fig, key="cl_balance")
    dropped = [f"{n:,} {what}" for what, n in (("without a label", report["unlabelled"]),
                                               ("with an empty text", report["empty"])) if n]
    if dropped:
        st.caption(md("Left out: " + " and ".join(dropped) + " documents."))
    for problem in split.problems:
        st.warning(md(problem))


# --- training -----------------------------------------------------------------------------------------------
def method_form(ws, method: str, split_config, vectors_id: str | None, n_train: int, n_val: int, mean_words: float):
    """The chosen method's settings as a ClassifierConfig, or None when it cannot run here (and why)."""
    if method == "tfidf":
        st.caption("Word and word-pair counts weighted by TF-IDF, then logistic regression: seconds on a CPU, and "
                   "the bar every other model has to clear.")
        return classify.ClassifierConfig("tfidf", split_config)
    if method == "mean_vectors":
        if vectors_id is None:
            st.info("This baseline averages the active word vectors: train or choose some on the Embeddings page.")
            return None
        st.caption(md(f"Each document is the mean of its words' vectors ({ws.manifest('vectors', vectors_id).name}), "
                      "then logistic regression: what the word vectors alone know about the labels."))
        return classify.ClassifierConfig("mean_vectors", split_config, vectors_id=vectors_id)
    from core import models

    encoders = {s.id: s for s in models.registry(ws) if s.kind == "encoder" and not s.id.startswith("classifier:")}
    a, b, c, d = st.columns(4)
    base = a.selectbox("Base model", list(encoders), key="cl_base", format_func=lambda i: encoders[i].label)
    how = b.radio("Fine-tune", ["full", "lora"], key="cl_lr_method", horizontal=True,
                  format_func={"full": "every weight", "lora": "LoRA adapters"}.get,
                  help="LoRA trains small low-rank matrices next to the attention weights (PEFT); full moves them all.")
    epochs = c.number_input("Epochs", 1, 20, 3, key="cl_epochs")
    length = d.select_slider("Max tokens per text", [64, 128, 256, 512], 128, key="cl_max_length",
                             help="Longer texts are cut: time grows with this.")
    encoder = classify.EncoderConfig(base=base, method=how, epochs=int(epochs), max_length=int(length),
                                     seed=split_config.seed)
    seconds = classify.estimate_seconds(n_train, n_val, encoder, mean_words=mean_words)
    st.caption(f"{encoders[base].label} with a new classification head, trained with Hugging Face's Trainer on "
               f"{n_train:,} documents, checked on {n_val:,} after every epoch. Estimated time on this machine: "
               f"about {_minutes(seconds)}.")
    return classify.ClassifierConfig("encoder", split_config, encoder=encoder)


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


# --- the leaderboard ----------------------------------------------------------------------------------------
def leaderboard(board) -> str:
    rows = [{"model": m.name.split(" · ")[0], "test accuracy": m.metrics["accuracy"],
             "macro F1": m.metrics["macro_f1"], "weighted F1": m.metrics["weighted_f1"],
             "commonest class": m.metrics["chance"], "test documents": m.metrics["n_test"],
             "split": "test {test:.0%} · val {validation:.0%} · seed {seed}".format(**m.config["split"])}
            for m in board]
    st.subheader("Leaderboard")
    ids = [m.id for m in board]

    def picked() -> None:  # only a new click picks: a selection left from before must not override a new model
        rows_ = st.session_state["cl_board"].selection.rows
        if rows_ and rows_[0] < len(ids):
            st.session_state["cl_model"] = ids[rows_[0]]

    st.dataframe(rows, hide_index=True, width="stretch", key="cl_board", on_select=picked,
                         selection_mode="single-row",
                         column_config={c: st.column_config.NumberColumn(format="%.3f")
                                        for c in ("test accuracy", "macro F1", "weighted F1", "commonest class")})
    report.add_button("cl_board", "Classifier leaderboard", lambda: report.table(rows),
                      {"page": "classify", "artifacts": [["classifier", m.id] for m in board]})
    valid_choice("cl_model", ids, "classifier")
    if st.session_state.get("cl_model") not in ids:
        st.session_state["cl_model"] = ids[0]
    st.query_params["cl_model"] = st.session_state["cl_model"]  # the link names what is shown now
    st.caption("Click a row to see its scorecard. 'Commonest class' is the accuracy of always guessing the class "
               "most frequent in training: a model is only worth something above it.")
    return st.session_state["cl_model"]


@st.cache_resource(max_entries=4, show_spinner="Loading the classifier…")
def _loaded(root: str, mid: str):
    from ui.state import workspace

    return classify.load(workspace(), mid)


def loaded(root, mid: str) -> classify.Classifier:
    return _loaded(str(root), mid)


# --- the scorecard ------------------------------------------------------------------------------------------
def scorecard(clf: classify.Classifier, texts: list[str]) -> None:
    binary = len(clf.classes) == 2
    threshold = None
    if binary:
        threshold = st.slider(f"Threshold: predict '{md(clf.classes[1])}' when its probability is at least", 0.05, 0.95,
                              0.5, 0.05, key="cl_threshold",
                              help="Moves the trade-off between the two kinds of error; the matrix and scores follow.")
    card = clf.scorecard(threshold)
    m = clf.manifest.metrics
    lo, hi = card["accuracy_ci"]
    a, b, c, d = st.columns(4)
    a.metric("Test accuracy", f"{card['accuracy']:.1%}", f"{card['accuracy'] - m['chance']:+.1%} vs commonest class",
             help=f"95% interval {lo:.0%}–{hi:.0%} (Wilson): on {card['n']:,} test documents, another sample of the "
                  "same size could score anywhere in it.")
    b.metric("Macro F1", f"{card['macro']['f1']:.3f}", help="The mean of the classes' F1: a small class counts as much "
             "as a big one.")
    c.metric("Weighted F1", f"{card['weighted']['f1']:.3f}", help="The classes' F1 weighted by their test documents.")
    d.metric("Calibration error", f"{card['ece']:.3f}", help="Expected calibration error: how far the stated "
             "confidence is from the accuracy it delivers (0 = a 70%-sure prediction is right 70% of the time).")
    if card["n"] < 100:
        st.warning(f"Only {card['n']} test documents: the accuracy could be anywhere from {lo:.0%} to {hi:.0%}. "
                   "Differences between models smaller than that are noise; a bigger corpus or test share narrows it.")
    elif card["accuracy"] - m["chance"] < 0.05:
        st.warning("This model barely beats always guessing the commonest class: it has learnt little from the texts.")
    left, right = st.columns([3, 2])
    with left:
        cell = _confusion(card, {"page": "classify", "artifacts": [["classifier", clf.manifest.id]],
                                 "settings": {"threshold": threshold, "model": clf.name}})
    with right:
        st.dataframe(card["per_class"], hide_index=True, width="stretch", key="cl_per_class",
                     column_config={k: st.column_config.NumberColumn(format="%.3f") for k in ("precision", "recall", "f1")})
        report.add_button("cl_per_class", f"Scorecard: {clf.name} (accuracy {card['accuracy']:.1%}, 95% interval "
                          f"{lo:.0%}–{hi:.0%}, n = {card['n']})", lambda: report.table(card["per_class"]),
                          {"page": "classify", "artifacts": [["classifier", clf.manifest.id]],
                           "settings": {"threshold": threshold}})
        _reliability(card, {"page": "classify", "artifacts": [["classifier", clf.manifest.id]]})
    if cell is not None:
        _cell_documents(clf, texts, card, *cell)
    if binary and card.get("roc"):
        roc, pr = st.columns(2)
        with roc:
            _curve(card["roc"]["fpr"], card["roc"]["tpr"], card["roc"]["thresholds"], threshold,
                   f"ROC (area {card['roc']['auc']:.3f})", "false positive rate", "true positive rate", "cl_roc")
        with pr:
            _curve(card["pr"]["recall"][:-1], card["pr"]["precision"][:-1], card["pr"]["thresholds"], threshold,
                   f"Precision–recall (average precision {card['pr']['ap']:.3f})", "recall", "precision", "cl_pr")


def _confusion(card, source: dict) -> tuple[int, int] | None:
    """The matrix as clickable squares (a heatmap cell cannot be selected in Streamlit); returns the clicked cell."""
    classes, matrix = card["classes"], np.asarray(card["confusion"])
    k = len(classes)
    totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    share = matrix / totals
    xs, ys = np.meshgrid(range(k), range(k))
    size = max(18, min(90, 440 // k))
    fig = go.Figure(go.Scatter(
        x=xs.ravel(), y=ys.ravel(), mode="markers+text", text=[str(v) for v in matrix.ravel()],
        marker=dict(symbol="square", size=size, color=share.ravel(), colorscale="Blues", cmin=0, cmax=1,
                    line=dict(width=1, color="#adb5bd"), colorbar=dict(title="share of row", tickformat=".0%")),
        textfont=dict(color=["white" if s > 0.55 else "#212529" for s in share.ravel()]),
        customdata=[[classes[t], classes[p]] for t, p in zip(ys.ravel(), xs.ravel(), strict=True)],
        hovertemplate="true %{customdata[0]} → predicted %{customdata[1]}: %{text} documents<extra></extra>"))
    ticks = dict(tickmode="array", tickvals=list(range(k)), ticktext=[str(c)[:24] for c in classes])
    fig.update_layout(height=min(180 + size * k * 1.2, 720), margin=dict(l=10, r=10, t=90, b=10),
                      title=dict(text="Confusion matrix on the test part (click a cell for its documents)", y=0.98,
                                 yanchor="top"),
                      xaxis=dict(title="predicted", side="top", **ticks), yaxis=dict(title="true", autorange="reversed",
                                                                                       **ticks),
                      clickmode="event+select", dragmode=False)
    event = report.chart(fig, "cl_confusion", f"Confusion matrix: {source['settings']['model']}", source, on_select="rerun",
                         selection_mode="points")
    points = event.selection.points if event is not None and hasattr(event, "selection") else []
    if not points:
        return None
    return int(points[0]["y"]), int(points[0]["x"])


def _cell_documents(clf, texts, card, true: int, predicted: int) -> None:
    test = clf.split.test
    y_true = clf.split.y[test]
    y_pred = predict(clf.test_proba, card["threshold"])
    rows = [{"confidence": float(clf.test_proba[i, predicted]), "text": " ".join(texts[test[i]][:PREVIEW].split())}
            for i in np.flatnonzero((y_true == true) & (y_pred == predicted))]
    rows.sort(key=lambda r: -r["confidence"])
    right = "right" if true == predicted else "wrong"
    st.markdown(f"**{len(rows)} test documents labelled '{md(clf.classes[true])}', predicted "
                f"'{md(clf.classes[predicted])}'** ({right})")
    st.dataframe(rows, hide_index=True, width="stretch", key="cl_cell_docs",
                 column_config={"confidence": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f"),
                                "text": st.column_config.TextColumn(width="large")})


def _reliability(card, source: dict) -> None:
    bins = [b for b in card["reliability"] if b["count"]]
    fig = go.Figure([
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="#adb5bd"), name="perfect"),
        go.Scatter(x=[b["confidence"] for b in bins], y=[b["accuracy"] for b in bins], mode="lines+markers",
                   marker=dict(size=[6 + 14 * np.sqrt(b["count"] / card["n"]) for b in bins]), name="this model",
                   text=[f"{b['count']} documents" for b in bins], hovertemplate="confidence %{x:.2f} → right "
                   "%{y:.0%} (%{text})<extra></extra>")])
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), title="Reliability: confidence vs accuracy",
                      xaxis=dict(title="stated confidence", range=[0, 1]), yaxis=dict(title="right", range=[0, 1.02]),
                      legend=dict(orientation="h", y=-0.3))
    report.chart(fig, "cl_reliability", "Reliability diagram", source)


def _curve(x, y, thresholds, threshold, title, xtitle, ytitle, key) -> None:
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines", name=title, customdata=thresholds,
                               hovertemplate="threshold %{customdata:.2f}<extra></extra>"))
    if threshold is not None and len(thresholds):
        at = int(np.argmin(np.abs(np.asarray(thresholds) - threshold)))
        fig.add_trace(go.Scatter(x=[x[at]], y=[y[at]], mode="markers", marker=dict(size=12, color="#e03131"),
                                 name=f"threshold {threshold:.2f}"))
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=40, b=10), title=title, showlegend=False,
                      xaxis=dict(title=xtitle, range=[0, 1]), yaxis=dict(title=ytitle, range=[0, 1.02]))
    st.plotly_chart(fig, key=key)


# --- errors and explanations --------------------------------------------------------------------------------
def explained_html(words: list[tuple[str, float]]) -> str:
    """Escaped words on a red (against) to green (for) background: model and user text never becomes markup."""
    top = max((abs(w) for _, w in words), default=0.0) or 1.0
    spans = []
    for word, weight in words:
        alpha = min(1.0, abs(weight) / top) * 0.75
        colour = f"rgba(47,158,68,{alpha:.2f})" if weight > 0 else f"rgba(224,49,49,{alpha:.2f})"
        spans.append(f'<span title="{weight:+.3f}" style="background:{colour};padding:1px 2px;border-radius:3px">'
                     f"{html.escape(word)}</span>")
    return '<div style="line-height:1.9">' + " ".join(spans) + "</div>"


@st.cache_data(max_entries=256, show_spinner=False)
def _explain(root: str, mid: str, created: float, text: str, target: int | None = None) -> list[tuple[str, float]]:
    return _loaded(root, mid).explain(text, target)  # created: a model trained again under the same id


def errors(clf: classify.Classifier, texts: list[str]) -> None:
    test = clf.split.test
    y_true, proba = clf.split.y[test], clf.test_proba
    y_pred = predict(proba, st.session_state.get("cl_threshold") if len(clf.classes) == 2 else None)
    wrong = np.flatnonzero(y_true != y_pred)
    if not len(wrong):
        st.success(f"No test document is misclassified (of {len(test):,}).")
        return
    wrong = wrong[np.argsort(-proba[wrong, y_pred[wrong]])]
    st.caption(f"{len(wrong):,} of {len(test):,} test documents are misclassified; the most confident mistakes "
               "first. Green words pushed toward the (wrong) prediction, red words against it.")
    root = _root()
    for i in wrong[:10]:
        text = texts[test[i]][:2000]
        with st.container(border=True):
            st.markdown(md(f"labelled {clf.classes[y_true[i]]} · predicted {clf.classes[y_pred[i]]} with "
                           f"{proba[i, y_pred[i]]:.0%}"))
            st.html(explained_html(_explain(root, clf.manifest.id, clf.manifest.created, text, int(y_pred[i]))))


def _root() -> str:
    from ui.state import workspace

    return str(workspace().root)


# --- use it -------------------------------------------------------------------------------------------------
def use(ws, cid: str, clf: classify.Classifier) -> None:
    text = st.text_area("Type or paste a text", key="cl_text", height=90, max_chars=5000,
                        placeholder="A review, a message, a paragraph…")
    if text.strip():
        proba = clf.predict_proba([text])[0]
        order = np.argsort(-proba)
        fig = go.Figure(go.Bar(x=proba[order], y=[str(clf.classes[i]) for i in order], orientation="h",
                               marker_color="#1c7ed6", text=[f"{p:.0%}" for p in proba[order]]))
        fig.update_layout(height=min(100 + 28 * len(order), 420), margin=dict(l=10, r=10, t=10, b=10),
                          xaxis=dict(range=[0, 1], tickformat=".0%"), yaxis=dict(autorange="reversed"))
        st.plotly_chart(fig, key="cl_use_bars")
        st.html(explained_html(_explain(_root(), clf.manifest.id, clf.manifest.created, text, int(order[0]))))
    st.divider()
    job = finished_job("cl_label_job")
    if job is not None and job.status == DONE:
        st.session_state["cl_labelled"] = {"model": job.result[0], "csv": job.result[1]}
    elif job is not None:
        st.error(md(job.error or "Cancelled."))
    done = st.session_state.get("cl_labelled")
    if done and done["model"] == clf.manifest.id:
        st.download_button("Download the labelled corpus (CSV)", done["csv"], file_name="labelled.csv",
                           mime="text/csv", key="cl_download")
    elif "cl_label_job" not in st.session_state and presenter_only("train") and st.button("Label the whole corpus",
                                                                                         key="cl_label"):
        threshold = st.session_state.get("cl_threshold") if len(clf.classes) == 2 else None
        start_job("cl_label_job", "Labelling the corpus",
                  lambda ctx: (clf.manifest.id, label_corpus(ws, cid, clf, ctx, threshold)), kind="classify")
    if clf.config.method == "encoder":
        st.caption("This fine-tuned encoder is also on the Attention page's model list: see what it attends to.")


def label_corpus(ws, cid: str, clf: classify.Classifier, ctx, threshold: float | None = None) -> str:
    """Every document with its label (if any), the prediction (at the scorecard's threshold) and each class'
    probability, as CSV text."""
    import csv
    import io

    from core.corpus.store import load_documents

    docs = load_documents(ws, cid)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["text", "label", "predicted", *[f"p_{c}" for c in clf.classes]])
    for start in range(0, len(docs), 256):
        ctx.check_cancelled()
        ctx.progress(start / max(len(docs), 1), f"Documents {start + 1:,}–{min(start + 256, len(docs)):,} of {len(docs):,}")
        chunk = docs[start:start + 256]
        proba = clf.predict_proba([d.text for d in chunk])
        for doc, p, k in zip(chunk, proba, predict(proba, threshold), strict=True):
            writer.writerow([_cell(doc.text), _cell(doc.label or ""), _cell(clf.classes[int(k)]),
                             *[f"{x:.4f}" for x in p]])
    return out.getvalue()


def _cell(text: str) -> str:
    """A spreadsheet would run a cell starting with = + - @ as a formula (CSV injection): quote it as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def delete(ws, manifest) -> None:
    if not is_presenter():
        return
    with st.expander("Delete this classifier"):
        if confirmed_delete("Yes, delete it", "Delete", key="cl_delete", confirm_key="cl_confirm_delete"):
            ws.delete(classify.KIND, manifest.id)
            _loaded.clear()
            for key in ("cl_model", "cl_labelled"):
                st.session_state.pop(key, None)
            st.rerun()

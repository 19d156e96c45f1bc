"""Home: what Corpus Lab is and where to start."""

import streamlit as st

from core.corpus.store import KIND
from ui import demo
from ui.state import workspace

st.title("Corpus Lab")
st.markdown(
    "Look inside a text corpus and the models trained on it: bring a corpus in and see its "
    "vocabulary, its Zipf curve and its words in context. Everything runs on this machine, offline."
)
corpora = workspace().list(KIND)
if corpora:
    st.success(f"{len(corpora)} corpus artifact(s) in the workspace.")
left, right = st.columns(2)
with left:
    st.markdown("**New here?** See what Corpus Lab finds in a real corpus: one click runs a news sample through "
                "every step up to its word map.")
    demo.offer(key="home_demo")
with right:
    st.markdown("**Have a corpus?** Upload files, paste text or pick a bundled sample, then go step by step.")
    st.page_link("views/corpus.py", label="Start with a corpus", icon=":material/arrow_forward:")

st.subheader("The tour")
st.markdown(
    """
1. **Corpus** — upload text, Markdown, CSV/TSV, JSON Lines, PDF, Word files or a zip of them,
   paste text, or pick a bundled sample; see counts, top words, Zipf's law, document lengths,
   a document browser and a keyword-in-context search. Every corpus is saved in the workspace.
2. **Preprocess** — tokenize, fold case (smartly: "US" is not "us"), drop stopwords, stem or
   lemmatize, join phrases like *new_york*; watch each choice change a document, compare
   stemmers with lemmatizers, and see which words each stem merged.
3. **Analyze** — words and n-grams with document frequencies; collocations of a word with MI,
   t-score, log-likelihood, logDice and ΔP, and the concordance lines behind each; keywords of one
   label against another; where words occur across the corpus and how evenly.
4. **Topics** — what the corpus is about: LDA or embedding topics (MiniLM, UMAP, HDBSCAN), their
   words, typical documents and share per label; name them; place a new text.
5. **Embeddings** — train Word2Vec (CBOW or skip-gram), FastText or GloVe on the tokens; score
   them on analogy and word-similarity benchmarks side by side; ask for neighbours and analogies
   ("man : king :: woman : ?"); compare two models; import and export vectors.
6. **Map** — see the whole vocabulary on a UMAP map: clusters, search with lines to the true
   nearest neighbours, semantic axes, and a trust colour that shows where the 2-D picture lies;
   map the documents too.
7. **Attention** — look inside SmolLM2 (GPT-like) or MiniLM (BERT-like): attention heatmaps per
   head, per layer and rolled out; why "bank" needs context; the model's next-token guesses.
8. **Generate** — prompt a language model and watch it write, token by token; greedy, sampling or
   beam search with every knob; see how sure it was of each token and what else it considered;
   compare two settings or two models; measure a text's perplexity.
9. **Fine-tune** — teach the model your corpus (LoRA or full), watch the loss fall, and see the
   proof: perplexity before and after, the same prompts side by side, a memorisation check.
10. **Classify** — teach a model the corpus' labels (TF-IDF, word vectors or a fine-tuned MiniLM) and
   read an honest scorecard: per-class scores, a confusion matrix whose cells open their documents,
   calibration, and the mistakes with the words that caused them.
11. **Report** — collect charts and tables from every page with **Add to report**, write a note under
   each, and export one HTML file that opens offline; copy a page's link; move work to another
   workspace as a bundle.
"""
)

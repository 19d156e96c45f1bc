"""Corpus analysis: an index of the corpus' tokens, and what corpus linguists ask of it —
frequencies and n-grams, collocations with their association measures, keyness, dispersion, concordance lines."""

from core.analysis.collocations import concordance, corpus_pairs, node_collocates
from core.analysis.dispersion import dispersion, per_document, positions
from core.analysis.index import KIND, CorpusIndex, build_index, config_for, index_id, load_index
from core.analysis.keyness import HELP as KEYNESS_HELP
from core.analysis.keyness import against_reference, keyness, labels_are, sample_counts
from core.analysis.measures import HELP, MEASURES, association
from core.analysis.ngrams import ngrams

__all__ = ["KIND", "HELP", "KEYNESS_HELP", "MEASURES", "CorpusIndex", "against_reference", "association",
           "build_index", "concordance", "config_for", "corpus_pairs", "dispersion", "index_id", "keyness",
           "labels_are", "load_index", "ngrams", "node_collocates", "per_document", "positions", "sample_counts"]

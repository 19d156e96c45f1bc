"""Getting a corpus in: readers, decoding, limits, samples and the corpus artifact."""

from core.corpus.model import Corpus, Document, SourceReport
from core.corpus.readers import Limits, ReadOptions, Source, SourceInfo, inspect_source, read_sources

__all__ = ["Corpus", "Document", "Limits", "ReadOptions", "Source", "SourceInfo", "SourceReport",
           "inspect_source", "read_sources"]

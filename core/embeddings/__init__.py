"""Static word vectors: training (Word2Vec, FastText, GloVe), evaluation, queries, safe I/O.

The in-memory type everywhere is gensim's ``KeyedVectors`` (``FastTextKeyedVectors`` for
FastText, so unseen words still get an n-gram vector). Word frequencies ride along as the
``"count"`` vector attribute (``kv.get_vecattr(word, "count")``).

Files, one idea each:
    config.py    EmbeddingConfig: one frozen dataclass for the three algorithms
    train.py     Word2Vec / FastText through gensim's corpus_file path; GloVe dispatch
    store.py     vectors artifacts: ids, listing, loading, imported files
    glove.py     our GloVe: co-occurrence counting + weighted least squares with AdaGrad
    vectors.py   the artifact's on-disk format (.npy + vocab.json, never pickle)
    vector_files.py  import pretrained vector files, export to other tools' formats
    evaluate.py  analogies and word-similarity benchmarks
    query.py     neighbours, analogies, similarity, odd-one-out, model comparison
"""

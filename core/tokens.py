"""The tokens artifact: a pipeline run over a whole corpus, streamed, with what it did.

Output: ``sentences.txt`` (one sentence per line, tokens separated by spaces: gensim's
``corpus_file``/LineSentence format, the fastest way to train Word2Vec) and ``report.json``
(counts before and after, tokens removed by each step, merged forms with an example).
Memory stays flat: documents are read one at a time and sentences go straight to disk.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from core.corpus.model import read_jsonl
from core.corpus.store import KIND as CORPUS
from core.corpus.store import jsonl_path
from core.errors import UserError
from core.jobs import NoJob
from core.preprocess import Pipeline, PipelineConfig
from core.workspace import Manifest, Workspace

KIND = "tokens"
SENTENCES = "sentences.txt"
TOP = 30
MERGES = 1000
PHRASES = 500  # phrase types listed in the report (and marked in the Preprocess preview)


def tokens_id(corpus_id: str, config: PipelineConfig) -> str:
    return Workspace.artifact_id(KIND, config.to_dict(), parents=[corpus_id])


def build_tokens(ws: Workspace, corpus_id: str, config: PipelineConfig, ctx=None) -> Manifest:
    """Run ``config`` over the corpus into a tokens artifact (or return the one already made)."""
    ctx = ctx or NoJob()
    artifact_id = tokens_id(corpus_id, config)
    if ws.exists(KIND, artifact_id):
        return ws.manifest(KIND, artifact_id)
    corpus = ws.manifest(CORPUS, corpus_id)
    pipe = Pipeline(config)

    def write(folder: Path) -> dict:
        raw = folder / "raw.txt"
        surface, output, examples, sentences = _first_pass(ws, corpus_id, corpus.metrics.get("documents", 1), pipe,
                                                           raw, ctx)
        removed = Counter()
        for token, count in surface.items():  # per type, not per token: what is dropped does not depend on context
            trace = pipe.map(token)
            if trace.output is None:
                removed[trace.step] += count
        if config.min_count > 1 or config.phrases:
            kept = _second_pass(raw, folder / SENTENCES, output, config, removed, ctx)
            raw.unlink()
        else:  # nothing corpus-level to do: the first pass wrote the final sentences
            raw.rename(folder / SENTENCES)
            kept = {"tokens": sum(output.values()), "types": len(output), "sentences": sentences,
                    "top": output.most_common(TOP)}
        if kept["tokens"] == 0:
            raise UserError(
                "Every token was filtered out, so there is nothing to train on. Loosen the filters: "
                "fewer stopwords, a lower minimum count or length, or keep numbers."
            )
        report = {
            "summary": {
                "documents": corpus.metrics.get("documents", 0), "sentences": kept["sentences"],
                "tokens_before": sum(surface.values()), "tokens_after": kept["tokens"],
                "types_before": len(surface), "types_after": kept["types"],
            },
            "removed": dict(removed),
            "top_before": surface.most_common(TOP),
            "top_after": kept["top"],
            "merges": merged_forms(surface, pipe, examples),
            "case_merges": case_merges(surface, pipe),
            # names left unstemmed (see PipelineConfig.names), with what the stemmer would have made of them
            "names": [[name, count, pipe.map(name).output] for name, count in pipe.names_kept.most_common(TOP)],
            "phrases": kept.get("phrases", []),
            "phrase_types": kept.get("phrase_types", 0),
        }
        (folder / "report.json").write_text(json.dumps(report, ensure_ascii=False))
        return {**report["summary"], "language": config.language}

    return ws.create(KIND, artifact_id, name=f"{corpus.name} · tokens", config=config.to_dict(),
                     parents=[corpus_id], write=write)


def _first_pass(ws, corpus_id, n_docs, pipe, raw_path, ctx):
    """Tokenize and map every sentence; count surface forms; keep a first example per output."""
    surface, output = Counter(), Counter()
    examples: dict[str, str] = {}
    sentences = 0
    step = max(1, n_docs // 200)
    with open(raw_path, "w", encoding="utf-8") as out:
        for i, doc in enumerate(read_jsonl(jsonl_path(ws, corpus_id))):
            if i % step == 0:
                ctx.check_cancelled()
                ctx.progress(0.8 * i / max(n_docs, 1), f"Tokenizing document {i + 1:,} of {n_docs:,}")
            doc_tokens, doc_output = [], []
            split = pipe.split_sentences(doc.text)
            tokenized = [pipe.tokenize(sentence) for sentence in split]
            names = pipe.names_in(tokenized)  # a whole document, so a name opening a sentence is known as one
            for sentence, tokens in zip(split, tokenized, strict=True):
                doc_tokens.extend(tokens)
                types_before = len(pipe._outputs)
                mapped = pipe.map_tokens(tokens, names)
                if not mapped:
                    continue
                if len(pipe._outputs) != types_before:  # only a new word type can bring a new output form
                    for form in set(mapped).difference(examples):
                        examples[form] = sentence[:240]
                doc_output.extend(mapped)
                out.write(" ".join(mapped))
                out.write("\n")
                sentences += 1
            surface.update(doc_tokens)  # once per document: Counter.update has a per-call cost
            output.update(doc_output)
    return surface, output, examples, sentences


class _Lines:
    """A restartable iterable over a token file (gensim's Phrases reads it more than once)."""

    def __init__(self, path: Path, keep=None):
        self.path, self.keep = path, keep

    def __iter__(self):
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                tokens = line.split()
                if self.keep is not None:
                    tokens = [t for t in tokens if t in self.keep]
                if tokens:
                    yield tokens


def _second_pass(raw: Path, final: Path, output: Counter, config: PipelineConfig, removed: Counter, ctx) -> dict:
    """Drop forms rarer than min_count, join phrases, write the final sentences."""
    keep = None
    if config.min_count > 1:
        keep = {w for w, c in output.items() if c >= config.min_count}
        removed["rare"] = sum(c for w, c in output.items() if c < config.min_count)
    stream = _Lines(raw, keep)
    if config.phrases:
        from gensim.models.phrases import ENGLISH_CONNECTOR_WORDS, Phrases

        connectors = ENGLISH_CONNECTOR_WORDS if config.language == "english" else frozenset()
        for level in range(config.phrases):
            ctx.check_cancelled()
            ctx.progress(0.8 + 0.08 * level, "Finding phrases" if level == 0 else "Finding longer phrases")
            model = Phrases(stream, min_count=config.phrase_min_count, threshold=config.phrase_threshold,
                            connector_words=connectors).freeze()
            stream = _Transformed(stream, model)
    ctx.progress(0.95, "Writing sentences")
    counts, sentences = Counter(), 0
    with open(final, "w", encoding="utf-8") as out:
        for tokens in stream:
            counts.update(tokens)
            out.write(" ".join(tokens))
            out.write("\n")
            sentences += 1
    # gensim joins a phrase's words with "_": a joined form the first pass never wrote is a phrase
    phrases = Counter({t: c for t, c in counts.items() if "_" in t and t not in output}) if config.phrases else Counter()
    return {"tokens": sum(counts.values()), "types": len(counts), "sentences": sentences, "top": counts.most_common(TOP),
            "phrases": phrases.most_common(PHRASES), "phrase_types": len(phrases)}


class _Transformed:
    def __init__(self, stream, model):
        self.stream, self.model = stream, model

    def __iter__(self):
        for tokens in self.stream:
            yield self.model[tokens]


def merged_forms(surface: Counter, pipe: Pipeline, examples: dict[str, str], limit: int = MERGES) -> list[dict]:
    """For each output form that several surface forms became: which, how often, an example.

    e.g. ``{"form": "run", "total": 172, "variants": [["running", 120], ["runs", 40], ["ran", 12]]}``
    """
    groups: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for token, count in surface.items():
        out = pipe.map(token).output
        if out is not None:
            groups[out].append((token, count))
    rows = [{"form": form, "total": sum(c for _, c in variants), "variants": sorted(variants, key=lambda x: -x[1]),
             "example": examples.get(form, "")}
            for form, variants in groups.items() if len(variants) > 1]
    return sorted(rows, key=lambda r: -r["total"])[:limit]


def case_merges(surface: Counter, pipe: Pipeline, limit: int = MERGES) -> list[dict]:
    """Spellings that differ only in case, and what each became (so "US" vs "us" is visible)."""
    groups: dict[str, list[tuple[str, int, str | None]]] = defaultdict(list)
    for token, count in surface.items():
        if any(ch.isalpha() for ch in token):
            groups[token.lower()].append((token, count, pipe.map(token).output))
    rows = [{"word": key, "total": sum(c for _, c, _ in v), "variants": sorted(v, key=lambda x: -x[1])}
            for key, v in groups.items() if len(v) > 1]
    return sorted(rows, key=lambda r: -r["total"])[:limit]


def load_report(ws: Workspace, artifact_id: str) -> dict:
    return json.loads((ws.path(KIND, artifact_id) / "report.json").read_text(encoding="utf-8"))


def sentences_path(ws: Workspace, artifact_id: str) -> Path:
    return ws.path(KIND, artifact_id) / SENTENCES

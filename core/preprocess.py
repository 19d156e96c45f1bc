"""Preprocessing: a frozen ``PipelineConfig`` turns text into sentences of tokens.

Every per-token decision (case, filters, stemming or lemmatization) depends only on the
token's surface form, so ``Pipeline.map`` computes it once per distinct form and caches it:
a corpus of 5 M tokens and 100 k types costs 100 k normalisations and 5 M dict lookups.
What stays per corpus (minimum frequency, phrases) runs in ``core.tokens``.

Example::

    pipe = Pipeline(PipelineConfig(normalise="porter", stopwords="default"))
    pipe.process("The cats were running to the river bank.")
    # [['cat', 'run', 'river', 'bank']]
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from functools import cached_property

from core.errors import UserError

# Snowball stemmers + simplemma lemmatizers + stop-words lists, by the name users pick.
LANGUAGES = {
    "english": "en", "chinese": "zh", "german": "de", "french": "fr", "spanish": "es", "italian": "it",
    "portuguese": "pt", "dutch": "nl", "swedish": "sv", "danish": "da", "norwegian": "nb", "finnish": "fi",
    "hungarian": "hu", "romanian": "ro", "russian": "ru",
}
TOKENIZERS = {"regex": "word regex (Unicode)", "treebank": "NLTK Treebank", "wordpunct": "NLTK wordpunct",
              "whitespace": "whitespace", "jieba": "jieba (Chinese word segmentation)"}
SENTENCES = {"rules": "punctuation rules", "punkt": "Punkt (untrained, no download)", "none": "no splitting"}
CASES = {"keep": "keep case", "lower": "lowercase", "smart": "smart: keep ALL-CAPS acronyms (US stays, Us → us)"}
SPECIAL = {"keep": "keep", "drop": "drop", "placeholder": "replace with a placeholder"}
NORMALISERS = {"none": "none", "porter": "Porter stemmer", "snowball": "Snowball stemmer",
               "lancaster": "Lancaster stemmer", "wordnet": "WordNet lemmatizer (English)",
               "simplemma": "simplemma lemmatizer (many languages)"}
NAMES = {"keep": "keep capitalised words inside a sentence as they are (names)",
         "normalise": "stem or lemmatize them like any word"}
POS = {"n": "noun (NLTK's default)", "v": "verb", "a": "adjective",
       "auto": "automatic: the first of noun, verb, adjective, adverb that changes the word"}
STOPWORDS = {"none": "none", "default": "the language's list", "sklearn": "scikit-learn English (318 words)",
             "stop-words": "stop-words package"}

# Why these steps in this order: punctuation and numbers are decided on the raw form, stopwords
# on the lowercased form (lists are lowercase), length on the cased form, then normalisation.
STEPS = ("punctuation", "number", "stopword", "length", "rare")
PLACEHOLDERS = {"url": "__url__", "email": "__email__", "number": "__num__", "emoji": "__emoji__"}

_URL = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_EMOJI = re.compile("[\U0001F1E6-\U0001F1FF\U0001F300-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]+")
_NUMBER = re.compile(r"[+-]?\d+(?:[.,:/]\d+)*%?")
_WORD = re.compile(r"\w++(?:['’-]\w++)*+|[^\w\s]", re.UNICODE)
_WORD_ASCII = re.compile(_WORD.pattern, re.ASCII)
# Ends of sentences: . ! ? … (not after a common title), or a blank line.
_SENTENCE_END = re.compile(r"(?<=[.!?…])(?<!\bMr\.)(?<!\bMrs\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bSt\.)(?<!\bvs\.)"
                           r"(?<!\be\.g\.)(?<!\bi\.e\.)[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[\w])|\n\s*\n")
_ZH_SENTENCE_END = re.compile(r"(?<=[。！？；])|\n+")


@dataclass(frozen=True)
class PipelineConfig:
    language: str = "english"
    sentences: str = "rules"
    tokenizer: str = "regex"
    urls: str = "placeholder"
    emails: str = "placeholder"
    numbers: str = "keep"
    emoji: str = "drop"
    case: str = "lower"
    drop_punctuation: bool = True
    stopwords: str = "none"
    extra_stopwords: tuple[str, ...] = ()
    keep_words: tuple[str, ...] = ()  # removed from the stopword list
    min_length: int = 1
    max_length: int = 40
    min_count: int = 1
    normalise: str = "none"
    pos: str = "n"
    phrases: int = 0  # 0: none, 1: bigrams ("new_york"), 2: up to trigrams
    phrase_threshold: float = 10.0
    phrase_min_count: int = 5
    # With a stemmer or lemmatizer: a capitalised word after a sentence's first is a name more often than
    # not ("Wales", "Laden", "Sayed"), so "keep" leaves it unstemmed (lowercased as the case rule says).
    names: str = "keep"

    def validate(self) -> PipelineConfig:
        choices = {"language": LANGUAGES, "sentences": SENTENCES, "tokenizer": TOKENIZERS, "urls": SPECIAL,
                   "emails": SPECIAL, "numbers": SPECIAL, "emoji": SPECIAL, "case": CASES,
                   "normalise": NORMALISERS, "pos": POS, "stopwords": STOPWORDS}
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                raise UserError(f"{name} = {value!r} is not an option; choose one of {', '.join(allowed)}.")
        if not 1 <= self.min_length <= self.max_length:
            raise UserError(f"Token length must satisfy 1 ≤ min ({self.min_length}) ≤ max ({self.max_length}).")
        if self.min_count < 1 or self.phrase_min_count < 1 or self.phrase_threshold <= 0:
            raise UserError("Minimum counts must be at least 1 and the phrase threshold above 0.")
        if self.names not in NAMES:
            raise UserError(f"names = {self.names!r} is not an option; choose one of {', '.join(NAMES)}.")
        if self.phrases not in (0, 1, 2):
            raise UserError("Phrases: 0 (none), 1 (bigrams) or 2 (up to trigrams).")
        if self.normalise == "wordnet" and self.language != "english":
            raise UserError("The WordNet lemmatizer is English only; use simplemma for other languages.")
        if self.normalise in ("porter", "lancaster") and self.language != "english":
            raise UserError(f"The {NORMALISERS[self.normalise]} is English only; use Snowball for {self.language}.")
        return self

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict) -> PipelineConfig:
        known = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        if data and "names" not in data:
            values["names"] = "normalise"  # saved before the rule existed: names were stemmed like any word
        return cls(**values)


# Keyed by ids (stable in code, tests and saved state); PRESET_LABELS are what people read.
PRESETS = {
    "porter": PipelineConfig(stopwords="default", normalise="porter"),
    "wordnet": PipelineConfig(case="smart", stopwords="default", normalise="wordnet", pos="auto"),
    "minimal": PipelineConfig(case="keep", drop_punctuation=False, urls="keep", emails="keep", emoji="keep"),
    "chinese": PipelineConfig(language="chinese", tokenizer="jieba", stopwords="default"),
}
PRESET_LABELS = {
    "porter": "Classic: lowercase, no stopwords, Porter stems",
    "wordnet": "Lemmatize (WordNet, smart case)",
    "minimal": "Minimal: tokens only",
    "chinese": "Chinese (jieba)",
}


@dataclass(frozen=True)
class Trace:
    """What happened to one token: its output (None when dropped) and the step that decided."""

    token: str
    output: str | None
    step: str  # "kept", "case", "normalised", "special", "name" (not stemmed: a name) or one of STEPS


class Pipeline:
    def __init__(self, config: PipelineConfig):
        self.config = config.validate()
        self._cache: dict[str, Trace] = {}
        self._outputs: dict[str, str | None] = {}  # token → output, the fast path of map_tokens
        self._names = config.names == "keep" and config.normalise != "none"
        self._name_cache: dict[str, Trace] = {}
        self.names_kept: Counter = Counter()  # names left unstemmed, as they occurred (for the report)
        if config.language == "chinese" and config.tokenizer != "jieba":
            self.config = replace(config, tokenizer="jieba")  # Chinese has no spaces to split on

    # text → sentences → raw tokens ----------------------------------------------------------
    def split_sentences(self, text: str) -> list[str]:
        if self.config.sentences == "none":
            parts = [text]
        elif self.config.language == "chinese":
            parts = _ZH_SENTENCE_END.split(text)
        elif self.config.sentences == "punkt":
            parts = [s for block in re.split(r"\n\s*\n", text) for s in self._punkt.tokenize(block)]
        else:
            parts = _SENTENCE_END.split(text)
        return [p for p in map(str.strip, filter(None, parts)) if p]

    def tokenize(self, sentence: str) -> list[str]:
        """Raw tokens, with URLs, e-mails and emoji already kept, dropped or replaced."""
        c = self.config
        # Cheap substring tests first: most sentences have no URL, e-mail or emoji at all.
        if c.urls != "keep" and ("://" in sentence or "www." in sentence):
            sentence = _URL.sub(" __url__ " if c.urls == "placeholder" else " ", sentence)
        if c.emails != "keep" and "@" in sentence:
            sentence = _EMAIL.sub(" __email__ " if c.emails == "placeholder" else " ", sentence)
        if c.emoji != "keep" and not sentence.isascii():
            sentence = _EMOJI.sub(" __emoji__ " if c.emoji == "placeholder" else " ", sentence)
        if sentence.isascii() and self.config.tokenizer == "regex":
            return _WORD_ASCII.findall(sentence)  # same tokens; ASCII classes are faster to match
        return self._tokenizer(sentence)

    @cached_property
    def _tokenizer(self):
        name = self.config.tokenizer
        if name == "regex":
            return _WORD.findall
        if name == "whitespace":
            return str.split
        if name == "wordpunct":
            from nltk.tokenize import wordpunct_tokenize

            return wordpunct_tokenize
        if name == "treebank":
            from nltk.tokenize import word_tokenize

            return lambda s: word_tokenize(s, preserve_line=True)  # preserve_line: no Punkt download
        import jieba

        jieba.setLogLevel(60)
        return lambda s: [t for t in jieba.lcut(s) if t.strip()]

    @cached_property
    def _punkt(self):
        from nltk.tokenize.punkt import PunktSentenceTokenizer

        return PunktSentenceTokenizer()

    # one token → its output -----------------------------------------------------------------
    def map(self, token: str) -> Trace:
        trace = self._cache.get(token)
        if trace is None:
            trace = self._cache[token] = self._decide(token)
            self._outputs[token] = trace.output
        return trace

    def map_name(self, token: str) -> Trace:
        """``token`` as a name: decided as any word, but never stemmed or lemmatized."""
        trace = self._name_cache.get(token)
        if trace is None:
            usual = self.map(token)
            trace = usual
            if usual.step == "normalised":
                cased = token if self.config.case == "keep" else token.lower()
                trace = Trace(token, cased.replace(" ", "_"), "name")
            self._name_cache[token] = trace
        return trace

    @staticmethod
    def _is_name(i: int, token: str, names: frozenset[str]) -> bool:
        # after the first word, a capital says "name"; the first word is one if the text also has it inside a sentence
        return token[:1].isupper() and not token.isupper() and (i > 0 or token in names)

    def names_in(self, sentences: list[list[str]]) -> frozenset[str]:
        """The words a text capitalises inside its sentences: "Sayed" opening a sentence is a name too."""
        if not self._names:
            return frozenset()
        return frozenset(t for tokens in sentences for t in tokens[1:] if t[:1].isupper() and not t.isupper())

    def map_sentence(self, tokens: list[str], names: frozenset[str] = frozenset()) -> list[Trace]:
        """Traces of one sentence's tokens, in context: capitalised words after the first are names."""
        if not self._names:
            return [self.map(t) for t in tokens]
        return [self.map_name(t) if self._is_name(i, t, names) else self.map(t) for i, t in enumerate(tokens)]

    def map_tokens(self, tokens: list[str], names: frozenset[str] = frozenset()) -> list[str]:
        """The outputs of ``tokens`` (one sentence), dropped ones left out; ``names``: see ``names_in``.
        The hot loop: one C-level dict lookup per token once the type has been seen."""
        if self._names and any(self._is_name(i, t, names) for i, t in enumerate(tokens)):
            traces = self.map_sentence(tokens, names)
            self.names_kept.update(t.token for t in traces if t.step == "name")
            return [t.output for t in traces if t.output]
        try:
            return list(filter(None, map(self._outputs.__getitem__, tokens)))  # outputs are never ""
        except KeyError:
            for token in tokens:
                self.map(token)
            return list(filter(None, map(self._outputs.__getitem__, tokens)))

    def _decide(self, token: str) -> Trace:
        c = self.config
        if token in PLACEHOLDERS.values():
            return Trace(token, token, "special")
        if not any(ch.isalnum() for ch in token):
            return Trace(token, None, "punctuation") if c.drop_punctuation else Trace(token, token, "kept")
        if _NUMBER.fullmatch(token):
            if c.numbers == "drop":
                return Trace(token, None, "number")
            if c.numbers == "placeholder":
                return Trace(token, PLACEHOLDERS["number"], "special")
        lower = token.lower()
        acronym = c.case == "smart" and len(token) > 1 and token.isupper()
        if lower in self.stopwords and not acronym:  # smart case: "US" is not the stopword "us"
            return Trace(token, None, "stopword")
        cased = token if c.case == "keep" or acronym else lower
        if not c.min_length <= len(cased) <= c.max_length:
            return Trace(token, None, "length")
        out = cased if acronym else self._normalise(cased)
        if c.case != "keep" and not acronym:
            out = out.lower()  # lemmatizers may capitalise ("häuser" → "Haus"); the user asked for lower
        out = out.replace(" ", "_")  # a multi-word lemma must stay one token in the sentences file
        if not out:
            return Trace(token, None, "length")
        if out != cased:
            return Trace(token, out, "normalised")
        return Trace(token, out, "case" if out != token else "kept")

    @cached_property
    def _normalise(self):
        c = self.config
        if c.normalise == "none":
            return lambda w: w
        if c.normalise == "porter":
            from nltk.stem import PorterStemmer

            return PorterStemmer().stem
        if c.normalise == "lancaster":
            from nltk.stem import LancasterStemmer

            return LancasterStemmer().stem
        if c.normalise == "snowball":
            from nltk.stem import SnowballStemmer

            if c.language not in SnowballStemmer.languages:
                raise UserError(f"There is no Snowball stemmer for {c.language}.")
            return SnowballStemmer(c.language).stem
        if c.normalise == "simplemma":
            import simplemma

            code = LANGUAGES[c.language]
            return lambda w: simplemma.lemmatize(w, lang=code)
        return wordnet_lemmatizer(c.pos)

    @cached_property
    def stopwords(self) -> frozenset[str]:
        c = self.config
        words = set(stopword_list(c.language, c.stopwords))
        words |= {w.lower() for w in c.extra_stopwords}
        words -= {w.lower() for w in c.keep_words}
        return frozenset(words)

    # whole texts ------------------------------------------------------------------------------
    def process(self, text: str) -> list[list[str]]:
        """Sentences of output tokens (sentences left empty are dropped)."""
        out = []
        sentences = [self.tokenize(s) for s in self.split_sentences(text)]
        names = self.names_in(sentences)
        for raw in sentences:
            tokens = self.map_tokens(raw, names)
            if tokens:
                out.append(tokens)
        return out

    def trace(self, text: str) -> list[list[Trace]]:
        """Per sentence, what happened to every raw token: for the live preview."""
        sentences = [self.tokenize(s) for s in self.split_sentences(text)]
        names = self.names_in(sentences)
        return [self.map_sentence(tokens, names) for tokens in sentences]


def stopword_list(language: str, source: str) -> frozenset[str]:
    if source == "none":
        return frozenset()
    if source == "sklearn" or (source == "default" and language == "english"):
        from core.stats import stopwords

        return stopwords()  # the same list the Corpus page's word counts use
    from stop_words import AVAILABLE_LANGUAGES, get_stop_words

    if language not in AVAILABLE_LANGUAGES:
        raise UserError(f"There is no stopword list for {language}; add your own words instead.")
    return frozenset(get_stop_words(language))


def stopword_source(language: str, source: str) -> str:
    """Which list is in use, in words, for the page to say."""
    if source == "none":
        return "no stopword list"
    if source == "sklearn" or (source == "default" and language == "english"):
        return "scikit-learn's English list (318 words)"
    return f"the stop-words package's {language} list"


_wordnet_reader = None
_WORDNET_LOCK = threading.Lock()


def _wordnet():
    """NLTK's WordNet reader, loaded once per process (every pipeline and the comparison share it).

    Built directly rather than through ``nltk.corpus.wordnet``: on WordNet 3.0, NLTK 3.10's reader
    maps the installed WordNet onto itself for its multilingual (OMW) functions, reading
    ``index.sense`` twice, about 60 % of a 5 s load, for data this app never ships nor uses.
    With the faster index reading below, the load takes ~1 s instead of ~5 s on 2 cores.
    """
    global _wordnet_reader
    with _WORDNET_LOCK:
        if _wordnet_reader is None:
            import warnings

            import nltk.data
            from nltk.corpus.reader.wordnet import WordNetCorpusReader

            class Reader(WordNetCorpusReader):
                def map_wn(self, version="wordnet"):
                    return None  # no OMW: nothing to map from

                def open(self, file):
                    # The index files are only read front to back: Python's own reader does that
                    # several times faster than NLTK's seekable one (which the data files keep).
                    if file.startswith("index.") and isinstance(self._root, nltk.data.FileSystemPathPointer):
                        return open(os.path.join(self._root.path, file), encoding="utf-8")
                    return super().open(file)

            try:
                root = _find_first(nltk.data.find, ("corpora/wordnet", "corpora/wordnet.zip/wordnet/"))
            except LookupError:
                raise UserError(
                    "WordNet is not installed, so lemmatization is unavailable. Run `make run` (it installs "
                    "WordNet offline) or `python -m nltk.downloader wordnet` when online; stemming works meanwhile."
                ) from None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "the multilingual functions are not available": as meant
                _wordnet_reader = Reader(root, None)
    return _wordnet_reader


def _find_first(find, names):
    """The first of ``names`` that ``find`` finds (a folder, or the zip ``nltk.download`` leaves)."""
    for name in names[:-1]:
        try:
            return find(name)
        except LookupError:
            continue
    return find(names[-1])


def wordnet_lemmatizer(pos: str):
    """WordNet lemmatization for one POS, or 'auto': no tagger data offline, so take the first
    of noun, verb, adjective, adverb that changes the word ("ran" → run, "better" → good).
    The same rule as ``nltk.stem.WordNetLemmatizer.lemmatize``: the shortest candidate lemma."""
    reader = _wordnet()

    def lemmatize(word: str, p: str) -> str:
        lemmas = reader._morphy(word, p)
        return min(lemmas, key=len) if lemmas else word

    if pos != "auto":
        return lambda w: lemmatize(w, pos)

    def auto(word: str) -> str:
        for p in ("n", "v", "a", "r"):
            lemma = lemmatize(word, p)
            if lemma != word:
                return lemma
        return word

    return auto


# Language detection reads a bounded sample: up to SAMPLE_DOCUMENTS documents spread over the
# corpus, SAMPLE_CHARS characters of each (≤ 40,000 characters, a few thousand words, whatever
# the corpus' size). Function words decide: "the, of, and" or "der, und, die" are the most frequent
# words of any text, so a few hundred words are plenty; simplemma.langdetect instead decoded a full
# dictionary per candidate language (13–15 s per call, and 14 languages thrash its cache of 8).
SAMPLE_DOCUMENTS, SAMPLE_CHARS = 20, 2_000
_LETTERS = re.compile(r"[^\W\d_]+")
_owners: dict[str, tuple[str, ...]] | None = None
_detected: dict[str, str] = {}  # corpus id → language; ids are content hashes, so never stale
_DETECTED_MAX = 256


def language_sample(texts: Sequence) -> str:
    """The bounded text ``detect_language`` reads: evenly spaced documents, the start of each.
    ``texts`` holds strings or documents (anything with ``.text``); only the sampled ones are read."""
    n = len(texts)
    k = min(n, SAMPLE_DOCUMENTS)
    picked = (texts[i * n // k] for i in range(k))
    return "\n".join((t if isinstance(t, str) else t.text)[:SAMPLE_CHARS] for t in picked)


def _function_words() -> dict[str, tuple[str, ...]]:
    """Each stopword → the languages whose list holds it (``"die"``: German and Dutch)."""
    global _owners
    if _owners is None:
        from stop_words import get_stop_words

        owners: dict[str, list[str]] = {}
        for name in LANGUAGES:
            if name != "chinese":
                for word in get_stop_words(name):
                    owners.setdefault(word, []).append(name)
        _owners = {w: tuple(langs) for w, langs in owners.items()}
    return _owners


def detect_language(texts: Sequence) -> str:
    """Guess the language of ``texts`` from a bounded sample: Chinese by its script, others by
    their function words; "english" when nothing decides.

    A word found in several languages' lists counts for each of them by a share, so the small
    words Danish and Norwegian share do not drown the ones that tell them apart.
    """
    sample = language_sample(texts)
    letters = sample.replace(" ", "")
    if not letters.strip():
        return "english"
    han = sum("\u4e00" <= ch <= "\u9fff" for ch in letters)
    if han > 0.2 * len(letters):
        return "chinese"
    owners = _function_words()
    score: dict[str, float] = {}
    for word in _LETTERS.findall(sample.lower()):
        langs = owners.get(word)
        if langs:
            for lang in langs:
                score[lang] = score.get(lang, 0.0) + 1 / len(langs)
    if not score:
        return "english"
    return max(score, key=lambda lang: (score[lang], lang == "english"))


def corpus_language(corpus_id: str, texts: Sequence) -> str:
    """``detect_language`` once per corpus and process: the Preprocess page asks on every rerun.

    Example: ``corpus_language(cid, documents)`` → ``"english"``; a second call returns the
    stored answer without reading ``documents``."""
    language = _detected.get(corpus_id)
    if language is None:
        language = detect_language(texts)
        if len(_detected) >= _DETECTED_MAX:
            _detected.clear()
        _detected[corpus_id] = language
    return language


def compare_normalisers(words: list[str]) -> list[dict]:
    """Each word through every English stemmer and the WordNet lemmatizer (per POS), side by side.

    The article's example: Porter turns running/runs into "run" but leaves "ran"; WordNet with
    its default noun POS leaves "running" alone, and with the verb POS gives run, eat, fly.
    """
    from nltk.stem import LancasterStemmer, PorterStemmer, SnowballStemmer

    stemmers = {"Porter": PorterStemmer().stem, "Snowball": SnowballStemmer("english").stem,
                "Lancaster": LancasterStemmer().stem}
    try:
        lemmatizers = {f"WordNet ({name})": wordnet_lemmatizer(pos) for pos, name in
                       (("n", "noun"), ("v", "verb"), ("a", "adjective"), ("auto", "auto"))}
    except UserError:
        lemmatizers = {}  # the page says WordNet is missing; the stemmers still work
    rows = []
    for word in words:
        w = word.strip().lower()
        if w:
            rows.append({"word": w, **{k: f(w) for k, f in stemmers.items()}, **{k: f(w) for k, f in lemmatizers.items()}})
    return rows

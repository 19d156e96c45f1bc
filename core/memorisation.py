"""Memorisation check: the longest run of words a generated text shares with a corpus.

A fine-tuned model that writes twelve or more words in a row exactly as they stand in its
training text is likely reciting rather than writing; the Fine-tune page flags that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Overlap:
    n: int  # words in the longest run shared with the corpus
    text: str  # that run, as it appears in the generated text
    flagged: bool  # n >= threshold: the model is likely reciting its training text


_WORD = re.compile(r"\w+")


def longest_overlap(generated: str, corpus_texts: list[str], *, threshold: int = 12) -> Overlap:
    """The longest run of words the generated text shares with any corpus document.

    Words are compared in lower case, split on non-word characters. A suffix automaton of the
    (short) generated text reads every corpus word once, so a corpus of 1 M words takes ~1 s.

    >>> longest_overlap("He said the cat sat on the mat today", ["The cat sat on the mat."], threshold=5)
    Overlap(n=6, text='the cat sat on the mat', flagged=True)
    """
    spans = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(generated)]
    words = [w for _, _, w in spans]
    if not words:
        return Overlap(0, "", False)
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    nxt, link, length = _automaton([vocab[w] for w in words])
    best, best_words = 0, None
    for text in corpus_texts:
        doc = _WORD.findall(text.lower())
        state = size = 0
        for pos, word in enumerate(doc):
            c = vocab.get(word)
            if c is None:  # a word the generated text never uses ends every match
                state = size = 0
                continue
            while state and c not in nxt[state]:
                state = link[state]
                size = length[state]
            if c in nxt[state]:
                state = nxt[state][c]
                size += 1
            else:
                state = size = 0
            if size > best:
                best, best_words = size, doc[pos - size + 1:pos + 1]
    if not best:
        return Overlap(0, "", False)
    start = next(i for i in range(len(words) - best + 1) if words[i:i + best] == best_words)
    return Overlap(best, generated[spans[start][0]:spans[start + best - 1][1]], best >= threshold)


def _automaton(seq: list[int]) -> tuple[list[dict], list[int], list[int]]:
    """Suffix automaton of ``seq``: transitions, suffix links, longest length per state."""
    nxt, link, length, last = [{}], [-1], [0], 0
    for c in seq:
        cur = len(length)
        nxt.append({})
        link.append(0)
        length.append(length[last] + 1)
        p = last
        while p != -1 and c not in nxt[p]:
            nxt[p][c] = cur
            p = link[p]
        if p != -1:
            q = nxt[p][c]
            if length[p] + 1 == length[q]:
                link[cur] = q
            else:
                clone = len(length)
                nxt.append(dict(nxt[q]))
                link.append(link[q])
                length.append(length[p] + 1)
                while p != -1 and nxt[p].get(c) == q:
                    nxt[p][c] = clone
                    p = link[p]
                link[q] = link[cur] = clone
        last = cur
    return nxt, link, length

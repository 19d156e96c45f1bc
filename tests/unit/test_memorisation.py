"""The memorisation check: the longest run of words shared with a corpus."""

import random

from core import memorisation


def test_longest_overlap_finds_a_planted_passage():
    rng = random.Random(1)
    vocab = [f"w{i}" for i in range(5000)]
    corpus = [" ".join(rng.choice(vocab) for _ in range(2000)) for _ in range(50)]  # 100k words
    planted = corpus[17].split()[700:715]
    generated = "Once upon a time, " + " ".join(planted).upper() + "! And then nothing."
    found = memorisation.longest_overlap(generated, corpus)
    assert found.n == 15 and found.flagged
    assert found.text == " ".join(planted).upper()  # as written in the generated text
    unrelated = memorisation.longest_overlap("The quick brown fox jumps over the lazy dog, w12 w99.", corpus)
    assert unrelated.n <= 1 and not unrelated.flagged
    assert memorisation.longest_overlap("", corpus) == memorisation.Overlap(0, "", False)
    short = memorisation.longest_overlap("He said: the cat sat on the mat today.", ["The cat sat on the mat."], threshold=6)
    assert (short.n, short.text, short.flagged) == (6, "the cat sat on the mat", True)

"""Chinese text is counted in jieba words, not characters: a Chinese article's top words are
模型 and 词语, not 的, 模 and 型."""

from core.stats import Hit, compute_stats, concordance, detect_language, stopwords, stopwords_name, top_words, words

# Written for these tests: six paragraphs about language models, 544 Han characters.
ARTICLE = """\
语言模型是自然语言处理的核心技术之一。一个语言模型会根据前面的词语，估计下一个词语出现的概率。早期的统计语言模型依靠大量文本中的词频，后来的神经网络模型则把每个词语表示成一个向量。

词向量让计算机第一次能够比较词语的意思。训练词向量的时候，模型观察每个词语周围的上下文：经常出现在相似上下文中的词语，它们的向量也会彼此接近。例如，“国王”和“王后”的向量很接近，“北京”和“上海”的向量也很接近。

近年来，基于注意力机制的模型改变了整个领域。注意力机制让模型在处理一个句子时，可以同时关注句子中的所有词语，而不必从左到右逐个阅读。研究人员发现，模型越大，训练数据越多，模型的表现通常就越好。

不过，大模型也带来了新的问题。训练一个大型语言模型需要大量的计算资源和电力，普通的研究团队很难承担。此外，模型可能会记住训练数据中的个人信息，也可能会生成看似合理却并不真实的内容。

中文和英文不同，中文的词语之间没有空格。因此，在统计中文文本之前，我们必须先进行分词，把连续的汉字切分成一个个词语。如果只按单个汉字统计，最常见的“词”就会是“的”、“是”这样的字，而不是“模型”或者“语言”这样真正的词语。

总之，理解语言模型的工作原理，可以帮助我们更好地使用这些工具，也可以让我们更清楚地看到它们的局限。
"""
PARAGRAPHS = [p for p in ARTICLE.split("\n\n") if p.strip()]


def test_chinese_is_detected_even_with_english_terms_in_it():
    assert detect_language(PARAGRAPHS) == "chinese"
    assert detect_language(["Word2Vec 和 GloVe 都是训练词向量的方法，它们的模型很小。"]) == "chinese"


def test_top_words_are_words_not_characters():
    stats = compute_stats(PARAGRAPHS)
    shown = [w for w, _ in top_words(stats.top_words, 5, stopwords("chinese"))]
    assert shown[:2] == ["模型", "词语"]
    assert {"语言", "向量"} <= set(shown)
    assert all(len(w) >= 2 for w in shown[:4])
    assert ("模", stats.top_words[0][1]) not in stats.top_words and "型" not in dict(stats.top_words)
    assert stats.summary["language"] == "chinese"
    assert stats.summary["stopwords"] == stopwords_name("chinese")
    assert stopwords_name("chinese").startswith("Chinese")


def test_token_counts_are_word_counts():
    stats = compute_stats(["语言模型很大。"])
    assert words("语言模型很大。", "chinese") == ["语言", "模型", "很大"]  # punctuation is not a word
    assert stats.summary["tokens"] == 3 and stats.summary["types"] == 3
    article = compute_stats(PARAGRAPHS).summary
    han = sum("\u4e00" <= ch <= "\u9fff" for ch in ARTICLE)
    assert 0.35 * han < article["tokens"] < 0.75 * han  # words of 1–4 characters, not one per character
    assert article["zipf_exponent"] is not None


def test_stopwords_drop_the_function_words_of_chinese():
    top = dict(compute_stats(PARAGRAPHS).top_words)
    assert top["的"] > top["模型"]  # 的 is the most frequent word of Chinese…
    assert {"的", "是", "一个", "可以", "我们"} <= stopwords("chinese")  # …and the list removes it
    assert "模型" not in stopwords("chinese")


def test_concordance_finds_whole_chinese_words():
    hits, total = concordance(PARAGRAPHS, "模型", width=5, language="chinese")
    assert total >= 10
    assert hits[0] == Hit(0, "语言", "模型", "是自然语言")
    # 型 is never a word on its own here, and 语言 inside 自然语言 is not the word 语言
    assert concordance(PARAGRAPHS, "型", language="chinese")[1] == 0
    assert concordance(PARAGRAPHS, "型", language="chinese", whole_word=False)[1] > 10
    words_only, substring = (concordance(PARAGRAPHS, "语言", language="chinese", whole_word=w)[1] for w in (True, False))
    assert words_only == substring - 1  # 自然语言 (natural language) is one word
    # a phrase across a comma and mixed scripts still matches on word edges
    assert concordance(PARAGRAPHS, "模型越大，训练数据", language="chinese")[1] == 1
    assert concordance(["我用 Word2Vec 训练模型"], "word2vec", language="chinese")[1] == 1

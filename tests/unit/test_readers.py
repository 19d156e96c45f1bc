import json

import pytest

from core.corpus.readers import Limits, ReadOptions, Source, inspect_source, read_sources, split_text
from core.errors import UserError

ARTICLE = "Word2Vec learns vectors.\nIt has two flavours.\n\nGloVe counts co-occurrences.\n\n\nBERT reads both ways."


def read(name, data, **options):
    return read_sources([Source(name, data if isinstance(data, bytes) else data.encode())], ReadOptions(**options))


def problems(corpus):
    return [p for r in corpus.reports for p in r.problems]


# plain text ------------------------------------------------------------------------------
@pytest.mark.parametrize(("split", "count"), [("file", 1), ("paragraph", 3), ("line", 4)])
def test_text_splits(split, count):
    corpus = read("notes.md", ARTICLE, split=split)
    assert len(corpus) == count
    assert corpus.documents[0].source == "notes.md"
    assert corpus.reports[0].encoding == "utf-8"


def test_split_text_drops_blank_pieces():
    assert split_text("a\n  \n\n b \n", "line") == ["a", "b"]
    assert split_text("a\n \t \nb", "paragraph") == ["a", "b"]


def test_several_files_at_once_and_a_bad_one_loses_nothing():
    corpus = read_sources(
        [Source("a.txt", b"first document"), Source("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(99)),
         Source("b.txt", b"second document")],
    )
    assert [d.text for d in corpus.documents] == ["first document", "second document"]
    report = next(r for r in corpus.reports if r.name == "photo.csv")
    assert report.problems == ["it is a PNG image, not text. Upload it with the right extension or pick a text file."]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "is empty"),
        ("blank.txt", b" \n\t\n  ", "only whitespace"),
        ("binary.txt", bytes(range(256)) * 10, "binary data"),
        ("image.csv", b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG image"),
        ("model.pkl", b"\x80\x04\x95...", "never loads pickles"),
        ("weights.pt", b"PK\x03\x04", "never loads pickles"),
    ],
)
def test_bad_inputs_get_clear_messages(name, data, message):
    with pytest.raises(UserError, match=message):
        read(name, data)


def test_over_the_size_limit_is_refused_with_the_numbers():
    with pytest.raises(UserError, match="limit is 1 MiB"):
        read_sources([Source("big.txt", b"word " * 300_000)], limits=Limits(max_source_bytes=1 << 20))


def test_too_many_documents_is_refused():
    with pytest.raises(UserError, match="more than 10 documents"):
        read_sources([Source("many.txt", b"x\n" * 20)], ReadOptions(split="line"), limits=Limits(max_documents=10))


def test_a_50_mb_single_line_file_is_one_document():
    data = b"lorem ipsum dolor " * (50 * 2**20 // 18)
    corpus = read("one-line.txt", data, split="line")
    assert len(corpus) == 1
    assert len(corpus.documents[0].text) > 49 * 2**20


def test_markup_in_text_is_kept_verbatim():
    evil = "<script>alert(1)</script> $x$ :red[x] ![](http://x)"
    assert read("evil.md", evil).documents[0].text == evil


def test_mixed_encodings_in_one_batch():
    corpus = read_sources([Source("fr.txt", "Crème brûlée à Genève, s’il vous plaît. " .encode("cp1252") * 5),
                           Source("zh.txt", "我们喜欢自然语言处理和词向量。".encode("gbk") * 5)])
    assert corpus.documents[0].text.startswith("Crème brûlée à Genève, s’il")
    assert corpus.documents[1].text.startswith("我们喜欢自然语言处理")


# CSV / TSV -------------------------------------------------------------------------------
def test_csv_with_quoted_newlines_and_label():
    data = 'id,review,sentiment\n1,"Great film, truly.\nSecond line.",pos\n2,"Dull, ""boring""",neg\n3,,pos\n'
    corpus = read("reviews.csv", data, text_field="review", label_field="sentiment")
    assert [(d.text, d.label) for d in corpus.documents] == [
        ("Great film, truly.\nSecond line.", "pos"), ('Dull, "boring"', "neg")]
    assert corpus.labels == ["neg", "pos"]


def test_csv_delimiter_is_sniffed_and_tsv_is_tab():
    semicolon = "text;label\nbonjour, le monde;a\nhello, world;b\n"
    assert [d.text for d in read("eu.csv", semicolon, text_field="text").documents] == ["bonjour, le monde", "hello, world"]
    tsv = "text\tlabel\na, b\tx\n"
    assert read("data.tsv", tsv, label_field="label").documents[0].label == "x"


def test_csv_ragged_rows_are_reported_by_line_and_kept():
    data = "text,label\nfine row,a\nshort row\ntoo,many,fields,here\nlast,b\n"
    corpus = read("ragged.csv", data, text_field="text", label_field="label")
    assert [d.text for d in corpus.documents] == ["fine row", "short row", "too", "last"]
    assert problems(corpus) == ["lines 3, 4 had a different number of fields than the header."]


def test_csv_without_a_chosen_text_column():
    guessed = read("g.csv", "id,content\n1,the text\n")
    assert guessed.documents[0].text == "the text"
    with pytest.raises(UserError, match="choose the text column"):
        read("n.csv", "a,b\n1,2\n")
    with pytest.raises(UserError, match="has no column 'body'"):
        read("n.csv", "a,b\n1,2\n", text_field="body")


def test_csv_wrong_label_column_keeps_documents_without_labels():
    corpus = read("x.csv", "text\nhello\n", label_field="nope")
    assert corpus.documents[0].label is None
    assert "no label column 'nope'" in problems(corpus)[0]


def test_inspect_lists_fields_for_the_pickers():
    [info] = inspect_source(Source("r.csv", b"id;body;stars\n1;x;5\n"))
    assert (info.kind, info.fields, info.encoding) == ("table", ["id", "body", "stars"], "utf-8")
    [info] = inspect_source(Source("r.jsonl", b'{"a": 1, "text": "x"}\n{"b": 2}\n'))
    assert info.fields == ["a", "text", "b"]
    [info] = inspect_source(Source("p.png.csv", b"\x89PNG\r\n\x1a\n" + bytes(9)))
    assert "PNG" in info.problem


# JSON ------------------------------------------------------------------------------------
def test_jsonl_bad_lines_reported_by_number_rest_kept():
    deep = "[" * 100_000 + "]" * 100_000
    lines = ['{"text": "one", "label": "a"}', "not json", '[1, 2]', '{"text": NaN}', deep,
             '{"text": {"nested": "x"}}', '"a bare string"', "", '{"text": 42, "label": 7}']
    corpus = read("data.jsonl", "\n".join(lines), label_field="label")
    assert [(d.text, d.label) for d in corpus.documents] == [("one", "a"), ("a bare string", None), ("42", "7")]
    assert problems(corpus) == [
        "lines 2, 5 are not valid JSON and were skipped.",
        "line 3 is not an object and was skipped.",
        "lines 4, 6 had no text in field 'text' and were skipped.",
    ]


@pytest.mark.parametrize(
    "payload",
    [[{"body": "x"}, {"body": "y"}], {"records": [{"body": "x"}, {"body": "y"}], "meta": 1}],
)
def test_json_arrays_and_wrapped_records(payload):
    corpus = read("d.json", json.dumps(payload), text_field="body")
    assert [d.text for d in corpus.documents] == ["x", "y"]


def test_json_field_must_be_chosen_when_it_cannot_be_guessed():
    with pytest.raises(UserError, match="choose the text field"):
        read("d.jsonl", '{"q": "x"}\n')


def test_csv_blank_lines_are_not_ragged_rows():
    corpus = read("blank.csv", "text,label\nhello,pos\n\nworld,neg\n\n\n", label_field="label")
    assert [d.text for d in corpus.documents] == ["hello", "world"]
    assert problems(corpus) == []

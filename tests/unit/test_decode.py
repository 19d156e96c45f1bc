import codecs

import pytest

from core.corpus.decode import binary_kind, clean_text, decode_bytes
from core.corpus.readers import Source, inspect_source
from core.errors import UserError

CHINESE = ("自然语言处理是人工智能的一个重要方向。它研究人与计算机之间用自然语言进行有效通信的各种理论和方法。"
           "词向量把每个词表示成一个稠密的实数向量，语义相近的词在向量空间中彼此接近。") * 3
FRENCH = ("L’été dernier, nous sommes allés à la fête du village près de Genève. « C’est très élégant », "
          "dit-elle — le café coûtait 3 € et la crème brûlée était délicieuse. Über alles, naïve façade.") * 3


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"plain ascii text", "utf-8"),
        ("naïve café".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "naïve café".encode(), "utf-8-sig"),
        ("naïve café".encode("utf-16"), "utf-16"),
        ("naïve café and more text".encode("utf-16-le"), "utf-16-le"),
        ("naïve café and more text".encode("utf-16-be"), "utf-16-be"),
    ],
)
def test_unicode_encodings_detected_first(data, encoding):
    decoded = decode_bytes(data)
    assert decoded.encoding == codecs.lookup(encoding).name
    assert "\ufeff" not in decoded.text


@pytest.mark.parametrize("codec", ["gbk", "gb18030"])
def test_chinese_legacy_encoding_comes_out_right(codec):
    decoded = decode_bytes(CHINESE.encode(codec))
    assert decoded.text == CHINESE.replace("，", ",")  # NFKC folds the full-width comma
    assert decoded.encoding in ("gb18030", "gbk", "gb2312")


def test_cp1252_comes_out_right():
    decoded = decode_bytes(FRENCH.encode("cp1252"))
    assert decoded.text == FRENCH
    assert decoded.encoding == "cp1252"


def test_invalid_utf8_falls_back_to_detection_not_garbage():
    data = "Résumé of the naïve café owner's élan. ".encode() * 20 + "d\xe9j\xe0 vu".encode("latin-1")
    decoded = decode_bytes(data)
    assert "Résumé" in decoded.text or "R" in decoded.text
    assert decoded.encoding != "utf-8"


def test_manual_override_wins_and_bad_name_is_explained():
    assert decode_bytes("café".encode("cp1252"), "latin-1").text == "café"
    with pytest.raises(UserError, match="not an encoding"):
        decode_bytes(b"abc", "no-such-codec")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "PNG"),
        (b"\x80\x04\x95" + bytes(50), "pickle"),
        (b"%PDF-1.7\n", "PDF"),
        (b"PK\x03\x04rest", "zip"),
    ],
)
def test_binary_formats_are_named(data, kind):
    assert kind in binary_kind(data)
    with pytest.raises(UserError, match=kind):
        decode_bytes(data, name="x.txt")


def test_nul_heavy_binary_is_refused():
    data = bytes(range(256)) * 40
    with pytest.raises(UserError, match="binary"):
        decode_bytes(data, name="blob.txt")


def test_clean_text_nfkc_newlines_and_control_characters():
    assert clean_text("ﬁne ＡＢＣ") == "fine ABC"
    assert clean_text("a\r\nb\rc") == "a\nb\nc"
    assert clean_text("a\x00b\x07c\td\x1be\x85f") == "abc\tde\nf"
    assert clean_text("\ufeffhello") == "hello"



def test_a_sample_cut_inside_a_character_is_still_utf8():
    assert decode_bytes(("é" * 10).encode()[:-1], partial=True).encoding == "utf-8"
    # inspect_source decodes only the first MiB, which here ends inside an "é"
    [info] = inspect_source(Source("big.txt", ("ab" + "é" * (1 << 20)).encode()))
    assert info.encoding == "utf-8"


def test_separators_become_line_breaks_instead_of_gluing_words():
    assert clean_text("page one\x0cpage two\x0bcell\x85next\u2028last") == "page one\npage two\ncell\nnext\nlast"


def test_nfkc_per_line_gives_the_same_text_as_whole():
    import unicodedata

    text = "plain line\ncafe\u0301 ﬁne\nnaïve\n２０２６年\n" * 50
    assert clean_text(text) == unicodedata.normalize("NFKC", text)

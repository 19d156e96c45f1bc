"""core.embeddings.vectors: the .npy artifact, importing untrusted vector files, exporting."""

import builtins
import csv
import io
import pickle
import tracemalloc
import zipfile

import numpy as np
import pytest
from gensim.models import FastText
from gensim.models.fasttext import FastTextKeyedVectors
from gensim.models.keyedvectors import KeyedVectors
from gensim.test.utils import datapath

from core.embeddings.vector_files import SPACE_MARK, ImportLimits, export_vectors, import_vectors, neighbours_csv
from core.embeddings.vectors import has_counts, load_kv, load_vocabulary, save_kv, word_counts
from core.embeddings.words import find_word
from core.errors import UserError

ODD_WORDS = ["the", "new york", "tab\there", "naïve", "北京", "emoji🙂", "line\nbreak", "=SUM(A1)", ""]


def make_kv(words, dim=5, counts=True, seed=0):
    kv = KeyedVectors(dim)
    rng = np.random.default_rng(seed)
    kv.add_vectors(list(words), rng.standard_normal((len(words), dim)).astype(np.float32))
    if counts:
        for i, w in enumerate(words):
            kv.set_vecattr(w, "count", 1000 - i)
    return kv


@pytest.fixture(scope="module")
def fasttext_kv():
    model = FastText(
        corpus_file=datapath("lee_background.cor"), vector_size=32, epochs=1, bucket=20000, min_count=2, workers=2, seed=1
    )
    return model.wv


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def w2v_binary(words_vectors, header=None):
    dim = len(words_vectors[0][1])
    out = (header or f"{len(words_vectors)} {dim}\n").encode()
    for w, v in words_vectors:
        out += w.encode() + b" " + np.asarray(v, "<f4").tobytes()
    return out


# ---------------------------------------------------------------------------------------
# the artifact
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mmap", [False, True])
def test_save_load_plain_kv_keeps_words_vectors_counts(tmp_path, mmap):
    kv = make_kv(ODD_WORDS)
    save_kv(kv, tmp_path / "a")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["vectors.npy", "vocab.json"]
    back = load_kv(tmp_path / "a", mmap=mmap)
    assert type(back) is KeyedVectors
    assert back.index_to_key == ODD_WORDS
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    assert [back.get_vecattr(w, "count") for w in ODD_WORDS] == [1000 - i for i in range(len(ODD_WORDS))]
    assert back.most_similar("the", topn=2) == kv.most_similar("the", topn=2)
    assert has_counts(back)


def test_save_load_fasttext_keeps_oov_vectors(tmp_path, fasttext_kv):
    save_kv(fasttext_kv, tmp_path / "ft")
    assert (tmp_path / "ft" / "fasttext.json").is_file()
    for mmap in (False, True):
        back = load_kv(tmp_path / "ft", mmap=mmap)
        assert isinstance(back, FastTextKeyedVectors)
        assert (back.min_n, back.max_n, back.bucket) == (fasttext_kv.min_n, fasttext_kv.max_n, 20000)
        assert back.index_to_key == fasttext_kv.index_to_key
        np.testing.assert_array_equal(back.vectors, fasttext_kv.vectors)
        for word in ["government", "australia", "governmentalisation", "zzqxunseen", "Ünïcödé"]:
            np.testing.assert_array_equal(back[word], fasttext_kv[word])
        assert "zzqxunseen" not in back.key_to_index
        np.testing.assert_array_equal(word_counts(back), word_counts(fasttext_kv))


@pytest.mark.parametrize("load", [load_kv, load_vocabulary])  # the vectors, or only their words
def test_damaged_folders_are_refused(tmp_path, load):
    with pytest.raises(UserError, match="incomplete"):
        load(tmp_path / "nothing")
    save_kv(make_kv(["a", "b", "c"]), tmp_path / "x")
    np.save(tmp_path / "x" / "vectors.npy", np.zeros((2, 5), np.float32))
    with pytest.raises(UserError, match="damaged"):
        load(tmp_path / "x")
    np.save(tmp_path / "x" / "vectors.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match="can't be read"):
        load(tmp_path / "x")
    (tmp_path / "x" / "vocab.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError, match="can't be read"):
        load(tmp_path / "x")


def test_the_vocabulary_alone_matches_the_loaded_vectors(tmp_path, fasttext_kv):
    for name, kv in (("plain", make_kv(ODD_WORDS + ["The", "THE"])), ("ft", fasttext_kv)):
        save_kv(kv, tmp_path / name)
        vocab, back = load_vocabulary(tmp_path / name), load_kv(tmp_path / name)
        assert vocab.index_to_key == back.index_to_key and len(vocab) == len(back)
        assert vocab.vector_size == back.vector_size
        assert vocab.key_to_index == back.key_to_index
    vocab = load_vocabulary(tmp_path / "plain")
    assert [find_word(vocab, w) for w in ("THE", "tHe", "北京", "nope")] == ["THE", "the", "北京", None]


# ---------------------------------------------------------------------------------------
# export → import round trips
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["word2vec-text", "word2vec-binary", "glove-text"])
def test_export_then_import_gives_the_same_vectors(tmp_path, fmt):
    kv = make_kv(ODD_WORDS, dim=7)
    files = export_vectors(kv, fmt, tmp_path / "out")
    assert len(files) == 1 and files[0].is_file()
    assert files.renamed == 4  # "new york", "tab\there", "line\nbreak" and the empty word
    for import_fmt in ("auto", fmt):
        back, info = import_vectors(files[0], import_fmt)
        assert info["format"] == fmt
        assert info["words"] == len(ODD_WORDS) and info["dim"] == 7
        assert info["dropped_duplicates"] == 0 and info["truncated_by_limit"] is False and info["has_counts"] is False
        assert back.index_to_key[:2] == ["the", f"new{SPACE_MARK}york"]
        assert back.index_to_key[2] == f"tab{SPACE_MARK}here" and "北京" in back.key_to_index
        if fmt == "word2vec-binary":
            np.testing.assert_array_equal(back.vectors, kv.vectors)
        else:
            np.testing.assert_allclose(back.vectors, kv.vectors, rtol=1e-5, atol=1e-6)
        assert not has_counts(back)


def test_export_keeps_renamed_words_unique(tmp_path):
    kv = make_kv(["a b", f"a{SPACE_MARK}b", "c"])
    files = export_vectors(kv, "word2vec-text", tmp_path)
    back, _ = import_vectors(files[0])
    assert len(set(back.index_to_key)) == 3 and files.renamed == 1


def test_projector_export_with_counts_has_header_and_matching_rows(tmp_path):
    kv = make_kv(ODD_WORDS, dim=4)
    vec_path, meta_path = export_vectors(kv, "projector", tmp_path)
    assert (vec_path.name, meta_path.name) == ("vectors.tsv", "metadata.tsv")
    vec_lines = vec_path.read_text(encoding="utf-8").split("\n")[:-1]
    meta_lines = meta_path.read_text(encoding="utf-8").split("\n")[:-1]
    assert meta_lines[0] == "word\tcount"
    assert len(vec_lines) == len(meta_lines) - 1 == len(ODD_WORDS)
    assert all(len(line.split("\t")) == 4 for line in vec_lines)
    assert all(len(line.split("\t")) == 2 for line in meta_lines)
    assert meta_lines[2] == "new york\t999"  # spaces are fine in TSV; tabs and newlines are not
    np.testing.assert_allclose(np.loadtxt(vec_path, delimiter="\t", dtype=np.float32), kv.vectors, rtol=1e-5, atol=1e-6)


def test_projector_export_without_counts_is_one_column_without_header(tmp_path):
    kv, _ = import_vectors(write(tmp_path, "g.txt", "a 1 2\nb\u2028c 3 4\n"))
    _, meta_path = export_vectors(kv, "projector", tmp_path / "p")
    assert meta_path.read_text(encoding="utf-8") == f"a\nb{SPACE_MARK}c\n"


def test_fasttext_kv_exports(tmp_path, fasttext_kv):
    files = export_vectors(fasttext_kv, "word2vec-binary", tmp_path)
    back, info = import_vectors(files[0])
    assert back.index_to_key == fasttext_kv.index_to_key and info["dim"] == 32
    np.testing.assert_array_equal(back.vectors, fasttext_kv.vectors)


def test_imports_what_gensim_writes(tmp_path):
    kv = make_kv([f"w{i}" for i in range(50)], dim=6)
    for binary in (False, True):
        path = tmp_path / f"g{binary}.bin"
        kv.save_word2vec_format(str(path), binary=binary)
        back, info = import_vectors(path)
        assert info["format"] == ("word2vec-binary" if binary else "word2vec-text")
        assert back.index_to_key == kv.index_to_key
        np.testing.assert_allclose(back.vectors, kv.vectors, rtol=1e-6)


# ---------------------------------------------------------------------------------------
# import: good but unusual files
# ---------------------------------------------------------------------------------------


def test_glove_with_bom_crlf_blank_lines_spaced_words_and_fasttext_vec(tmp_path):
    text = "\ufeffthe 0.1 0.2 0.3\r\n\r\n. . . 1 2 3\r\nnaïve -1e-3 2.5E2 0\r\n"
    kv, info = import_vectors(write(tmp_path, "glove.txt", text))
    assert info["format"] == "glove-text" and kv.index_to_key == ["the", ". . .", "naïve"]
    np.testing.assert_allclose(kv["naïve"], [-1e-3, 250, 0])
    kv, info = import_vectors(write(tmp_path, "cc.vec", "2 3\nthe 1 2 3\nof 4 5 6\n"), "fasttext-vec")
    assert info["format"] == "fasttext-vec" and kv.index_to_key == ["the", "of"]


def test_duplicates_keep_the_first_and_are_counted(tmp_path):
    kv, info = import_vectors(write(tmp_path, "d.txt", "3 2\na 1 1\nb 2 2\na 3 3\n"))
    assert kv.index_to_key == ["a", "b"] and info["dropped_duplicates"] == 1
    np.testing.assert_array_equal(kv["a"], [1, 1])
    kv, info = import_vectors(write(tmp_path, "d.bin", w2v_binary([("x", [1, 2]), ("x", [3, 4]), ("y", [5, 6])])))
    assert kv.index_to_key == ["x", "y"] and info["dropped_duplicates"] == 1
    np.testing.assert_array_equal(kv.vectors, [[1, 2], [5, 6]])


def test_limit_reads_only_the_first_rows(tmp_path):
    kv = make_kv([f"w{i}" for i in range(20)], dim=3)
    for fmt in ("word2vec-text", "word2vec-binary", "glove-text"):
        path = export_vectors(kv, fmt, tmp_path / fmt)[0]
        back, info = import_vectors(path, limit=5)
        assert back.index_to_key == [f"w{i}" for i in range(5)]
        assert info["truncated_by_limit"] is True
        _, info = import_vectors(path, limit=20)
        assert info["truncated_by_limit"] is False and info["words"] == 20
    # with a limit a file over max_bytes may be read in part
    _, info = import_vectors(path, limit=2, limits=ImportLimits(max_bytes=10))
    assert info["words"] == 2


# ---------------------------------------------------------------------------------------
# import: bad files, each with a message a person can act on
# ---------------------------------------------------------------------------------------

BAD_TEXT = [
    ("ragged.txt", "a 1 2 3\nb 1 2\n", ["line 2", "2 numbers", "line 1 has 3"]),
    ("ragged_hdr.txt", "2 3\na 1 2 3\nb 1 2 3 4\n", ["line 3", "4 numbers", "header", "3"]),
    ("nan.txt", "a 1 2\nb nan 2\n", ["line 2", "finite", "'b'"]),
    ("inf.txt", "2 2\na 1 2\nb 1 inf\n", ["line 3", "finite"]),
    ("overflow.txt", "a 1 1e60\n", ["line 1", "finite"]),
    ("notnum.txt", "a 1 2\nb 1 x2\n", ["line 2", "'x2' is not a number"]),
    ("more_claimed.txt", "5 2\na 1.00000 2.00000\nb 3.00000 4.00000\n", ["says 5 words", "ends after 2", "cut short"]),
    ("tiny_for_claim.txt", "5 2\na 1 2\nb 3 4\n", ["claims 5 words", "too small", "cut short"]),
    ("fewer_claimed.txt", "1 2\na 1 2\nb 3 4\n", ["says 1 words", "line 3"]),
    ("dims_lie.txt", "2 4\na 1.00000 2.00000\nb 3.00000 4.00000\n", ["line 2", "header (line 1) says 4"]),
    ("empty.txt", "", ["empty"]),
    ("blank.txt", "\n\n  \n", ["no vectors"]),
    ("zero_header.txt", "0 300\n", ["no vectors"]),
    ("words_only.txt", "hello world\nfoo bar\n", ["line 1", "word followed by numbers"]),
    ("latin1.txt", "caf\xe9 1 2\n".encode("latin-1"), ["isn't text"]),
    ("latin1_later.txt", "a 1 2\ncaf\xe9 1 2\n".encode("latin-1"), ["line 2", "UTF-8"]),
    ("garbage.dat", bytes(np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8)), ["doesn't look like"]),
    ("hugedim.txt", "3 100000\n", ["100,000 dimensions", "at most 4,096"]),
]


@pytest.mark.parametrize(("name", "data", "needles"), BAD_TEXT, ids=[b[0] for b in BAD_TEXT])
def test_bad_files_are_refused_with_a_useful_message(tmp_path, name, data, needles):
    with pytest.raises(UserError) as err:
        import_vectors(write(tmp_path, name, data))
    message = str(err.value)
    assert name in message
    for needle in needles:
        assert needle in message


def test_bad_binary_files(tmp_path):
    good = [("a", [1, 2, 3]), ("b", [4, 5, 6])]
    cases = {
        "short.bin": (w2v_binary(good, header="3 3\n")[:-4], ["claims 3 words", "too small"]),
        "cut.bin": (w2v_binary(good + [("c", [7, 8, 9])])[:-12], ["too small"]),
        "dims.bin": (w2v_binary(good, header="2 2\n"), ["isn't readable text"]),
        "extra.bin": (w2v_binary(good, header="1 3\n"), ["goes on after"]),
        "nan.bin": (w2v_binary([("a", [1, np.nan, 3]), ("b", [1, 2, 3])]), ["word 1", "'a'", "finite"]),
        "junk.bin": (b"2 3\n" + b"\x00\xff" * 40, ["can't be read as word2vec binary"]),
        "random.bin": (b"2 3\n" + np.random.default_rng(5).bytes(5000), ["can't be read as word2vec binary"]),
    }
    for name, (data, needles) in cases.items():
        with pytest.raises(UserError) as err:
            import_vectors(write(tmp_path, name, data))
        assert name in str(err.value), name
        for needle in needles:
            assert needle in str(err.value), (name, str(err.value))


def test_ends_after_with_longer_binary_file(tmp_path):
    # the size precheck passes (long words), yet fewer vectors than claimed follow
    data = w2v_binary([("x" * 200, [1, 2]), ("y" * 200, [3, 4])], header="3 2\n")
    with pytest.raises(UserError, match="ends after 2"):
        import_vectors(write(tmp_path, "long.bin", data))


def test_format_mismatches_say_what_to_choose(tmp_path):
    glove = write(tmp_path, "g.txt", "a 1 2\n")
    w2v = write(tmp_path, "w.txt", "1 2\na 1 2\n")
    with pytest.raises(UserError, match="no word2vec header.*glove-text"):
        import_vectors(glove, "word2vec-text")
    with pytest.raises(UserError, match="GloVe files don't have"):
        import_vectors(w2v, "glove-text")
    with pytest.raises(UserError, match="Unknown vector format"):
        import_vectors(w2v, "parquet")
    with pytest.raises(UserError, match="limit"):
        import_vectors(w2v, limit=0)
    with pytest.raises(UserError, match="isn't a file"):
        import_vectors(tmp_path)


def test_caps_on_size_words_and_dims(tmp_path):
    path = write(tmp_path, "g.txt", "a 1 2\nb 3 4\nc 5 6\n")
    with pytest.raises(UserError, match=r"g\.txt is 18 bytes, more than the 10 bytes.*word limit"):
        import_vectors(path, limits=ImportLimits(max_bytes=10))
    with pytest.raises(UserError, match="more than 2 words"):
        import_vectors(path, limits=ImportLimits(max_words=2))
    assert import_vectors(path, limit=2, limits=ImportLimits(max_words=2))[1]["words"] == 2
    with pytest.raises(UserError, match="at most 1"):
        import_vectors(path, limits=ImportLimits(max_dim=1))
    hdr = write(tmp_path, "h.txt", "3 2\na 1 2\nb 3 4\nc 5 6\n")
    with pytest.raises(UserError, match="claims 3 words.*more than the 2 words"):
        import_vectors(hdr, limits=ImportLimits(max_words=2))


@pytest.mark.parametrize("header", ["50000000000 300", "1000000 300"])
def test_lying_huge_header_is_refused_without_allocating(tmp_path, header):
    path = write(tmp_path, "big.txt", header + "\nthe " + " ".join(["0.1"] * 300) + "\n")
    tracemalloc.start()
    try:
        with pytest.raises(UserError) as err:
            import_vectors(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024**2  # the rows × dims the header claims were never reserved
    assert "claims" in str(err.value) and "big.txt" in str(err.value)


# ---------------------------------------------------------------------------------------
# pickles and other non-vector files are never opened
# ---------------------------------------------------------------------------------------


class _Booby:
    """Unpickling this creates a file: if the marker exists, a pickle was loaded."""

    marker = ""

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


def test_pickles_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "PWNED"
    booby = _Booby()
    booby.marker = str(marker)
    payload = pickle.dumps({"vectors": booby, "words": ["a"]}, protocol=4)
    files = [write(tmp_path, "x.pkl", payload), write(tmp_path, "x.bin", payload), write(tmp_path, "upload.tmp", payload)]
    kv = make_kv(["a", "b"])
    kv.save(str(tmp_path / "x.model"))
    files.append(tmp_path / "x.model")
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.zeros(2, 3)}, tmp_path / "x.pt")
    files.append(tmp_path / "x.pt")
    torch.save({"w": torch.zeros(2, 3)}, tmp_path / "t.bin")
    files.append(tmp_path / "t.bin")
    for path in files:
        with pytest.raises(UserError) as err:
            import_vectors(path)
        message = str(err.value)
        assert path.name in message and "pickle" in message and "run" in message, message
        assert 'save_word2vec_format("vectors.bin", binary=True)' in message
    # refused by the user's file name too, whatever the content
    with pytest.raises(UserError, match="pickle"):
        import_vectors(write(tmp_path, "tmp123", "a 1 2\n"), name="vectors.pickle")
    assert not marker.exists()


def test_fasttext_bin_and_archives_are_explained(tmp_path):
    ft = (793712314).to_bytes(4, "little") + (12).to_bytes(4, "little") + b"\0" * 100
    with pytest.raises(UserError, match=r"fastText binary model.*not a pickle.*\.vec"):
        import_vectors(write(tmp_path, "cc.en.300.bin", ft))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("glove.6B.50d.txt", "a 1 2\n")
    with pytest.raises(UserError, match="zip archive. Unzip"):
        import_vectors(write(tmp_path, "glove.zip", buf.getvalue()))
    with pytest.raises(UserError, match="NumPy array"):
        path = tmp_path / "v.npy"
        np.save(path, np.zeros(3))
        import_vectors(path)
    with pytest.raises(UserError, match="compressed"):
        import_vectors(write(tmp_path, "v.txt.gz", b"\x1f\x8b\x08\x00rest"))


# ---------------------------------------------------------------------------------------
# neighbours CSV
# ---------------------------------------------------------------------------------------


def test_neighbours_csv_is_excel_safe_and_keeps_numbers():
    rows = [
        {"word": '=HYPERLINK("http://x")', "neighbour": "+1", "rank": 1, "cosine": np.float32(-0.25)},
        {"word": "@cmd", "neighbour": "-minus", "rank": 2, "cosine": 0.5},
        {"word": 'naïve, "quoted"\nline', "neighbour": "北京", "rank": 3, "cosine": -0.125},
    ]
    data = neighbours_csv(rows)
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert parsed[0] == ["word", "neighbour", "rank", "cosine"]
    assert parsed[1] == ['\'=HYPERLINK("http://x")', "'+1", "1", "-0.25"]
    assert parsed[2] == ["'@cmd", "'-minus", "2", "0.5"]
    assert parsed[3] == ['naïve, "quoted"\nline', "北京", "3", "-0.125"]
    assert neighbours_csv(rows, excel_bom=True).startswith(b"\xef\xbb\xbf")
    assert neighbours_csv([]).decode() == "word,neighbour,rank,cosine\r\n"

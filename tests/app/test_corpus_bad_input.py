"""Every bad input the Corpus page can get ends in a plain-words message, never a traceback,
and the corpus already loaded stays loaded."""

import io
import zipfile

import pytest

from tests.app.conftest import metric, upload


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


BAD = [
    ("empty.txt", b"", "is empty"),
    ("blank.txt", b"  \n\t \n", "only whitespace"),
    ("program.txt", bytes(range(256)) * 8, "binary data"),
    ("image.csv", b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG image"),
    ("weights.pkl", b"\x80\x04\x95\x00", "never loads pickles"),
    ("bomb.zip", zipped({"bomb.txt": b"\0" * (8 << 20)}), "zip bombs"),
    ("escape.zip", zipped({"../../etc/passwd.txt": b"root"}), "outside the archive"),
    ("nested.zip", zipped({"inner.zip": zipped({"a.txt": b"x"})}), "archives inside archives"),
    ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog", "PDF"),
    ("fake.docx", b"plain text, not a zip", "not a valid Word .docx"),
    ("junk.jsonl", b"not json\n[1, 2]\n", "not valid JSON"),
]


# Told apart before reading: the upload table names the problem and "Load corpus" is disabled.
SEEN_BEFORE_READING = {"program.txt", "image.csv", "weights.pkl", "bomb.zip", "escape.zip", "nested.zip"}


@pytest.mark.parametrize(("name", "data", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_file_gets_a_clear_message_and_loses_nothing(app, name, data, message):
    app.text_area(key="paste_text").input("A corpus that is already loaded.")
    app.button(key="load_paste").click().run()
    assert metric(app, "Documents") == "1"
    upload(app, (name, data, "application/octet-stream"))
    if "text_field" in [w.key for w in app.selectbox]:
        assert app.selectbox(key="text_field").value is not None or name.endswith(".jsonl")
    load = app.button(key="load_upload")
    assert load.disabled == (name in SEEN_BEFORE_READING)
    if load.disabled:
        shown = " ".join(app.dataframe[0].value["problem"])
    else:
        load.click().run()
        assert not app.exception
        shown = " ".join(e.value for e in app.error).replace("\\", "")
    assert message in shown, shown
    assert metric(app, "Documents") == "1"


def test_skipped_lines_are_told_in_good_grammar_and_stay_with_the_corpus(app):
    data = b'{"text": "kept"}\nnot json\n{"text": ""}\n{"text": "also kept"}\n{"text": null}\n[1]\n'
    upload(app, ("notes.jsonl", data, "application/json"))
    app.button(key="load_upload").click().run()
    assert metric(app, "Documents") == "2"
    assert app.success[0].value == "Loaded notes: 2 documents."

    def warning():
        assert len(app.warning) == 1, [w.value for w in app.warning]
        return app.warning[0].value.replace("\\", "")

    first = warning()
    assert "line 2 is not valid JSON and was skipped." in first
    assert "line 6 is not an object and was skipped." in first
    assert "lines 3, 5 had no text in field 'text' and were skipped." in first
    app.slider(key="top_n").set_value(20).run()  # any rerun
    assert warning() == first
    app.switch_page("views/home.py").run()
    app.switch_page("views/corpus.py").run()
    assert warning() == first
    app.text_area(key="paste_text").input("A clean corpus.")
    app.button(key="load_paste").click().run()
    assert not app.warning  # the warnings belong to the corpus, not to the session


def test_one_skipped_line_is_singular(app):
    upload(app, ("one.jsonl", b'{"text": "kept"}\n{"text": ""}\n', "application/json"))
    app.button(key="load_upload").click().run()
    assert "line 2 had no text in field 'text' and was skipped." in app.warning[0].value.replace("\\", "")

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


@pytest.mark.parametrize(("name", "data", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_file_gets_a_clear_message_and_loses_nothing(app, name, data, message):
    app.text_area(key="paste_text").input("A corpus that is already loaded.")
    app.button(key="load_paste").click().run()
    assert metric(app, "Documents") == "1"
    upload(app, (name, data, "application/octet-stream"))
    if "text_field" in [w.key for w in app.selectbox]:
        assert app.selectbox(key="text_field").value is not None or name.endswith(".jsonl")
    app.button(key="load_upload").click().run()
    assert not app.exception
    shown = " ".join(e.value for e in app.error).replace("\\", "")
    assert message in shown, shown
    assert metric(app, "Documents") == "1"

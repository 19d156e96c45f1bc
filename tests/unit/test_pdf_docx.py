import io

import docx
import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from core.corpus.pdf import extract_pdf_pages
from core.corpus.readers import ReadOptions, Source, read_sources
from core.errors import UserError


def make_pdf(pages: list[str]) -> bytes:
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    for text in pages:
        for i, line in enumerate(text.split("\n")):
            c.drawString(72, 720 - 14 * i, line)
        c.showPage()
    c.save()
    return buffer.getvalue()


def test_pdf_text_per_page_and_as_documents():
    data = make_pdf(["Attention is all you need.", "Transformers read whole sentences."])
    pages = extract_pdf_pages(data, name="paper.pdf")
    assert [p.strip() for p in pages] == ["Attention is all you need.", "Transformers read whole sentences."]
    corpus = read_sources([Source("paper.pdf", data)], ReadOptions(split="paragraph"))
    assert [d.text for d in corpus.documents] == ["Attention is all you need.", "Transformers read whole sentences."]


def test_encrypted_pdf_is_explained():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["secret"]))))
    writer.encrypt(user_password="pw", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(UserError, match="encrypted"):
        read_sources([Source("locked.pdf", buffer.getvalue())])


def test_truncated_pdf_is_explained():
    data = make_pdf(["some text on a page"] * 3)
    with pytest.raises(UserError, match="locked|damaged|truncated|could not be read|no text"):
        read_sources([Source("cut.pdf", data[:300])])


def test_pdf_time_limit():
    with pytest.raises(UserError, match="longer than 0 s"):
        extract_pdf_pages(make_pdf(["x"]), name="slow.pdf", timeout=0.01)


def test_docx_paragraphs_and_tables():
    document = docx.Document()
    document.add_paragraph("Stemming cuts words.")
    document.add_paragraph("Lemmatization looks them up.")
    table = document.add_table(rows=1, cols=1)
    table.rows[0].cells[0].text = "A cell."
    buffer = io.BytesIO()
    document.save(buffer)
    corpus = read_sources([Source("notes.docx", buffer.getvalue())], ReadOptions(split="paragraph"))
    assert [d.text for d in corpus.documents] == ["Stemming cuts words.", "Lemmatization looks them up.", "A cell."]


def test_docx_that_is_not_a_zip_is_explained():
    with pytest.raises(UserError, match="not a valid Word .docx"):
        read_sources([Source("fake.docx", b"just some text pretending")])

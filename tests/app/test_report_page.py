"""The Report page: items added from other pages, a note, reordering, removal, and the export button."""

from streamlit.testing.v1 import AppTest

from core.corpus.store import ingest_sample
from core.report.store import list_reports
from core.workspace import Workspace
from tests.app.conftest import APP


def page(path: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def test_add_from_the_corpus_page_then_annotate_reorder_and_remove():
    ws = Workspace.from_env()
    ws.set_state("active_corpus", ingest_sample(ws, "lee").id)
    empty = page("views/report.py")
    assert any("Add to report" in i.value for i in empty.info)
    corpus = page("views/corpus.py")
    corpus.session_state["corpus_tabs"] = "Zipf"
    corpus.run()
    corpus.button(key="zipf_chart_report").click().run()
    corpus.button(key="corpus_stats_report").click().run()
    assert "Corpus statistics" in corpus.toast[-1].value and not corpus.exception
    (report,) = list_reports(ws)
    assert [i.title for i in report.items] == ["Zipf's law", "Corpus statistics"]
    assert ["corpus", ws.get_state("active_corpus")] in report.items[0].source["artifacts"]  # provenance
    at = page("views/report.py")
    first, second = report.items
    at.text_area(key=f"rp_note_{first.id}").set_value("<b>Zipf</b> holds: s ≈ 1.").run()
    at.button(key=f"rp_down_{first.id}").click().run()
    (report,) = list_reports(ws)
    assert [i.id for i in report.items] == [second.id, first.id]
    assert report.items[1].note == "<b>Zipf</b> holds: s ≈ 1."
    assert at.get("download_button")  # Export as HTML
    at.button(key=f"rp_remove_{second.id}").click().run()
    assert [i.id for i in list_reports(ws)[0].items] == [first.id] and not at.exception


def test_a_session_bundle_brings_the_corpus_and_the_report_into_another_workspace(tmp_path, monkeypatch):
    from core import bundle
    from core.report.model import Item
    from core.report.store import add_item, new_report

    source = Workspace(tmp_path / "laptop")
    cid = ingest_sample(source, "polarity").id
    report = add_item(source, new_report(source, "For the board").id,
                      Item(kind="text", title="A finding", text="Reviews split evenly.",
                           source={"page": "corpus", "artifacts": [["corpus", cid]]}))
    data = bundle.export_bundle(source, [("corpus", cid)], [report.id])
    ws = Workspace.from_env()  # the other machine's workspace
    at = page("views/report.py")
    at.file_uploader(key="rp_bundle_upload").set_value(("corpus-lab-bundle.zip", data, "application/zip")).run()
    assert any("1 artifacts and 1 reports" in c.value for c in at.caption), [c.value for c in at.caption]
    at.button(key="rp_bundle_import").click().run()
    assert ws.exists("corpus", cid) and not at.exception  # the same id: links made on the laptop work here
    assert [r.title for r in list_reports(ws)] == ["For the board"]
    bad = page("views/report.py")
    bad.file_uploader(key="rp_bundle_upload").set_value(("x.zip", b"not a zip at all", "application/zip")).run()
    assert "not a bundle" in bad.error[0].value


def test_new_report_becomes_the_current_one_and_an_undrawable_figure_keeps_the_page():
    from core.report.model import Item
    from core.report.store import add_item, new_report

    ws = Workspace.from_env()
    old = new_report(ws, "Old")
    add_item(ws, old.id, Item(kind="figure", title="From another plotly", figure={"data": [{"type": "scatter",
                              "x": [1], "y": [1], "no_such_property": 3}], "layout": {"no_such_layout": 1}}))
    at = page("views/report.py")
    assert not at.exception and at.button(key=f"rp_remove_{list_reports(ws)[0].items[0].id}")  # still removable
    at.button(key="rp_new").click().run()
    assert at.selectbox(key="rp_pick").value == ws.get_state("current_report") != old.id

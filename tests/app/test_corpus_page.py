import codecs

from tests.app.conftest import metric, upload

ESSAY = (
    "Word2Vec learns a vector for every word from the words around it.\n\n"
    "GloVe learns vectors from global co-occurrence counts.\n\n"
    "The river bank flooded; the bank raised its rates.\n"
)
INJECTION = "<script>alert(1)</script> $x$ :red[x] ![](http://x) **bold**"


def test_empty_page_invites_a_corpus(app):
    assert "No corpus yet" in app.info[0].value
    assert app.expander[0].label == "Bring a corpus"


def test_upload_text_split_into_paragraphs_shows_stats(app):
    upload(app, ("essay.txt", ESSAY.encode(), "text/plain"))
    assert app.dataframe[0].value["encoding"].tolist() == ["utf-8"]
    app.radio(key="upload_split").set_value("paragraph")
    app.button(key="load_upload").click().run()
    assert not app.exception
    assert app.success[0].value == "Loaded essay: 3 documents."
    assert not app.warning  # nothing was skipped
    assert any(c.value == "Language: English (detected) · counted in words." for c in app.caption)
    assert any(c.value.startswith("Stopwords: scikit-learn English") for c in app.caption)
    assert metric(app, "Documents") == "3"
    assert metric(app, "Tokens") == "29"
    assert app.subheader[0].value == "essay"
    assert [c.key for c in app.get("plotly_chart")] == ["top_words_chart"]  # only the open tab is drawn
    for tab, chart in (("Zipf", "zipf_chart"), ("Lengths", "length_chart")):
        app.session_state["corpus_tabs"] = tab
        app.run()
        assert [c.key for c in app.get("plotly_chart")] == [chart]


def test_sample_with_labels_browser_and_concordance(app):
    app.radio(key="sample_key").set_value("polarity")
    app.button(key="load_sample").click().run()
    assert not app.exception
    assert metric(app, "Documents") == "200"
    app.session_state["corpus_tabs"] = "Documents"
    app.run()
    assert app.selectbox(key="browse_label").options == ["(all)", "neg", "pos"]
    app.selectbox(key="browse_label").set_value("pos").run()
    assert len(app.dataframe[0].value) == 100
    app.session_state["corpus_tabs"] = "Concordance"
    app.run()
    app.text_input(key="kwic_query").input("film").run()
    assert not any("source" in d.value for d in app.dataframe)  # the documents' table went with its tab
    hits = next(d.value for d in app.dataframe if "match" in d.value)
    assert len(hits) > 5 and set(hits["match"].str.lower()) == {"film"}


def test_csv_columns_are_picked_and_labels_kept(app):
    data = "id;review;sentiment\n1;A moving, beautiful film.;pos\n2;Dull and far too long.;neg\n"
    upload(app, ("reviews.csv", data.encode(), "text/csv"))
    assert app.selectbox(key="text_field").value == "review"
    assert app.selectbox(key="label_field").value == "sentiment"
    app.button(key="load_upload").click().run()
    assert metric(app, "Documents") == "2"
    app.session_state["corpus_tabs"] = "Documents"
    app.run()
    assert app.selectbox(key="browse_label").options == ["(all)", "neg", "pos"]


def test_encodings_shown_and_overridable(app):
    text = "Crème brûlée à Genève — s’il vous plaît, encore un café. " * 4
    upload(app, ("fr.txt", text.encode("cp1252"), "text/plain"),
           ("bom.txt", codecs.BOM_UTF8 + b"hello", "text/plain"))
    assert app.dataframe[0].value["encoding"].tolist() == ["cp1252", "utf-8-sig"]
    app.selectbox(key="encoding").set_value("latin-1").run()
    assert app.dataframe[0].value["encoding"].tolist() == ["iso8859-1", "iso8859-1"]


def test_bad_upload_keeps_the_loaded_corpus(app):
    app.radio(key="sample_key").set_value("lee")
    app.button(key="load_sample").click().run()
    assert metric(app, "Documents") == "300"
    upload(app, ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(64), "text/csv"))
    assert "PNG image" in app.dataframe[0].value["problem"][0]
    assert app.button(key="load_upload").disabled  # the table already says it cannot be read
    assert any("cannot be read" in c.value for c in app.caption)
    assert metric(app, "Documents") == "300"  # nothing already loaded is lost
    upload(app, ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(64), "text/csv"), ("ok.txt", b"Some text.", "text/plain"))
    assert not app.button(key="load_upload").disabled  # one readable file is enough


def test_user_text_is_shown_as_text_never_markup(app):
    app.text_area(key="paste_text").input(INJECTION)
    app.text_input(key="paste_name").input("$x$ :red[x]")
    app.button(key="load_paste").click().run()
    assert not app.exception
    assert app.subheader[0].value == r"\$x\$ \:red\[x\]"
    app.session_state["corpus_tabs"] = "Documents"
    app.run()
    assert INJECTION in [t.value for t in app.text]
    rendered = [m.value for m in app.markdown] + [s.value for s in app.success] + [c.value for c in app.caption]
    assert not any(":red[x]" in value or "$x$" in value for value in rendered)


def test_empty_paste_is_explained(app):
    app.button(key="load_paste").click().run()
    assert "no text to load" in app.error[0].value


def test_delete_returns_to_an_empty_workspace(app):
    app.text_area(key="paste_text").input("one small document")
    app.button(key="load_paste").click().run()
    assert metric(app, "Documents") == "1"
    assert app.success[0].value == "Loaded pasted text: 1 document."
    app.session_state["corpus_tabs"] = "Manage"
    app.run()
    app.checkbox(key="confirm_delete").check().run()
    app.button(key="delete_corpus").click().run()
    assert not app.exception
    assert "No corpus yet" in app.info[0].value

from app.common.translations import compile_stale_catalogues, missing_catalogues

PO = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "Invoice"
msgstr "Facture"
"""


def test_a_missing_or_stale_catalogue_is_compiled_and_a_fresh_one_left_alone(tmp_path):
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text(PO, encoding="utf-8")
    assert missing_catalogues(tmp_path, ["en", "fr"]) == ["fr"]

    assert compile_stale_catalogues(tmp_path) == [folder / "messages.mo"]
    assert b"Facture" in (folder / "messages.mo").read_bytes()
    assert compile_stale_catalogues(tmp_path) == []
    assert missing_catalogues(tmp_path, ["en", "fr"]) == []


def test_the_projects_document_languages_are_compiled(app):
    assert (
        missing_catalogues(app.config["BABEL_TRANSLATION_DIRECTORIES"], app.config["DOCUMENT_LANGUAGES"])
        == []
    )

import subprocess

import pytest

from app.common.pdf import data_url, harfbuzz_subsetting_available, render_pdf, sha256_hex

TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def test_renders_html_to_a_pdf_that_reads_back():
    pdf = render_pdf("<h1>Statement of account</h1><p>Balance: 1 234,50 €</p>")
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "Statement of account" in text and "1 234,50 €" in text


def test_data_urls_are_embedded_but_files_and_outside_urls_are_refused(tmp_path, caplog):
    secret = tmp_path / "secret.css"
    secret.write_text("h1 { color: red }")
    html = (
        f'<link rel="stylesheet" href="file://{secret}">'
        '<img src="http://127.0.0.1:9/logo.png">'
        f'<img src="{data_url(TINY_PNG, "image/png")}"><h1>Hello</h1>'
    )
    pdf = render_pdf(html)
    assert "Hello" in pdf_text(pdf)
    refused = [record.getMessage() for record in caplog.records if "refused" in record.getMessage()]
    assert any("file://" in message for message in refused)
    assert any("http://127.0.0.1:9" in message for message in refused)


def test_sha256_is_hex():
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.skipif(not harfbuzz_subsetting_available(), reason="libharfbuzz-subset0 is not installed")
def test_harfbuzz_subsetting_is_used_when_installed():
    assert harfbuzz_subsetting_available()

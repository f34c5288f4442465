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


def test_style_elements_apply_as_before_once_parsed_stylesheets(tmp_path):
    html = (
        "<style>@page { size: A5 } .hidden { display: none }</style><h1>Shown</h1><p class=hidden>Hidden</p>"
    )
    path = tmp_path / "styled.pdf"
    path.write_bytes(render_pdf(html))
    text = pdf_text(path.read_bytes())
    assert "Shown" in text and "Hidden" not in text
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    assert "419.528 x 595.276 pts" in info  # A5


def test_a_second_render_of_the_same_styles_reuses_the_parsed_stylesheet(monkeypatch):
    import tributary_pdf as pdf_module

    parsed = []
    real_css = pdf_module.CSS

    def counting_css(*args, **kwargs):
        parsed.append(kwargs.get("string"))
        return real_css(*args, **kwargs)

    monkeypatch.setattr(pdf_module, "CSS", counting_css)
    style = "<style>h1 { color: #123456 } /* test_pdf reuse */</style>"
    render_pdf(f"{style}<h1>One</h1>")
    render_pdf(f"{style}<h1>Two</h1>")
    assert parsed.count("h1 { color: #123456 } /* test_pdf reuse */") <= 1


def test_one_font_configuration_per_thread(monkeypatch):
    import threading

    import tributary_pdf as pdf_module

    seen = []
    real_html = pdf_module.HTML

    class RecordingHTML(real_html):
        def write_pdf(self, *args, **kwargs):
            seen.append((threading.get_ident(), id(kwargs["font_config"])))
            return super().write_pdf(*args, **kwargs)

    monkeypatch.setattr(pdf_module, "HTML", RecordingHTML)
    render_pdf("<p>main thread, first</p>")
    render_pdf("<p>main thread, second</p>")
    worker = threading.Thread(target=render_pdf, args=("<p>another thread</p>",))
    worker.start()
    worker.join()
    (main_id, first), (_, second), (worker_id, other) = seen
    assert first == second
    assert worker_id != main_id and other != first


def test_an_image_used_by_several_documents_is_decoded_once_more_at_most(monkeypatch):
    from weasyprint import images

    from app.common.pdf import data_url

    opened = []
    real_open = images.Image.open

    def counting_open(*args, **kwargs):
        opened.append(1)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(images.Image, "open", counting_open)
    logo = data_url(TINY_PNG + b"test_pdf logo", "image/png")  # trailing bytes: a URL no other test uses
    first_two = [render_pdf(f'<img src="{logo}"><p>Document {number}</p>') for number in range(2)]
    opened_by_first_two = len(opened)
    later = [render_pdf(f'<img src="{logo}"><p>Document {number}</p>') for number in range(2, 4)]
    assert opened_by_first_two > 0
    assert len(opened) == opened_by_first_two + 1  # made once more for the cache, then served from it
    assert all(f"Document {number}" in pdf_text(pdf) for number, pdf in enumerate(first_two + later))


def test_a_shared_image_renders_in_several_threads_at_once(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from app.common.pdf import data_url

    logo = data_url(TINY_PNG + b"test_pdf threads", "image/png")
    html = f'<img src="{logo}"><p>Threaded</p>'
    for _ in range(2):  # the second document makes the logo shared
        render_pdf(html)
    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(render_pdf, [html] * 8))
    for number, pdf in enumerate(pdfs):
        path = tmp_path / f"threaded-{number}.pdf"
        path.write_bytes(pdf)
        command = ["pdfimages", "-list", str(path)]
        listing = subprocess.run(command, capture_output=True, check=True, text=True)
        assert "Threaded" in pdf_text(pdf)
        images = listing.stdout.strip().splitlines()[2:]  # after two header lines
        kinds = [line.split()[2] for line in images]
        assert kinds == ["image", "smask"]  # the logo and its alpha channel


#: Evaluated in a worker by `eval`, a builtin: a function of this module would import the tests (and the app).
APP_MODULES_LOADED = (
    "sorted(name for name in __import__('sys').modules if name.split('.')[0] in ('app', 'flask'))"
)


def test_pdf_worker_processes_import_weasyprint_and_nothing_of_the_app():
    from app.common.pdf import pdf_workers

    with pdf_workers(1) as renderer:
        pdf = renderer.submit("<p>From a worker</p>").result()
        loaded = renderer._executor.submit(eval, APP_MODULES_LOADED).result()
    assert "From a worker" in pdf_text(pdf)
    assert loaded == []  # no Flask, no models: about 77 MB less in each worker

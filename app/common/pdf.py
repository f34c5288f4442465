"""The one WeasyPrint entry point.

Its URL fetcher refuses `file:` and outside URLs: documents embed what they need (logos, QR codes) as
`data:` URLs and carry their CSS inline, so rendering never touches the file system or the network.
"""

from __future__ import annotations

import base64
import hashlib
import logging

from flask import render_template
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetchingError

log = logging.getLogger(__name__)


class RefusedURL(URLFetchingError):
    """A document asked for a resource outside itself."""


class DataOnlyURLFetcher(URLFetcher):
    """Serves `data:` URLs and refuses everything else (file:, http:, https:, ...)."""

    def __init__(self, **kwargs):
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, timeout=1, **kwargs)

    def fetch(self, url, headers=None):
        if not url.startswith("data:"):
            log.warning("PDF rendering refused to fetch %s", url[:200])
            raise RefusedURL(f"Documents may not fetch {url[:80]}")
        return super().fetch(url, headers)


def render_pdf(html: str) -> bytes:
    """Render an HTML document to PDF bytes."""
    return HTML(string=html, base_url=None, url_fetcher=DataOnlyURLFetcher()).write_pdf()


def render_template_pdf(template_name: str, **context) -> bytes:
    """Render a Jinja template from templates/pdf/ to PDF bytes."""
    return render_pdf(render_template(template_name, **context))


def data_url(content: bytes, mime_type: str) -> str:
    """Embed bytes (a logo, a QR code) in a document."""
    return f"data:{mime_type};base64,{base64.b64encode(content).decode('ascii')}"


def sha256_hex(content: bytes) -> str:
    """The SHA-256 digest stored beside every issued document."""
    return hashlib.sha256(content).hexdigest()


def harfbuzz_subsetting_available() -> bool:
    """True when libharfbuzz-subset is loaded, which makes font subsetting about four times faster."""
    from weasyprint.text.ffi import harfbuzz_subset

    return harfbuzz_subset is not None

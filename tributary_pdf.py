"""The one WeasyPrint entry point: HTML in, PDF bytes out, nothing else.

It sits outside the `app` package on purpose: the PDF worker processes of `app.common.pdf.pdf_workers()`
import this module and WeasyPrint only (importing anything under `app` runs `app/__init__.py`, which loads
Flask, every area and their models: about 77 MB more in each worker). The app reaches it through
`app.common.pdf`, which re-exports `render_pdf`; nothing here reads the database or a template.

Its URL fetcher refuses `file:` and outside URLs: documents embed what they need (logos, QR codes) as
`data:` URLs and carry their CSS inline, so rendering never touches the file system or the network.

What WeasyPrint would redo for every document is done once per process (per thread where the object is not
thread-safe), which keeps a worker's memory flat and each render cheaper:
- one `FontConfiguration` per thread: a new one per document loads the system fonts again and leaks about
  260 KB of native memory each time; Pango font maps are not thread-safe, so threads do not share one;
- the documents' `<style>` blocks are parsed once per distinct text (per thread, beside its font
  configuration) and applied as stylesheets, instead of being parsed again from every document;
- images seen in more than one document (a hub's logo) stay decoded in a small cache keyed by a hash of
  their URL; one-off images (an invoice's own QR code) are never kept.
"""

from __future__ import annotations

import atexit
import gc
import hashlib
import logging
import re
import threading
from collections import OrderedDict

import pydyf
from weasyprint import CSS, HTML
from weasyprint.images import RasterImage
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetchingError

log = logging.getLogger(__name__)

#: A `<style>` element without attributes other than type="text/css"; its text ends at the first `</style`
#: (HTML raw-text rules), so a non-greedy match finds exactly the element's text.
_STYLE_ELEMENT = re.compile(
    r"<style(?:\s+type\s*=\s*[\"']?text/css[\"']?)?\s*>(?P<css>.*?)</style\s*>", re.IGNORECASE | re.DOTALL
)
#: Parsed stylesheets kept per thread (distinct texts: one per document kind and language at most).
STYLESHEET_CACHE_SIZE = 32
#: Decoded images kept per process: logos of every hub, with room to spare.
IMAGE_CACHE_SIZE = 32


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


class _ThreadResources:
    """What one thread reuses from one document to the next: its font configuration and parsed styles."""

    def __init__(self):
        self.font_config = FontConfiguration()
        self.url_fetcher = DataOnlyURLFetcher()
        self.stylesheets: OrderedDict[str, CSS] = OrderedDict()

    def stylesheet(self, css_text: str) -> CSS:
        key = hashlib.sha256(css_text.encode()).hexdigest()
        sheet = self.stylesheets.get(key)
        if sheet is None:
            sheet = CSS(string=css_text, url_fetcher=self.url_fetcher, font_config=self.font_config)
            self.stylesheets[key] = sheet
            if len(self.stylesheets) > STYLESHEET_CACHE_SIZE:
                self.stylesheets.popitem(last=False)
        else:
            self.stylesheets.move_to_end(key)
        return sheet


class _SharedImages:
    """Decoded images that more than one document used, keyed by the SHA-256 of their URL.

    WeasyPrint looks an image up by its URL in a per-render dict and stores there both the decoded image and
    its PDF stream data; an image whose URL came back in a second document is kept here for the next ones.
    """

    def __init__(self, size: int):
        self._size = size
        self._lock = threading.Lock()
        self._images: OrderedDict[str, object] = OrderedDict()
        self._seen: OrderedDict[str, None] = OrderedDict()

    def clear(self) -> None:
        with self._lock:
            self._images.clear()
            self._seen.clear()

    def get(self, digest: str):
        with self._lock:
            image = self._images.get(digest)
            if image is not None:
                self._images.move_to_end(digest)
            return image

    def offer(self, digest: str, image) -> None:
        """Keep an image from a finished render if its URL was already seen in an earlier document."""
        if not isinstance(image, RasterImage):
            return  # an SVG image keeps the layout context of its document: never shared
        with self._lock:
            if digest in self._images:
                return
            if digest not in self._seen:
                self._seen[digest] = None
                if len(self._seen) > 16 * self._size:
                    self._seen.popitem(last=False)
                return
            self._images[digest] = _DecodedImage(image)
            if len(self._images) > self._size:
                self._images.popitem(last=False)


class _DecodedImage:
    """A raster image kept across documents, with its PDF stream data made once.

    WeasyPrint decodes an image again in every document it writes (splitting off the alpha channel,
    re-encoding both); this keeps the resulting bytes and gives each document fresh PDF objects built from
    them, since writing a PDF numbers (mutates) the objects it holds.
    """

    def __init__(self, image):
        self._image = image
        self._lock = threading.Lock()
        self._streams: dict[tuple, tuple] = {}

    def __getattr__(self, name):
        return getattr(self._image, name)

    def draw(self, stream, concrete_width, concrete_height, style):
        # RasterImage.draw adds `self` to the page's stream: it must add this wrapper, not the image inside.
        return RasterImage.draw(self, stream, concrete_width, concrete_height, style)

    def get_x_object(self, interpolate, dpi_ratio):
        key = (interpolate, dpi_ratio)
        with self._lock:
            made = self._streams.get(key)
            if made is None:
                made = self._streams[key] = self._frozen(self._image.get_x_object(interpolate, dpi_ratio))
        return self._thawed(made)

    @staticmethod
    def _frozen(stream) -> tuple:
        extra = dict(stream.extra)
        mask = extra.pop("SMask", None)
        data = b"".join(_stream_bytes(item) for item in stream.stream)
        return data, extra, None if mask is None else _DecodedImage._frozen(mask)

    @staticmethod
    def _thawed(made):
        data, extra, mask = made
        extra = pydyf.Dictionary(extra)
        if mask is not None:
            extra["SMask"] = _DecodedImage._thawed(mask)
        return pydyf.Stream([data], extra)


def _stream_bytes(item) -> bytes:
    # WeasyPrint's lazy image data exposes .data; anything else in an image stream is bytes already.
    return item.data if hasattr(item, "data") else bytes(item)


class _RenderImageCache(dict):
    """The image cache of one render: WeasyPrint's own dict, with data: images found in the shared cache."""

    def __init__(self, shared: _SharedImages):
        super().__init__()
        self._shared = shared
        self.urls: dict[str, str] = {}

    @staticmethod
    def _digest(url: str) -> str:
        return hashlib.sha256(url.encode()).hexdigest()

    def __contains__(self, key):
        if dict.__contains__(self, key):
            return True
        if isinstance(key, str) and key.startswith("data:"):
            digest = self._digest(key)
            self.urls[key] = digest
            image = self._shared.get(digest)
            if image is not None:
                self[key] = image
                return True
        return False

    def offer_to_shared(self) -> None:
        for url, digest in self.urls.items():
            image = dict.get(self, url)
            if image is not None:
                self._shared.offer(digest, image)


_per_thread = threading.local()
_shared_images = _SharedImages(IMAGE_CACHE_SIZE)


@atexit.register
def _release_native_resources() -> None:
    # Pango and fontconfig objects freed during interpreter teardown, after their libraries' state is gone,
    # crash the process (exit 139); free the main thread's font configuration and stylesheets while all is
    # still in place. Other threads' resources go with their thread.
    _per_thread.__dict__.pop("resources", None)
    _shared_images.clear()
    gc.collect()


def _thread_resources() -> _ThreadResources:
    # Made on a thread's first render, not at import: loading the fonts takes a moment.
    resources = getattr(_per_thread, "resources", None)
    if resources is None:
        resources = _per_thread.resources = _ThreadResources()
    return resources


def render_pdf(html: str) -> bytes:
    """Render an HTML document to PDF bytes."""
    resources = _thread_resources()
    stylesheets = [resources.stylesheet(match.group("css")) for match in _STYLE_ELEMENT.finditer(html)]
    # The styles are applied as pre-parsed stylesheets (user origin): the same precedence over WeasyPrint's
    # defaults as the <style> elements they come from, and documents here hold no other author styles.
    body = _STYLE_ELEMENT.sub("", html) if stylesheets else html
    images = _RenderImageCache(_shared_images)
    pdf = HTML(string=body, base_url=None, url_fetcher=resources.url_fetcher).write_pdf(
        font_config=resources.font_config, stylesheets=stylesheets, cache=images
    )
    images.offer_to_shared()
    return pdf


def harfbuzz_subsetting_available() -> bool:
    """True when libharfbuzz-subset is loaded, which makes font subsetting about four times faster."""
    from weasyprint.text.ffi import harfbuzz_subset

    return harfbuzz_subset is not None

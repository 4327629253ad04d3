"""Pages of a file as PNG images, for the web pages: PDFs drawn by PDFium, images decoded by Pillow.

Bytes in, PNG out, all in memory: never a temporary file. Hostile files meet the guards text extraction uses
(image frames above renditions.MAX_PIXELS refused before decoding, PDFium one call at a time in a process),
and a drawn page has at most PAGE_PIXELS. Anything that cannot be drawn is errors.NoPreview, never a crash.
"""

from __future__ import annotations

import io

from PIL import Image

from clientfolio.adapters import renditions
from clientfolio.adapters.extract import PDFIUM_LOCK, PdfUnreadable, open_pdf, render_pdf_page
from clientfolio.domain.errors import NoPreview, NotFound

PDF = "application/pdf"
MULTI_PAGE = frozenset({"image/tiff"})  # a scanner's feeder output; other images are one page (GIF frames: motion)
PAGE_PIXELS = 2000 * 3000  # the widest preview and a tall page: longer pages are drawn narrower
_PNG_MODES = ("RGB", "RGBA", "L", "LA")


class PagePreviews:
    """The PageRenderer port of domain/ports.py."""

    def __init__(self, *, max_pixels: int = renditions.MAX_PIXELS, max_pages: int = renditions.MAX_PAGES):
        self.max_pixels, self.max_pages = max_pixels, max_pages

    def can_render(self, media_type: str) -> bool:
        return media_type == PDF or media_type in renditions.IMAGE_TYPES

    def page_count(self, data: bytes, media_type: str) -> int:
        if self._kind(media_type) == PDF:
            with PDFIUM_LOCK:
                document = self._open_pdf(data)
                try:
                    return len(document)
                finally:
                    document.close()
        image = self._open_image(data, media_type)
        count = 1
        if media_type in MULTI_PAGE:  # seek from frame to frame (reads directories only, decodes nothing)
            while count < self.max_pages and renditions.has_more_frames(image, count):
                count += 1
        return count

    def render(self, data: bytes, media_type: str, *, page: int, width: int) -> bytes:
        if self._kind(media_type) == PDF:
            return _png(self._pdf_page(data, page, width))
        image = self._open_image(data, media_type)
        last = self.max_pages if media_type in MULTI_PAGE else 1
        try:
            frame = next(renditions.iter_frames(image, max_pixels=self.max_pixels, max_frames=min(page, last),
                                                start=page - 1), None)
        except (renditions.ImageRefused, renditions.ImageUnreadable) as exc:
            raise NoPreview(f"no preview: {exc}") from exc
        if frame is None:
            raise NotFound(f"the file has no page {page}")
        if frame.width > width:  # never enlarged: a small photo stays sharp at its own size
            frame = frame.resize((width, max(1, round(frame.height * width / frame.width))),
                                 Image.Resampling.LANCZOS, reducing_gap=3.0)
        return _png(_fit(frame))

    def _kind(self, media_type: str) -> str:
        if not self.can_render(media_type):
            raise NoPreview(f"no preview for this kind of file ({media_type}): show its text instead")
        return media_type

    @staticmethod
    def _open_pdf(data: bytes):
        """The document, for the caller to close; call holding PDFIUM_LOCK."""
        try:
            document = open_pdf(data)
        except PdfUnreadable as exc:
            raise NoPreview(f"no preview: {exc}") from exc
        if not len(document):
            document.close()
            raise NoPreview("no preview: damaged PDF (no pages)")
        return document

    def _pdf_page(self, data: bytes, number: int, width: int) -> Image.Image:
        import pypdfium2 as pdfium

        with PDFIUM_LOCK:
            document = self._open_pdf(data)
            try:
                if not 1 <= number <= len(document):
                    raise NotFound(f"the file has no page {number}")
                page = document[number - 1]
                try:
                    page_width = page.get_size()[0]
                    image = render_pdf_page(page, scale=width / page_width if page_width > 0 else 1,
                                            max_pixels=PAGE_PIXELS)
                finally:
                    page.close()
            except pdfium.PdfiumError as exc:
                raise NoPreview(f"no preview: damaged PDF (page {number} cannot be drawn)") from exc
            finally:
                document.close()
        if image is None:
            raise NoPreview(f"no preview: damaged PDF (page {number} has no size)")
        return image.crop((0, 0, width, image.height)) if image.width > width else image  # PDFium rounds up

    def _open_image(self, data: bytes, media_type: str) -> Image.Image:
        self._kind(media_type)
        try:
            return renditions.open_image(data, media_type, max_pixels=self.max_pixels)
        except (renditions.ImageRefused, renditions.ImageUnreadable) as exc:
            raise NoPreview(f"no preview: {exc}") from exc


def _fit(image: Image.Image) -> Image.Image:
    """At most PAGE_PIXELS (a very tall, narrow image is made narrower still)."""
    if image.width * image.height <= PAGE_PIXELS:
        return image
    scale = (PAGE_PIXELS / (image.width * image.height)) ** 0.5
    return image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))),
                        Image.Resampling.LANCZOS, reducing_gap=3.0)


def _png(image: Image.Image) -> bytes:
    if image.mode not in _PNG_MODES:
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()

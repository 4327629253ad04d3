"""Archival PDF renditions of images (img2pdf, lossless), and the guarded image opening both adapters share.

Everything happens in memory: bytes in, bytes out, never a temporary file. The original file is kept as it
was; the rendition is an extra, so any failure here means "no rendition" (None), never an exception.
"""

from __future__ import annotations

import collections

import io
import logging
import warnings
from collections.abc import Iterator

from PIL import Image, ImageOps

from clientfolio.domain import media

log = logging.getLogger(__name__)

MAX_PIXELS = 80_000_000
MAX_PAGES = 2000

IMAGE_TYPES = frozenset({
    "image/jpeg", "image/png", "image/tiff", "image/webp", "image/heic", "image/heif", "image/bmp", "image/gif",
})
HEIF_TYPES = frozenset({"image/heic", "image/heif"})
_IMG2PDF_NATIVE = frozenset({"image/jpeg", "image/png", "image/tiff"})  # embedded as they are (lossless)
_PILLOW_FORMATS = {  # what Pillow may decode for each sniffed type: content must match its sniffed kind
    "image/jpeg": ["JPEG"], "image/png": ["PNG"], "image/tiff": ["TIFF"], "image/webp": ["WEBP"],
    "image/heic": ["HEIF"], "image/heif": ["HEIF"], "image/bmp": ["BMP"], "image/gif": ["GIF"],
}
_heif: bool | None = None


class ImageRefused(Exception):
    """Too many pixels or frames (decompression bomb guard)."""


class ImageUnreadable(Exception):
    """Damaged, truncated or not an image after all."""


def heif_available() -> bool:
    """True once pillow-heif's opener is registered with Pillow (it is optional)."""
    global _heif
    if _heif is None:
        try:
            import pillow_heif
        except ImportError:
            _heif = False
        else:
            pillow_heif.register_heif_opener()
            _heif = True
    return _heif


def open_image(data: bytes, media_type: str, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open an image lazily (header only), refusing one whose first frame has more than max_pixels."""
    if media_type in HEIF_TYPES and not heif_available():
        raise ImageUnreadable("HEIC not supported: install pillow-heif")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS.get(media_type))
    except Image.DecompressionBombError as exc:
        raise ImageRefused(_too_large(None)) from exc
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds on hostile input
        raise ImageUnreadable(f"damaged or unreadable image ({type(exc).__name__})") from exc
    _check_size(image, max_pixels)
    return image


def iter_frames(image: Image.Image, *, max_pixels: int = MAX_PIXELS, max_frames: int = MAX_PAGES,
                start: int = 0) -> Iterator[Image.Image]:
    """Each frame (TIFF pages, animation frames) decoded, upright (EXIF), and size-checked, up to max_frames;
    from frame `start` (counted from 0; the ones before are skipped, not decoded).

    The frame count is never asked for up front (a TIFF with a million directories would walk them all).
    Raises ImageRefused (too large) or ImageUnreadable (damaged); the caller may stop iterating at any time.
    """
    for index in range(start, max_frames):
        if index or image.tell():
            try:
                image.seek(index)
            except EOFError:
                return
            except Exception as exc:  # noqa: BLE001
                raise ImageUnreadable(f"damaged image: frame {index + 1} ({type(exc).__name__})") from exc
            _check_size(image, max_pixels)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                frame = ImageOps.exif_transpose(image)  # a decoded copy, turned upright
        except Image.DecompressionBombError as exc:
            raise ImageRefused(_too_large(None)) from exc
        except Exception as exc:  # noqa: BLE001 - truncated data, bad codecs, broken EXIF
            raise ImageUnreadable(f"damaged or truncated image ({type(exc).__name__})") from exc
        yield frame


def has_more_frames(image: Image.Image, after: int) -> bool:
    """True if the image has a frame beyond the first `after` ones."""
    try:
        image.seek(after)
    except Exception:  # noqa: BLE001 - EOFError normally; a damaged tail counts as no more frames
        return False
    return True


def image_to_pdf(data: bytes, media_type: str, *, max_pixels: int = MAX_PIXELS,
                 max_pages: int = MAX_PAGES) -> bytes | None:
    """The archival PDF of an image: every frame, lossless; None for non-images and for images we refuse.

    JPEG, PNG and TIFF go to img2pdf as they are (JPEG is embedded without re-encoding) once every frame
    has been decoded and size-checked; WebP, HEIC, BMP and GIF frames (and native input img2pdf will not
    take) are converted to PNG in memory first. The type is sniffed from the content; `media_type` is a hint.
    """
    kind = media.sniff(data[: media.SNIFF_BYTES]) if data else "application/octet-stream"
    if kind not in IMAGE_TYPES:
        return None
    try:
        image = open_image(data, kind, max_pixels=max_pixels)
        if kind in _IMG2PDF_NATIVE:
            # Decode every frame first: a truncated JPEG must not be embedded as it is.
            collections.deque(_all_frames(image, max_pixels=max_pixels, max_pages=max_pages), maxlen=0)
            pdf = _img2pdf(data)
            if pdf is not None:
                return pdf
        return _img2pdf(list(_png_frames(image, max_pixels=max_pixels, max_pages=max_pages)))
    except (ImageRefused, ImageUnreadable) as exc:
        log.info("no PDF rendition: %s", exc)
        return None


def _img2pdf(source: bytes | list[bytes]) -> bytes | None:
    import img2pdf

    try:
        return img2pdf.convert(source, rotation=img2pdf.Rotation.ifvalid)
    except Exception as exc:  # noqa: BLE001 - img2pdf refuses some colour spaces and odd encodings
        log.info("img2pdf refused the image: %s", type(exc).__name__)
        return None


def _all_frames(image: Image.Image, *, max_pixels: int, max_pages: int) -> Iterator[Image.Image]:
    yield from iter_frames(image, max_pixels=max_pixels, max_frames=max_pages)
    if has_more_frames(image, max_pages):
        raise ImageRefused(f"more than {max_pages} frames")


def _png_frames(image: Image.Image, *, max_pixels: int, max_pages: int) -> Iterator[bytes]:
    for frame in _all_frames(image, max_pixels=max_pixels, max_pages=max_pages):
        if frame.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
            frame = frame.convert("RGBA" if "A" in frame.getbands() else "RGB")
        out = io.BytesIO()
        frame.save(out, "PNG")
        yield out.getvalue()


def _check_size(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageUnreadable("damaged image: no pixels")
    if width * height > max_pixels:
        raise ImageRefused(_too_large((width, height)))


def _too_large(size: tuple[int, int] | None) -> str:
    what = f" ({size[0]} x {size[1]} pixels)" if size else ""
    return f"image too large (decompression bomb guard){what}"

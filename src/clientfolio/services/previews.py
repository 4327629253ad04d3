"""Page previews: a version's pages as PNG images, drawn from its decrypted bytes in memory only.

Seeing a page is seeing the content: the same checks as a download (content right, sensitive right, the
bytes verified as they are read), and every page drawn is recorded (`document.preview`).
"""

from __future__ import annotations

from clientfolio.domain.errors import NoPreview, NotFound
from clientfolio.domain.ports import PageRenderer
from clientfolio.services.content import read_verified
from clientfolio.services.context import Vault, acting_user
from clientfolio.services.versions import readable_version

MIN_WIDTH, MAX_WIDTH = 200, 2000
MAX_BYTES = 256 * 1024 * 1024  # larger files are not opened for a preview (as for text extraction)


def page_count(*, vault: Vault, actor: str, document_id: int, version: int | None = None) -> int:
    """How many pages a version has: PDF pages, TIFF pages, 1 for other images."""
    data, media_type, _, _ = _content(vault, actor, document_id, version)
    return _renderer(vault).page_count(data, media_type)


def render_page(*, vault: Vault, actor: str, document_id: int, version: int | None = None, page: int = 1,
                width: int = 1000) -> bytes:
    """Page `page` (from 1) as a PNG at most `width` pixels wide (held to 200..2000; images are never
    enlarged). errors.NoPreview for text, Word, Excel or damaged files; NotFound past the last page."""
    if page < 1:
        raise NotFound(f"no page {page}")
    width = min(max(width, MIN_WIDTH), MAX_WIDTH)
    data, media_type, number, audit = _content(vault, actor, document_id, version)
    png = _renderer(vault).render(data, media_type, page=page, width=width)
    with vault.uow() as uow:  # recorded before the image leaves the service
        uow.record(**audit, details={"version": number, "page": page})
        uow.commit()
    return png


def _content(vault: Vault, actor: str, document_id: int, version: int | None) -> tuple[bytes, str, int, dict]:
    """(plaintext, media type, version number, audit fields) once the user may read the content."""
    renderer = _renderer(vault)
    with vault.uow(read_only=True) as uow:  # a snapshot: no write lock held while the file is decrypted
        user = acting_user(uow, actor)
        document, customer, chosen = readable_version(uow, user, document_id, version)
        if not renderer.can_render(chosen.media_type):
            raise NoPreview(f"no preview for this kind of file ({chosen.media_type}): show its text instead")
        if chosen.size > MAX_BYTES:
            raise NoPreview(f"no preview: the file is larger than {MAX_BYTES // 2**20} MB")
        audit = dict(actor=actor, action="document.preview", object_type="document", object_id=str(document.id),
                     customer_code=customer.code)
        blob_id, sha256, media_type, number = chosen.blob_id, chosen.sha256, chosen.media_type, chosen.number
    data = b"".join(read_verified(vault, blob_id=blob_id, sha256=sha256, audit=audit))
    return data, media_type, number, audit


def _renderer(vault: Vault) -> PageRenderer:
    if vault.previews is None:
        raise NoPreview("no preview: page drawing is not set up in this process")
    return vault.previews

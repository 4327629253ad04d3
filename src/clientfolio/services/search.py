"""Full-text search for the CLI, the API and the web pages, with permissions inside the query.

The index holds keyed hashes of tokens only (adapters/search_index.py). What a user may see is part of the
query itself (sensitivity, own customers, deleted documents, and, for a role that may not read content,
matching on metadata only), so a hidden document is never scored, counted or returned. Snippets are cut from
the extracted text, decrypted in memory for the documents on the page shown, and only for documents whose
content the user may read. An exact identifier in the query finds its customer through the keyed lookup hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from clientfolio.domain import matching
from clientfolio.domain.errors import Conflict, InvalidInput
from clientfolio.domain.model import Document
from clientfolio.domain.policy import Action, allows, may_see_customer
from clientfolio.domain.search import IndexedDocument, SearchFilters, Visibility
from clientfolio.services.context import UnitOfWork, Vault, acting_user, authorize, customer_or_404
from clientfolio.services.documents import canonical_name, document_view
from clientfolio.services.views import DocumentView, View

MAX_LIMIT = 100
INDEX_BATCH = 500


@dataclass
class SearchHitView(View):
    document: DocumentView
    score: float
    snippet: str | None  # HTML-escaped, matches in <mark>; None when the user may not read the content


@dataclass
class SearchPage(View):
    query: str
    total: int
    limit: int
    offset: int
    hits: list[SearchHitView] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)  # codes found by an exact identifier in the query


def search(*, vault: Vault, actor: str, query: str = "", customer_code: str | None = None,
           category: str | None = None, subtype: str | None = None, tags: list[str] | None = None,
           sensitivity: str | None = None, issued_from: date | None = None, issued_to: date | None = None,
           expires_before: date | None = None, limit: int = 20, offset: int = 0) -> SearchPage:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    if len(query) > 1000:
        raise InvalidInput("the query is too long (1,000 characters at most)")
    vault.taxonomy.validate_filter(category, subtype)
    if sensitivity not in (None, "normal", "sensitive"):
        raise InvalidInput("sensitivity must be normal or sensitive")
    catch_up(vault)
    # Read in a snapshot (no write lock while snippets are cut), then record the search in a short transaction.
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.DOCUMENT_READ_META, object_type="search", object_id="*")
        customer_id = customer_or_404(uow, user, customer_code).id if customer_code else None
        found_customers, rest = _identifier_lookup(vault, uow, user, query)
        if found_customers and not rest.strip() and customer_id is None and len(found_customers) == 1:
            customer_id, query = found_customers[0].id, ""  # the number alone: that customer's documents
        elif found_customers:
            query = rest
        visibility = Visibility(
            include_sensitive=allows(user, Action.SENSITIVE_META),
            owner_id=user.id if user.own_customers_only else None,
            statuses=("active", "archived", "deleted") if allows(user, Action.DOCUMENT_RESTORE) else ("active", "archived"),
            content=allows(user, Action.DOCUMENT_READ_CONTENT))
        filters = SearchFilters(customer_id=customer_id, category=category, subtype=subtype,
                                tags=tuple(tags or ()), sensitivity=sensitivity, issued_from=issued_from,
                                issued_to=issued_to, expires_before=expires_before)
        vault.search.refresh()
        result = vault.search.search(query, filters=filters, visibility=visibility, limit=limit, offset=offset)
        hits = []
        found = uow.documents.many({hit.doc_id for hit in result.hits})  # one query for the page, not one a hit
        owners = uow.customers.many({d.customer_id for d in found.values()})
        for hit in result.hits:
            document = found.get(hit.doc_id)
            customer = owners.get(document.customer_id) if document else None
            if document is None or customer is None:
                continue  # removed since it was indexed; the next catch-up drops it
            hits.append(SearchHitView(document_view(vault, document, customer), round(hit.score, 4),
                                      _snippet(vault, user, document, customer, query)))
        codes = [c.code for c in found_customers]
    with vault.uow() as uow:
        user = acting_user(uow, actor)  # (a token's `via` goes into the event)
        # The query itself is not recorded: it may be a name or a number. Only that a search happened.
        uow.record(actor=user.name, action="search", object_type="search", object_id="*",
                   details={"results": result.total, "filters": sorted(k for k, v in filters.__dict__.items()
                                                                       if v not in (None, ()))})
        uow.commit()
    return SearchPage(query=query, total=result.total, limit=limit, offset=offset, hits=hits, customers=codes)


def _identifier_lookup(vault: Vault, uow: UnitOfWork, user, query: str):
    found, rest = [], query
    for kind, value in matching.identifiers_in_text(query) + _typed_identifier(query):
        for customer in uow.customers.by_identifier_hash(vault.fields.lookup_hash(kind, value)):
            if may_see_customer(user, customer) and customer not in found and allows(user, Action.CUSTOMER_READ):
                found.append(customer)
                rest = "" if re.sub(r"[\s\-]+", "", rest).upper() == value else \
                    re.sub(re.escape(value), " ", rest, flags=re.IGNORECASE)
    return found, rest


def _typed_identifier(query: str) -> list[tuple[str, str]]:
    """A query that is one number typed with spaces or dashes (110105 19491231 002x), or a single
    passport-like token (E12345678), is tried as that identifier too."""
    compact = re.sub(r"[\s\-]+", "", query)
    if len(compact) == 18 and compact != query.strip():
        return matching.identifiers_in_text(compact)
    token = compact.upper()
    if re.fullmatch(r"[A-Z]{1,2}\d{7,9}", token):
        return [("passport", token)]
    return []


def _snippet(vault: Vault, user, document: Document, customer, query: str) -> str | None:
    if not query.strip() or not _may_read_content(user, document, customer):
        return None
    latest = document.latest
    if not latest.text_blob_id:
        return None
    text = vault.blobs.read(latest.text_blob_id).decode("utf-8", errors="replace")  # in memory only
    return vault.search.snippet(text, query)


def _may_read_content(user, document: Document, customer) -> bool:
    if not allows(user, Action.DOCUMENT_READ_CONTENT) or not may_see_customer(user, customer):
        return False
    return not document.is_sensitive or allows(user, Action.SENSITIVE_READ)


# --- keeping the index in step with the database ---------------------------------------------------------

def catch_up(vault: Vault) -> int:
    """Index every document changed since it was last indexed; returns how many. Safe to run anywhere:
    when another process holds the index writer (the worker), this leaves the work to it."""
    if vault.search is None:
        return 0
    if vault.search.rebuild_requested():  # the index was started over (a new format): everything again
        with vault.uow() as uow:
            uow.documents.mark_all_unindexed()
            uow.commit()
        vault.search.rebuild_scheduled()
    with vault.uow(read_only=True) as uow:  # the usual case, nothing stale, takes no write lock
        if not uow.documents.ids_needing_index():
            return 0
    done = 0
    try:
        while True:
            with vault.uow() as uow:
                ids = uow.documents.ids_needing_index()[:INDEX_BATCH]
                if not ids:
                    break
                for document_id in ids:
                    _index_one(vault, uow, document_id)
                vault.search.commit()
                uow.documents.mark_indexed(ids)
                uow.commit()
                done += len(ids)
    except Conflict:
        return done  # another process is indexing: it will get to these
    return done


def index_document(*, vault: Vault, document_id: int) -> None:
    """The background job: bring the index up to date (this document and any other that changed)."""
    catch_up(vault)


def reindex(*, vault: Vault, actor: str) -> int:
    """Rebuild the whole index from the database and the sealed texts (admins; after a key or format change)."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.VAULT_MAINTAIN, object_type="search", object_id="index")
        uow.documents.mark_all_unindexed()
        uow.record(actor=user.name, action="search.reindex", object_type="search", object_id="index")
        uow.commit()
    return catch_up(vault)


def _index_one(vault: Vault, uow: UnitOfWork, document_id: int) -> None:
    document = uow.documents.get(document_id)
    if document is None:
        vault.search.delete(document_id)
        return
    customer = uow.customers.get(document.customer_id)
    latest = document.latest
    text = vault.blobs.read(latest.text_blob_id).decode("utf-8", errors="replace") if latest.text_blob_id else ""
    vault.search.upsert(IndexedDocument(
        doc_id=document.id, customer_id=customer.id, text=text, title=document.title, tags=tuple(document.tags),
        canonical_name=canonical_name(vault, document, customer, latest), customer_name=customer.name,
        customer_code=customer.code, owner_id=customer.owner_id, category=document.category,
        subtype=document.subtype, sensitivity=document.sensitivity, status=document.status,
        issued_on=document.issued_on, expires_on=document.expires_on))

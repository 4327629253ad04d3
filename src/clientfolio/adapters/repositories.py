"""Queries the services need, one small repository per aggregate. Permission filters run in SQL."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import String, cast, func, or_, select, text
from sqlalchemy.orm import Session

from clientfolio.adapters import orm
from clientfolio.domain.audit import GENESIS, AuditEvent
from clientfolio.domain.model import Customer, Document, InboxItem, User, Version, utcnow
from clientfolio.domain.queries import AuditFilter, CustomerFilter, DocumentFilter


class UserRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, user: User) -> None:
        self.session.add(user)
        self.session.flush()

    def by_name(self, name: str) -> User | None:
        return self.session.scalars(select(User).where(orm.users.c.name == name)).first()

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def list(self) -> list[User]:
        return list(self.session.scalars(select(User).order_by(orm.users.c.name)))

    def names(self, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = self.session.execute(select(orm.users.c.id, orm.users.c.name).where(orm.users.c.id.in_(ids)))
        return {row.id: row.name for row in rows}


class CustomerRepository:
    _SORTS = {"code": orm.customers.c.code, "name": orm.customers.c.name,
              "created": orm.customers.c.created_at, "-created": orm.customers.c.created_at.desc(),
              "review_due": orm.customers.c.review_due}

    def __init__(self, session: Session):
        self.session = session

    def add(self, customer: Customer) -> None:
        self.session.add(customer)
        self.session.flush()

    def by_code(self, code: str) -> Customer | None:
        return self.session.scalars(select(Customer).where(orm.customers.c.code == code)).first()

    def get(self, customer_id: int) -> Customer | None:
        return self.session.get(Customer, customer_id)

    def many(self, ids: set[int]) -> dict[int, Customer]:
        """Several customers in one query (a page of documents names its customers)."""
        if not ids:
            return {}
        return {c.id: c for c in self.session.scalars(select(Customer).where(orm.customers.c.id.in_(ids)))}

    def by_exact_name(self, name: str) -> list[Customer]:
        c = orm.customers.c
        return list(self.session.scalars(select(Customer).where(c.name == name, c.status == "active").limit(2)))

    def by_identifier_hash(self, lookup_hash: str) -> list[Customer]:
        stmt = (select(Customer).join(orm.customer_identifiers)
                .where(orm.customer_identifiers.c.lookup_hash == lookup_hash))
        return list(self.session.scalars(stmt).unique())

    def count(self, *, owner_id: int | None = None) -> int:
        stmt = select(func.count()).select_from(orm.customers)
        if owner_id is not None:
            stmt = stmt.where(orm.customers.c.owner_id == owner_id)
        return self.session.scalar(stmt) or 0

    def all(self) -> Iterator[Customer]:
        yield from self.session.scalars(select(Customer).order_by(orm.customers.c.id)).yield_per(500)

    def _filtered(self, f: CustomerFilter):
        stmt = select(Customer)
        c = orm.customers.c
        if f.owner_id is not None:
            stmt = stmt.where(c.owner_id == f.owner_id)
        if f.status:
            stmt = stmt.where(c.status == f.status)
        elif not f.include_merged:
            stmt = stmt.where(c.status == "active")
        if f.review_due_before:
            stmt = stmt.where(c.review_due < f.review_due_before)
        if f.tier:
            stmt = stmt.where(c.tier == f.tier)
        if f.kind:
            stmt = stmt.where(c.kind == f.kind)
        if f.name_contains:
            pattern = "%" + f.name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(or_(c.name.like(pattern, escape="\\"), c.code == f.name_contains.upper()))
        return stmt

    def list(self, f: CustomerFilter) -> tuple[list[Customer], int]:
        stmt = self._filtered(f)
        total = self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        order = self._SORTS.get(f.sort, orm.customers.c.code)
        rows = self.session.scalars(stmt.order_by(order, orm.customers.c.id).limit(f.limit).offset(f.offset))
        return list(rows), total or 0


class DocumentRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, document: Document) -> None:
        self.session.add(document)
        self.session.flush()

    def get(self, document_id: int) -> Document | None:
        return self.session.get(Document, document_id)

    def many(self, ids: set[int]) -> dict[int, Document]:
        """Documents by id in one query (versions and tags come with them: `selectin`)."""
        if not ids:
            return {}
        return {d.id: d for d in self.session.scalars(select(Document).where(orm.documents.c.id.in_(ids)))}

    def with_content(self, customer_id: int, sha256: str) -> Document | None:
        """A live document of this customer that holds exactly these bytes in any version."""
        d, v = orm.documents.c, orm.versions.c
        stmt = (select(Document).join(orm.versions, v.document_id == d.id)
                .where(d.customer_id == customer_id, v.sha256 == sha256, d.status != "deleted"))
        return self.session.scalars(stmt).first()

    def list(self, f: DocumentFilter) -> tuple[list[Document], int]:
        stmt = select(Document).where(*self._conditions(f))
        total = self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = self.session.scalars(stmt.order_by(*self._order(f)).limit(f.limit).offset(f.offset))
        return list(rows), total or 0

    def titles(self, ids: set[int], *, include_sensitive: bool, include_deleted: bool) -> dict[int, str]:
        """Titles of these documents, leaving out what the reader may not see."""
        if not ids:
            return {}
        d = orm.documents.c
        stmt = select(d.id, d.title).where(d.id.in_(ids))
        if not include_sensitive:
            stmt = stmt.where(d.sensitivity == "normal")
        if not include_deleted:
            stmt = stmt.where(d.status != "deleted")
        return {row.id: row.title for row in self.session.execute(stmt)}

    def count(self, f: DocumentFilter) -> int:
        """How many documents match (no rows loaded)."""
        return self.session.scalar(select(func.count()).select_from(orm.documents).where(*self._conditions(f))) or 0

    def brief(self, f: DocumentFilter) -> tuple[list, int]:
        """Like `list`, as light rows (id, title, category, subtype, expires_on, customer_code, customer_name)
        joined with their customers in one query: for overviews that show no versions or tags."""
        d, c = orm.documents.c, orm.customers.c
        conditions = self._conditions(f)
        total = self.session.scalar(select(func.count()).select_from(orm.documents).where(*conditions))
        rows = self.session.execute(
            select(d.id, d.title, d.category, d.subtype, d.expires_on, c.code.label("customer_code"),
                   c.name.label("customer_name"))
            .join(orm.customers, c.id == d.customer_id).where(*conditions)
            .order_by(*self._order(f)).limit(f.limit).offset(f.offset))
        return list(rows), total or 0

    @staticmethod
    def _conditions(f: DocumentFilter) -> list:
        """The filter as SQL conditions, permission limits included."""
        d = orm.documents.c
        where = [d.status.in_(f.statuses)]
        if not f.include_sensitive:
            where.append(d.sensitivity == "normal")
        if f.owner_id is not None:
            where.append(d.customer_id.in_(select(orm.customers.c.id).where(orm.customers.c.owner_id == f.owner_id)))
        if f.customer_id is not None:
            where.append(d.customer_id == f.customer_id)
        if f.category:
            where.append(d.category == f.category)
        if f.category_not:
            where.append(d.category != f.category_not)
        if f.subtype:
            where.append(d.subtype == f.subtype)
        if f.suggestion_pending:
            where.append(d.suggestion.is_not(None))
        if f.tag:
            where.append(d.id.in_(select(orm.document_tags.c.document_id).where(orm.document_tags.c.tag == f.tag)))
        if f.expires_from:
            where.append(d.expires_on >= f.expires_from)
        if f.expires_before:
            where += [d.expires_on.is_not(None), d.expires_on < f.expires_before]
        return where

    @staticmethod
    def _order(f: DocumentFilter) -> tuple:
        d = orm.documents.c
        return {"id": (d.id,), "-id": (d.id.desc(),), "title": (d.title, d.id),
                "expires": (d.expires_on.is_(None), d.expires_on, d.id),
                "-updated": (d.updated_at.desc(), d.id)}[f.sort]

    def move_all(self, from_customer: int, to_customer: int) -> int:
        """Re-home every document of one customer (a merge); returns how many moved."""
        t = orm.documents
        result = self.session.execute(t.update().where(t.c.customer_id == from_customer)
                                      .values(customer_id=to_customer, updated_at=utcnow()))  # re-indexed
        return result.rowcount

    def any_with_content(self, sha256: str) -> int | None:
        """A document holding these exact bytes, for any customer (ingestion skips files already in)."""
        v = orm.versions.c
        return self.session.scalar(select(v.document_id).where(v.sha256 == sha256).limit(1))

    def all_active(self) -> Iterator[Document]:
        d = orm.documents.c
        yield from self.session.scalars(select(Document).where(d.status == "active").order_by(d.id)).yield_per(200)

    def version_by_id(self, version_id: int) -> Version | None:
        return self.session.get(Version, version_id)

    def version_ids_with_text_status(self, status: str) -> list[int]:
        v = orm.versions.c
        return list(self.session.scalars(select(v.id).where(v.text_status == status).order_by(v.id)))

    def signatures_of_customer(self, customer_id: int, *, exclude_document: int | None) -> list[tuple[int, bytes]]:
        v, d = orm.versions.c, orm.documents.c
        stmt = (select(v.document_id, v.text_signature).join(orm.documents, d.id == v.document_id)
                .where(d.customer_id == customer_id, d.status != "deleted", v.text_signature.is_not(None)))
        if exclude_document is not None:
            stmt = stmt.where(v.document_id != exclude_document)
        return [(row[0], bytes(row[1])) for row in self.session.execute(stmt)]

    def ids_needing_index(self) -> list[int]:
        d = orm.documents.c
        stmt = select(d.id).where((d.indexed_at.is_(None)) | (d.indexed_at < d.updated_at)).order_by(d.id)
        return list(self.session.scalars(stmt))

    def mark_indexed(self, ids: list[int]) -> None:
        """Indexed as of the change each one was read at: a later change still shows as `indexed_at < updated_at`."""
        d = orm.documents
        self.session.execute(d.update().where(d.c.id.in_(ids)).values(indexed_at=d.c.updated_at))

    def mark_all_unindexed(self) -> None:
        self.session.execute(orm.documents.update().values(indexed_at=None))

    def touch_customer_documents(self, customer_id: int) -> None:
        """A customer's name or owner changed: their documents are indexed again."""
        d = orm.documents
        self.session.execute(d.update().where(d.c.customer_id == customer_id).values(updated_at=utcnow()))

    def count_versions(self) -> int:
        return self.session.scalar(select(func.count()).select_from(orm.versions)) or 0

    def all_versions(self) -> Iterator[Version]:
        yield from self.session.scalars(select(Version).order_by(orm.versions.c.id)).yield_per(500)


class AuditRepository:
    def __init__(self, session: Session, key: bytes):
        self.session = session
        self._key = key
        self._head: tuple[int, str] | None = None
        self._appended = False

    def _lock_head(self) -> tuple[int, str]:
        if self._head is None:
            if self.session.bind.dialect.name == "postgresql":
                # One chain, many writers: serialize appends for the rest of this transaction.
                self.session.execute(text("SELECT pg_advisory_xact_lock(7318201)"))
            a = orm.audit_events.c
            row = self.session.execute(select(a.seq, a.hash).order_by(a.seq.desc()).limit(1)).first()
            self._head = (row.seq, row.hash) if row else (0, GENESIS)
        return self._head

    def append(self, **fields) -> AuditEvent:
        seq, prev = self._lock_head()
        event = AuditEvent(seq=seq + 1, prev_hash=prev, key=self._key, **fields)
        self.session.add(event)
        self._head = (event.seq, event.hash)
        self._appended = True
        return event

    def forget_head(self) -> None:
        self._head = None
        self._appended = False

    def pending_head(self) -> tuple[int, str] | None:
        """The head this transaction will commit, if it appended anything."""
        return self._head if getattr(self, "_appended", False) else None

    def head(self) -> tuple[int, str]:
        a = orm.audit_events.c
        row = self.session.execute(select(a.seq, a.hash).order_by(a.seq.desc()).limit(1)).first()
        return (row.seq, row.hash) if row else (0, GENESIS)

    def query(self, f: AuditFilter) -> list[AuditEvent]:
        """Newest first, a page of `f.limit`."""
        a = orm.audit_events.c
        stmt = select(AuditEvent).where(*self._conditions(f))
        return list(self.session.scalars(stmt.order_by(a.seq.desc()).limit(f.limit).offset(f.offset)))

    def count(self, f: AuditFilter) -> int:
        stmt = select(func.count()).select_from(orm.audit_events).where(*self._conditions(f))
        return self.session.scalar(stmt) or 0

    def matching(self, f: AuditFilter) -> Iterator:
        """Every matching event in chain order as light rows (an export), `f.limit` and `f.offset` ignored."""
        a = orm.audit_events.c
        result = self.session.execute(select(orm.audit_events).where(*self._conditions(f)).order_by(a.seq)
                                      .execution_options(yield_per=5000))
        yield from result

    @staticmethod
    def _conditions(f: AuditFilter) -> list:
        a, c, d = orm.audit_events.c, orm.customers.c, orm.documents.c
        where = [column == value for column, value in (
            (a.customer_code, f.customer_code), (a.actor, f.actor), (a.object_type, f.object_type),
            (a.object_id, f.object_id)) if value]
        if f.action:
            where.append(a.action.like(f.action.replace("*", "%")) if "*" in f.action else a.action == f.action)
        if f.since:
            where.append(a.at >= f.since)
        if f.until:
            where.append(a.at < f.until)
        if f.about_customers:
            where.append(a.customer_code.is_not(None))
        if f.owner_id is not None:
            where.append(a.customer_code.in_(select(c.code).where(c.owner_id == f.owner_id)))
        if f.hide_sensitive:  # sensitive documents' ids as text, like object_id (the subquery runs once)
            sensitive = select(cast(d.id, String)).where(d.sensitivity == "sensitive")
            where.append(or_(a.object_type != "document", a.object_id.not_in(sensitive)))
        return where

    def stream(self) -> Iterator:
        """All events in chain order as light rows (a million of them must not become ORM objects)."""
        a = orm.audit_events.c
        result = self.session.execute(select(orm.audit_events).order_by(a.seq)
                                      .execution_options(yield_per=5000))
        yield from result


class InboxRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, item: InboxItem) -> None:
        self.session.add(item)
        self.session.flush()

    def get(self, item_id: int) -> InboxItem | None:
        return self.session.get(InboxItem, item_id)

    def list(self, *, status: str, limit: int, offset: int) -> tuple[list[InboxItem], int]:
        i = orm.inbox_items.c
        total = self.session.scalar(select(func.count()).select_from(orm.inbox_items).where(i.status == status))
        rows = self.session.scalars(select(InboxItem).where(i.status == status)
                                    .order_by(i.received_at.desc(), i.id.desc()).limit(limit).offset(offset))
        return list(rows), total or 0

    def waiting_with_hash(self, sha256: str) -> int | None:
        i = orm.inbox_items.c
        return self.session.scalar(select(i.id).where(i.sha256 == sha256, i.status == "waiting").limit(1))

    def all(self) -> Iterator[InboxItem]:
        yield from self.session.scalars(select(InboxItem).order_by(orm.inbox_items.c.id)).yield_per(500)


class MetaRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, key: str) -> str | None:
        return self.session.scalar(select(orm.vault_meta.c.value).where(orm.vault_meta.c.key == key))

    def set(self, key: str, value: str) -> None:
        t = orm.vault_meta
        if self.get(key) is None:
            self.session.execute(t.insert().values(key=key, value=value))
        else:
            self.session.execute(t.update().where(t.c.key == key).values(value=value))

"""Tables, and the imperative mapping of the domain's plain classes onto them."""

from __future__ import annotations

from datetime import timezone

from sqlalchemy import (Boolean, Column, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary,
                        MetaData, String, Table, Text, UniqueConstraint, BigInteger, false, text)
from sqlalchemy.orm import registry, relationship
from sqlalchemy.types import TypeDecorator

from clientfolio.domain.audit import AuditEvent
from clientfolio.domain.credentials import ApiToken, RecoveryCode, SignInSession
from clientfolio.domain.model import (Customer, CustomerIdentifier, Document, DocumentTag, InboxItem, User,
                                      Version)

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})
mapper_registry = registry(metadata=metadata)



class UtcDateTime(TypeDecorator):
    """Timestamps come back timezone-aware (UTC) from every backend: SQLite keeps no zone and would hand back
    naive values, which then serialize without one and compare badly with aware ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


UTC = UtcDateTime()

vault_meta = Table(
    "vault_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("own_customers_only", Boolean, nullable=False, default=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTC, nullable=False),
    # Sign-in (migration 0006): the password as an argon2id hash, the TOTP secret sealed with the field key.
    Column("password_hash", String(255), nullable=True),
    Column("password_changed_at", UTC, nullable=True),
    Column("totp_secret_sealed", LargeBinary, nullable=True),
    Column("totp_enabled", Boolean, nullable=False, server_default=false()),
    Column("totp_last_step", BigInteger, nullable=True),
    Column("failed_sign_ins", Integer, nullable=False, server_default="0"),
    Column("locked_at", UTC, nullable=True),
)

customers = Table(
    "customers", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", String(200), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("owner_id", ForeignKey("users.id"), nullable=True, index=True),
    Column("phone_sealed", LargeBinary, nullable=True),
    Column("email_sealed", LargeBinary, nullable=True),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("merged_into_id", ForeignKey("customers.id"), nullable=True),
    Column("created_at", UTC, nullable=False),
    Column("updated_at", UTC, nullable=False),
    Column("review_due", Date, nullable=True, index=True),  # the next periodic review (migration 0008)
)

customer_identifiers = Table(
    "customer_identifiers", metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("lookup_hash", String(64), nullable=False, index=True),
    UniqueConstraint("customer_id", "kind", name="uq_customer_identifiers_customer_kind"),
)

_NEEDS_INDEX = "indexed_at IS NULL OR indexed_at < updated_at"

documents = Table(
    "documents", metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
    Column("category", String(40), nullable=False),
    Column("subtype", String(40), nullable=True),
    Column("title", String(300), nullable=False),
    Column("sensitivity", String(16), nullable=False),
    Column("issued_on", Date, nullable=True),
    Column("expires_on", Date, nullable=True, index=True),
    Column("paper_location", String(300), nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_by", ForeignKey("users.id"), nullable=False),
    Column("created_at", UTC, nullable=False),
    Column("updated_at", UTC, nullable=False),
    Column("suggestion", Text, nullable=True),  # JSON: category/subtype/tags proposed by ingestion
    Column("indexed_at", UTC, nullable=True),  # behind updated_at: the search index needs this document
    Index("ix_documents_customer_category", "customer_id", "category", "subtype"),
    # Expiry lists and counts filtered by what a role may see, answered from the index (migration 0009). Led by
    # expires_on: led by sensitivity, SQLite (no statistics) preferred it to customer_id for a customer's list.
    Index("ix_documents_expires_sensitivity_status", "expires_on", "sensitivity", "status"),
    # What the search index still needs: found without scanning every document at each search.
    Index("ix_documents_needs_index", "id", sqlite_where=text(_NEEDS_INDEX), postgresql_where=text(_NEEDS_INDEX)),
)

document_tags = Table(
    "document_tags", metadata,
    Column("document_id", ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(40), primary_key=True),
    Index("ix_document_tags_tag", "tag"),
)

versions = Table(
    "versions", metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", ForeignKey("documents.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("blob_id", String(32), nullable=False, index=True),  # a restored version shares its blob
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("original_name_sealed", LargeBinary, nullable=True),
    Column("uploaded_by", ForeignKey("users.id"), nullable=False),
    Column("uploaded_at", UTC, nullable=False),
    Column("note", String(500), nullable=True),
    # Text extraction (ingestion): the text itself is an encrypted blob, never a column.
    Column("text_status", String(16), nullable=False, server_default="pending", index=True),
    Column("text_blob_id", String(32), nullable=True),
    Column("text_confidence", Float, nullable=True),
    Column("text_pages", Integer, nullable=True),
    Column("text_error", String(300), nullable=True),
    Column("text_attempts", Integer, nullable=False, server_default="0"),
    Column("rendition_blob_id", String(32), nullable=True),
    # Near-duplicates: a keyed MinHash of the text (no token in the clear), and the document it resembles.
    Column("text_signature", LargeBinary, nullable=True),
    Column("near_duplicate_of", Integer, nullable=True),
    # Fields read from an ID document, proposed until a person confirms them (sealed: ID numbers).
    Column("fields_kind", String(32), nullable=True),
    Column("fields_sealed", LargeBinary, nullable=True),
    Column("fields_status", String(16), nullable=False, server_default="none"),  # none|proposed|confirmed|rejected
    UniqueConstraint("document_id", "number", name="uq_versions_document_number"),
)

# Files ingested without a customer they could be matched to, waiting to be filed by a person.
inbox_items = Table(
    "inbox_items", metadata,
    Column("id", Integer, primary_key=True),
    Column("blob_id", String(32), nullable=False, index=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("original_name_sealed", LargeBinary, nullable=True),
    Column("source_sealed", LargeBinary, nullable=True),  # its folder below the consumption root
    Column("received_by", ForeignKey("users.id"), nullable=False),
    Column("received_at", UTC, nullable=False, index=True),
    Column("text_status", String(16), nullable=False),
    Column("text_blob_id", String(32), nullable=True),
    Column("text_confidence", Float, nullable=True),
    Column("text_pages", Integer, nullable=True),
    Column("text_error", String(300), nullable=True),
    Column("rendition_blob_id", String(32), nullable=True),
    Column("text_signature", LargeBinary, nullable=True),
    Column("suggestion", Text, nullable=True),  # JSON: category, subtype, tags, confidence (never text)
    Column("reason", String(300), nullable=False),
    Column("status", String(16), nullable=False, index=True),  # waiting | filed | discarded
    Column("document_id", ForeignKey("documents.id"), nullable=True),
    Column("handled_by", ForeignKey("users.id"), nullable=True),
    Column("handled_at", UTC, nullable=True),
)

audit_events = Table(
    "audit_events", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("at", UTC, nullable=False, index=True),
    Column("actor", String(64), nullable=False, index=True),
    Column("action", String(64), nullable=False, index=True),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(64), nullable=False),
    Column("customer_code", String(16), nullable=True, index=True),
    Column("outcome", String(16), nullable=False),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_events_object", "object_type", "object_id"),  # one document's history (migration 0008)
)

# Sign-in security (migration 0006). Tokens are stored as SHA-256 (sessions, API tokens) or a keyed hash
# (recovery codes); never the value itself.
recovery_codes = Table(
    "recovery_codes", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("used_at", UTC, nullable=True),
)

sessions = Table(
    "sessions", metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the session token
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTC, nullable=False),
    Column("last_seen_at", UTC, nullable=False),
    Column("ends_at", UTC, nullable=False),  # the absolute limit (or the end of the wait for a second factor)
    Column("second_factor_done", Boolean, nullable=False),
    Column("client_address", String(64), nullable=False),
    Column("user_agent", String(200), nullable=False),
    Column("revoked_at", UTC, nullable=True),
)

sign_in_failures = Table(
    "sign_in_failures", metadata,
    Column("id", Integer, primary_key=True),
    Column("client_address", String(64), nullable=False, index=True),
    Column("at", UTC, nullable=False, index=True),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),  # "cf_" and 8 characters: shown in lists and audit events
    Column("scope", Text, nullable=True),  # JSON list of actions; NULL: whatever the role allows
    Column("created_at", UTC, nullable=False),
    Column("expires_at", UTC, nullable=False),
    Column("last_used_at", UTC, nullable=True),
    Column("revoked_at", UTC, nullable=True),
)

# Webhooks (migration 0007): endpoints and every delivery to them. The address and the signing secret are
# sealed like customer fields; payloads carry ids and codes only, never a document's or a customer's content.
webhooks = Table(
    "webhooks", metadata,
    Column("id", Integer, primary_key=True),
    Column("url_sealed", LargeBinary, nullable=False),
    Column("endpoint", String(300), nullable=False),  # scheme://host:port only: what lists show
    Column("secret_sealed", LargeBinary, nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event types
    Column("description", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("after_seq", BigInteger, nullable=False),  # audit events up to this one happened before it existed
    Column("created_by", ForeignKey("users.id"), nullable=False),
    Column("created_at", UTC, nullable=False),
    Column("removed_at", UTC, nullable=True),
)

webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", Integer, primary_key=True),
    Column("webhook_id", ForeignKey("webhooks.id"), nullable=False),
    Column("event_id", String(36), nullable=False, unique=True),  # X-Clientfolio-Delivery: receivers dedupe by it
    Column("event_type", String(40), nullable=False),
    Column("event_key", String(120), nullable=False),  # what the event is about: each is delivered once per hook
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTC, nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("created_at", UTC, nullable=False),
    Column("delivered_at", UTC, nullable=True),
    UniqueConstraint("webhook_id", "event_key", name="uq_webhook_deliveries_webhook_event"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

_mapped = False


def start_mappers() -> None:
    """Map once per process; idempotent so tests and tools can call it freely."""
    global _mapped
    if _mapped:
        return
    _mapped = True
    mapper_registry.map_imperatively(User, users)
    mapper_registry.map_imperatively(CustomerIdentifier, customer_identifiers)
    mapper_registry.map_imperatively(Customer, customers, properties={
        "identifiers": relationship(CustomerIdentifier, cascade="all, delete-orphan", lazy="selectin"),
    })
    mapper_registry.map_imperatively(DocumentTag, document_tags)
    mapper_registry.map_imperatively(Version, versions)
    mapper_registry.map_imperatively(Document, documents, properties={
        "versions": relationship(Version, order_by=versions.c.number, lazy="selectin"),
        "tag_rows": relationship(DocumentTag, cascade="all, delete-orphan", lazy="selectin"),
    })
    mapper_registry.map_imperatively(AuditEvent, audit_events)
    mapper_registry.map_imperatively(InboxItem, inbox_items)
    mapper_registry.map_imperatively(SignInSession, sessions)
    mapper_registry.map_imperatively(ApiToken, api_tokens)
    mapper_registry.map_imperatively(RecoveryCode, recovery_codes)

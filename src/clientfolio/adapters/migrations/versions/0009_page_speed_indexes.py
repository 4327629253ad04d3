"""indexes for the pages at 100,000 documents: counts and expiry lists by sensitivity, what search must index

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NEEDS_INDEX = "indexed_at IS NULL OR indexed_at < updated_at"


def upgrade() -> None:
    op.create_index("ix_documents_expires_sensitivity_status", "documents", ["expires_on", "sensitivity", "status"])
    op.create_index("ix_documents_needs_index", "documents", ["id"], sqlite_where=sa.text(NEEDS_INDEX),
                    postgresql_where=sa.text(NEEDS_INDEX))


def downgrade() -> None:
    op.drop_index("ix_documents_needs_index", table_name="documents")
    op.drop_index("ix_documents_expires_sensitivity_status", table_name="documents")

"""ingestion inbox (files waiting to be filed) and near-duplicate signatures per version

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("text_signature", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("near_duplicate_of", sa.Integer(), nullable=True))
    op.create_table(
        "inbox_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("blob_id", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("original_name_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("source_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("received_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("text_status", sa.String(16), nullable=False),
        sa.Column("text_blob_id", sa.String(32), nullable=True),
        sa.Column("text_confidence", sa.Float(), nullable=True),
        sa.Column("text_pages", sa.Integer(), nullable=True),
        sa.Column("text_error", sa.String(300), nullable=True),
        sa.Column("rendition_blob_id", sa.String(32), nullable=True),
        sa.Column("text_signature", sa.LargeBinary(), nullable=True),
        sa.Column("suggestion", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), nullable=True),
        sa.Column("handled_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("handled_at", UTC, nullable=True),
    )
    op.create_index("ix_inbox_items_blob_id", "inbox_items", ["blob_id"])
    op.create_index("ix_inbox_items_sha256", "inbox_items", ["sha256"])
    op.create_index("ix_inbox_items_received_at", "inbox_items", ["received_at"])
    op.create_index("ix_inbox_items_status", "inbox_items", ["status"])


def downgrade() -> None:
    op.drop_table("inbox_items")
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("near_duplicate_of")
        batch.drop_column("text_signature")

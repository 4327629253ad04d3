"""text extraction state per version, ingestion suggestions and index bookkeeping per document

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("text_status", sa.String(16), nullable=False, server_default="pending"))
        batch.add_column(sa.Column("text_blob_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("text_confidence", sa.Float(), nullable=True))
        batch.add_column(sa.Column("text_pages", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("text_error", sa.String(300), nullable=True))
        batch.add_column(sa.Column("text_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("rendition_blob_id", sa.String(32), nullable=True))
        batch.create_index("ix_versions_text_status", ["text_status"])
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("suggestion", sa.Text(), nullable=True))
        batch.add_column(sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("indexed_at")
        batch.drop_column("suggestion")
    with op.batch_alter_table("versions") as batch:
        batch.drop_index("ix_versions_text_status")
        for column in ("rendition_blob_id", "text_attempts", "text_error", "text_pages", "text_confidence",
                       "text_blob_id", "text_status"):
            batch.drop_column(column)

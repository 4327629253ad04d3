"""fields read from ID documents, proposed for a person to confirm (sealed: they hold ID numbers)

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("fields_kind", sa.String(32), nullable=True))
        batch.add_column(sa.Column("fields_sealed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("fields_status", sa.String(16), nullable=False, server_default="none"))


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        for column in ("fields_status", "fields_sealed", "fields_kind"):
            batch.drop_column(column)

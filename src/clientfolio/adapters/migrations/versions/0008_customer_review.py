"""customer periodic review date; audit events found by their object

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# domain.model.REVIEW_YEARS as it was when this revision was written (a migration must not change later).
REVIEW_YEARS = {"key": 1, "standard": 2, "prospect": 3}


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("review_due", sa.Date(), nullable=True))
        batch.create_index("ix_customers_review_due", ["review_due"])
    op.create_index("ix_audit_events_object", "audit_events", ["object_type", "object_id"])
    sqlite = op.get_bind().dialect.name == "sqlite"
    for tier, years in REVIEW_YEARS.items():
        # Existing customers: created (UTC day) + the tier's interval; 29 February falls on the 28th, as in
        # domain.model.next_review (SQLite's date() would roll over to 1 March).
        due = (f"date(created_at, CASE WHEN strftime('%m-%d', created_at) = '02-29' THEN '-1 days' "
               f"ELSE '+0 days' END, '+{years} years')" if sqlite else
               f"CAST((created_at AT TIME ZONE 'UTC') + INTERVAL '{years} years' AS DATE)")
        op.execute(sa.text(f"UPDATE customers SET review_due = {due} WHERE tier = :tier").bindparams(tier=tier))


def downgrade() -> None:
    op.drop_index("ix_audit_events_object", table_name="audit_events")
    with op.batch_alter_table("customers") as batch:
        batch.drop_index("ix_customers_review_due")
        batch.drop_column("review_due")

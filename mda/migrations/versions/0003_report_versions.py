"""Half-yearly reports get a version (optimistic locking, ETag / If-Match).

Revision ID: 0003_report_versions
Revises: 0002_calendar_and_deadlines
Create Date: 2026-11-24 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_report_versions"
down_revision = "0002_calendar_and_deadlines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing reports start at version 1, like a report written now.
    with op.batch_alter_table("half_year_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("half_year_reports", schema=None) as batch_op:
        batch_op.drop_column("version")

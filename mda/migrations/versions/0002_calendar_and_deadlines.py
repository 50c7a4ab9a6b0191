"""Working-day calendar table, deadline computation and note, one open deadline per kind.

Revision ID: 0002_calendar_and_deadlines
Revises: 0001
Create Date: 2026-11-24 17:22:00
"""

from alembic import op
import sqlalchemy as sa
import mda.models.base

revision = "0002_calendar_and_deadlines"
down_revision = "0001"
branch_labels = None
depends_on = None

# Earlier code could leave two open rows of one kind; the unique index needs at most one.
# The oldest is kept, the later ones are cancelled.
CANCEL_DUPLICATES = """
UPDATE deadlines SET status = 'cancelled', next_action_at = NULL, closed_at = CURRENT_TIMESTAMP
WHERE status = 'open' AND EXISTS (
    SELECT 1 FROM deadlines AS older
    WHERE older.trajectory_id = deadlines.trajectory_id
      AND older.kind = deadlines.kind
      AND older.status = 'open'
      AND older.id < deadlines.id
)
"""


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", mda.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    op.execute(CANCEL_DUPLICATES)
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("computation", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.create_index(
            "uq_deadlines_one_open",
            ["trajectory_id", "kind"],
            unique=True,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_deadlines_one_open",
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )
        batch_op.drop_column("note")
        batch_op.drop_column("computation")
    op.drop_table("calendar_days")

"""Referral date, and the earliest open deadline on the trajectory for the worklist.

``trajectories.referred_on`` (NOT NULL): the day the referral reached the team; existing rows
get the Europe/Amsterdam date of ``created_at``. ``next_due_at`` and ``next_due_kind``: the
trajectory's earliest open deadline (due moment, then kind), filled from ``deadlines``, and
the index the worklist pages by: ``(region_code, next_due_at, id)`` over open trajectories.

SQLite cannot add NOT NULL to a column, and recreating ``trajectories`` (a batch migration)
is not safe there: the migration runs in a transaction with foreign keys on (mda's engine),
where ``PRAGMA foreign_keys=OFF`` does nothing, so dropping the old table would cascade into
``checklist_items`` and ``safety_measurements`` and break the references of
``trajectory_events`` and ``deadlines``. Adding NOT NULL to a column that holds no NULL
changes nothing on disk, so on SQLite the column is declared NOT NULL in the stored schema
(``PRAGMA writable_schema``, as SQLite's documentation describes for such changes) once it is
filled and checked; the table is not recreated and the trajectory_events trigger of 0004 is
left alone. On PostgreSQL this is a plain ``ALTER COLUMN ... SET NOT NULL``.

Revision ID: 0005_referral_date_and_worklist
Revises: 0004_retention
Create Date: 2026-11-24 19:10:00
"""

import re
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import mda.models.base

revision = "0005_referral_date_and_worklist"
down_revision = "0004_retention"
branch_labels = None
depends_on = None

NL = ZoneInfo("Europe/Amsterdam")
OPEN_PREDICATE = "state <> 'closed'"
BATCH = 5000

# The earliest open deadline of each trajectory: due moment first, then kind.
FILL_NEXT_DUE = """
UPDATE trajectories SET
    next_due_at = (
        SELECT d.due_at FROM deadlines d
        WHERE d.trajectory_id = trajectories.id AND d.status = 'open'
        ORDER BY d.due_at, d.kind LIMIT 1
    ),
    next_due_kind = (
        SELECT d.kind FROM deadlines d
        WHERE d.trajectory_id = trajectories.id AND d.status = 'open'
        ORDER BY d.due_at, d.kind LIMIT 1
    )
WHERE EXISTS (
    SELECT 1 FROM deadlines d WHERE d.trajectory_id = trajectories.id AND d.status = 'open'
)
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("trajectories", sa.Column("referred_on", sa.Date(), nullable=True))
    op.add_column(
        "trajectories", sa.Column("next_due_at", mda.models.base.UTCDateTime(), nullable=True)
    )
    op.add_column("trajectories", sa.Column("next_due_kind", sa.String(32), nullable=True))
    if dialect == "postgresql":
        op.execute(
            "UPDATE trajectories SET referred_on = "
            "(created_at AT TIME ZONE 'Europe/Amsterdam')::date"
        )
        op.alter_column("trajectories", "referred_on", existing_type=sa.Date(), nullable=False)
    else:
        _fill_referred_on_in_python()
        _sqlite_set_not_null("trajectories", "referred_on", "DATE")
    op.execute(FILL_NEXT_DUE)
    op.create_index(
        "ix_trajectories_worklist",
        "trajectories",
        ["region_code", "next_due_at", "id"],
        postgresql_where=sa.text(OPEN_PREDICATE),
        sqlite_where=sa.text(OPEN_PREDICATE),
    )


def _fill_referred_on_in_python() -> None:
    """SQLite knows no time zones: the Dutch date of ``created_at`` is computed here."""
    bind = op.get_bind()
    table = sa.table(
        "trajectories",
        sa.column("id", sa.Integer()),
        sa.column("created_at", mda.models.base.UTCDateTime()),
        sa.column("referred_on", sa.Date()),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c.created_at)
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values(referred_on=sa.bindparam("day")),
            [
                {"row_id": row.id, "day": row.created_at.astimezone(UTC).astimezone(NL).date()}
                for row in rows
            ],
        )
        last = rows[-1].id


def _sqlite_set_not_null(table: str, column: str, type_sql: str) -> None:
    """Declare ``column`` NOT NULL in SQLite's stored schema; every row must have a value."""
    bind = op.get_bind()
    # table and column are this module's constants, never input.
    missing = bind.exec_driver_sql(f"SELECT count(*) FROM {table} WHERE {column} IS NULL")  # noqa: S608
    if missing.scalar_one():
        raise RuntimeError(f"{table}.{column} still has NULLs; cannot make it NOT NULL")
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar_one()
    # ADD COLUMN appended exactly "<column> <TYPE>" to the stored CREATE TABLE.
    pattern = re.compile(rf"(\b{re.escape(column)}\s+{re.escape(type_sql)})(?=\s*[,)])")
    found = pattern.findall(sql)
    if len(found) != 1:
        raise RuntimeError(f"cannot find the definition of {table}.{column} in its schema")
    changed = pattern.sub(r"\1 NOT NULL", sql)
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (changed, table)
        )
        # A new schema version makes every connection read the schema again.
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = bind.exec_driver_sql(f"PRAGMA integrity_check({table})").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"{table} fails its integrity check: {problems[:5]}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index(
        "ix_trajectories_worklist",
        table_name="trajectories",
        postgresql_where=sa.text(OPEN_PREDICATE),
        sqlite_where=sa.text(OPEN_PREDICATE),
    )
    for column in ("next_due_kind", "next_due_at", "referred_on"):
        if dialect == "sqlite":
            # SQLite's own DROP COLUMN (3.35+): no recreated table (see the note above).
            op.execute(f"ALTER TABLE trajectories DROP COLUMN {column}")
        else:
            op.drop_column("trajectories", column)

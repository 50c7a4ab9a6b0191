"""Retention: redacted_at columns, and append-only triggers that allow exactly retention.

The event log stays append-only except for one UPDATE: retention's redaction of an event of
a trajectory closed at least a year ago (the floor under ``MDA_RETENTION_YEARS``), which sets
``redacted_at`` once, empties ``reason``, removes only the free-text paths from ``data`` and
leaves every other column as it was. The access log stays append-only except for a DELETE of
rows at least a year old (the floor under ``MDA_ACCESS_LOG_RETENTION_YEARS``). Every other
UPDATE or DELETE is still refused, on both backends.

Note for later SQLite migrations: the trajectory_events trigger reads ``trajectories``; a
batch migration that recreates ``trajectories`` must drop and recreate this trigger around it.

Revision ID: 0004_retention
Revises: 0003_report_versions
Create Date: 2026-11-24 17:45:00
"""

import sqlalchemy as sa
from alembic import op

import mda.models.base

revision = "0004_retention"
down_revision = "0003_report_versions"
branch_labels = None
depends_on = None

# Frozen copy of mda.services.retention.FREE_TEXT_DATA_PATHS at this revision.
FREE_TEXT_DATA_PATHS = (("params", "referred_back_to"),)
FLOOR = "1 year"

_KEPT = (
    "id",
    "trajectory_id",
    "seq",
    "at",
    "actor_id",
    "kind",
    '"trigger"',
    "from_state",
    "to_state",
)


def _sqlite_paths() -> str:
    return ", ".join("'$." + ".".join(path) + "'" for path in FREE_TEXT_DATA_PATHS)


def _postgres_removed() -> str:
    expression = "OLD.data::jsonb"
    for path in FREE_TEXT_DATA_PATHS:
        expression = f"({expression} #- '{{{','.join(path)}}}')"
    return expression


def upgrade() -> None:
    with op.batch_alter_table("trajectories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redacted_at", mda.models.base.UTCDateTime(), nullable=True))
    with op.batch_alter_table("trajectory_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redacted_at", mda.models.base.UTCDateTime(), nullable=True))
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _postgres_upgrade()
    elif dialect == "sqlite":
        _sqlite_upgrade()


def _postgres_upgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trajectory_events_append_only ON trajectory_events")
    op.execute("DROP TRIGGER IF EXISTS access_log_append_only ON access_log")
    same = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in _KEPT)
    op.execute(
        "CREATE FUNCTION mda_trajectory_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP = 'UPDATE' AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL "
        f"AND {same} AND NEW.reason IS NULL "
        f"AND NEW.data::jsonb = {_postgres_removed()} "
        "AND EXISTS (SELECT 1 FROM trajectories t WHERE t.id = OLD.trajectory_id "
        "AND t.state = 'closed' AND t.closed_at IS NOT NULL "
        f"AND t.closed_at <= now() - interval '{FLOOR}') "
        "THEN RETURN NEW; END IF; "
        "RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME; "
        "END $$"
    )
    op.execute(
        "CREATE FUNCTION mda_access_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        f"IF TG_OP = 'DELETE' AND OLD.at <= now() - interval '{FLOOR}' THEN RETURN OLD; END IF; "
        "RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME; "
        "END $$"
    )
    op.execute(
        "CREATE TRIGGER trajectory_events_append_only BEFORE UPDATE OR DELETE "
        "ON trajectory_events FOR EACH ROW EXECUTE FUNCTION mda_trajectory_events_guard()"
    )
    op.execute(
        "CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE "
        "ON access_log FOR EACH ROW EXECUTE FUNCTION mda_access_log_guard()"
    )


def _sqlite_upgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trajectory_events_no_update")
    op.execute("DROP TRIGGER IF EXISTS access_log_no_delete")
    same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in _KEPT)
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): they compare
    # as text with datetime('now', ...).
    op.execute(
        "CREATE TRIGGER trajectory_events_no_update BEFORE UPDATE ON trajectory_events "
        "WHEN NOT (OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL "
        f"AND {same} AND NEW.reason IS NULL "
        f"AND json(NEW.data) IS json_remove(OLD.data, {_sqlite_paths()}) "
        "AND EXISTS (SELECT 1 FROM trajectories t WHERE t.id = OLD.trajectory_id "
        "AND t.state = 'closed' AND t.closed_at IS NOT NULL "
        f"AND t.closed_at <= datetime('now', '-{FLOOR}'))) "
        "BEGIN SELECT RAISE(ABORT, 'trajectory_events is append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log "
        f"WHEN NOT (OLD.at <= datetime('now', '-{FLOOR}')) "
        "BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END"
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trajectory_events_append_only ON trajectory_events")
        op.execute("DROP TRIGGER IF EXISTS access_log_append_only ON access_log")
        op.execute("DROP FUNCTION IF EXISTS mda_trajectory_events_guard()")
        op.execute("DROP FUNCTION IF EXISTS mda_access_log_guard()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS trajectory_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS access_log_no_delete")
    with op.batch_alter_table("trajectory_events", schema=None) as batch_op:
        batch_op.drop_column("redacted_at")
    with op.batch_alter_table("trajectories", schema=None) as batch_op:
        batch_op.drop_column("redacted_at")
    # Back to 0001's triggers: no UPDATE and no DELETE at all.
    if dialect == "postgresql":
        for table in ("access_log", "trajectory_events"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION mda_append_only()"
            )
    elif dialect == "sqlite":
        for table in ("access_log", "trajectory_events"):
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb.lower()}")
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )

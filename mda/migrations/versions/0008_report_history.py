"""Half-year report history: every saved version of a report is kept, append-only.

A correction of a submitted report no longer erases what was reported before: each save writes
a snapshot row (the indicators, the status, who and when). Existing reports get their current
version as the first snapshot. UPDATE and DELETE are refused by the database on both backends.

Revision ID: 0008_report_history
Revises: 0007_notifications
Create Date: 2026-11-24 20:00:00
"""

import sqlalchemy as sa
from alembic import op

import mda.models.base

revision = "0008_report_history"
down_revision = "0007_notifications"
branch_labels = None
depends_on = None

TABLE = "half_year_report_versions"
INDICATORS = (
    "vision_in_regional_plan",
    "professionals_trained",
    "working_by_vision",
    "vision_in_procurement",
    "local_teams_quality_framework_steps",
)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=8), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "mda_status",
            sa.Enum(
                "none",
                "in_development",
                "pilot",
                "structural",
                name="mdastatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        *[sa.Column(name, sa.Boolean(), nullable=False) for name in INDICATORS],
        sa.Column("saved_at", mda.models.base.UTCDateTime(), nullable=False),
        sa.Column("saved_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["half_year_reports.id"],
            name=op.f("fk_half_year_report_versions_report_id_half_year_reports"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["regions.code"],
            name=op.f("fk_half_year_report_versions_region_code_regions"),
        ),
        sa.ForeignKeyConstraint(
            ["saved_by_id"],
            ["users.id"],
            name=op.f("fk_half_year_report_versions_saved_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_half_year_report_versions")),
        sa.UniqueConstraint(
            "report_id", "version", name=op.f("uq_half_year_report_versions_report_id_version")
        ),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_half_year_report_versions_region_code"), ["region_code"], unique=False
        )
    # The current version of every existing report becomes its first snapshot.
    reports = sa.table(
        "half_year_reports",
        *[
            sa.column(name)
            for name in ("id", "region_code", "period", "version", "mda_status", *INDICATORS)
        ],
        sa.column("updated_at"),
        sa.column("updated_by_id"),
    )
    versions = sa.table(
        TABLE,
        *[
            sa.column(name)
            for name in (
                "report_id",
                "region_code",
                "period",
                "version",
                "mda_status",
                *INDICATORS,
                "saved_at",
                "saved_by_id",
            )
        ],
    )
    op.execute(
        versions.insert().from_select(
            [c.name for c in versions.columns],
            sa.select(*[reports.c[c.name] for c in reports.columns]),
        )
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # mda_append_only() exists since 0001 (the access log and the event log use it).
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION mda_append_only()"
        )
    elif dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
    elif dialect == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{verb}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_half_year_report_versions_region_code"))
    op.drop_table(TABLE)

"""Statistics releases: immutable versions, their internal suppression log and their files.

The placeholder tables of 0001 (``stats_releases`` with ``stats_cells``) were never written
by any code; they are replaced by a release that keeps its published tables as one JSON
document with its checksum, the settings it was made under and the audit's summary, an
internal log of every suppressed cell (``stats_suppressions``, never published) and the CSV
and XLSX files built once (``stats_release_files``). The database refuses UPDATE and DELETE on
all three: a recomputation is a new version.

Revision ID: 0006_statistics_releases
Revises: 0005_referral_date_and_worklist
Create Date: 2026-11-25 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import mda.models.base

revision = "0006_statistics_releases"
down_revision = "0005_referral_date_and_worklist"
branch_labels = None
depends_on = None

IMMUTABLE = ("stats_releases", "stats_suppressions", "stats_release_files")


def _period_type() -> sa.Enum:
    return sa.Enum(
        "month",
        "half_year",
        name="periodtype",
        native_enum=False,
        create_constraint=True,
        length=32,
    )


def upgrade() -> None:
    with op.batch_alter_table("stats_cells", schema=None) as batch_op:
        batch_op.drop_index("ix_stats_cells_release_region")
    op.drop_table("stats_cells")
    op.drop_table("stats_releases")

    op.create_table(
        "stats_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("period_type", _period_type(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", mda.models.base.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("rounding_base", sa.Integer(), nullable=False),
        sa.Column("protection", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("data_checksum", sa.String(length=64), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("audit", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_stats_releases_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_releases")),
        sa.UniqueConstraint("period", "version", name=op.f("uq_stats_releases_period_version")),
    )
    op.create_table(
        "stats_suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=48), nullable=False),
        sa.Column("coords", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("range_low", sa.Integer(), nullable=True),
        sa.Column("range_high", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["stats_releases.id"],
            name=op.f("fk_stats_suppressions_release_id_stats_releases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_suppressions")),
    )
    with op.batch_alter_table("stats_suppressions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stats_suppressions_release_id"), ["release_id"], unique=False
        )
    op.create_table(
        "stats_release_files",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["stats_releases.id"],
            name=op.f("fk_stats_release_files_release_id_stats_releases"),
        ),
        sa.PrimaryKeyConstraint("release_id", "format", name=op.f("pk_stats_release_files")),
    )
    _immutable_triggers()


def _immutable_triggers() -> None:
    """Releases are written once: the database refuses UPDATE and DELETE.

    PostgreSQL reuses 0001's ``mda_append_only()`` function.
    """
    dialect = op.get_bind().dialect.name
    for table in IMMUTABLE:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION mda_append_only()"
            )
        elif dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def _drop_immutable_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for table in IMMUTABLE:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        elif dialect == "sqlite":
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def downgrade() -> None:
    _drop_immutable_triggers()
    op.drop_table("stats_release_files")
    with op.batch_alter_table("stats_suppressions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stats_suppressions_release_id"))
    op.drop_table("stats_suppressions")
    op.drop_table("stats_releases")

    # The placeholders of 0001, as they were.
    op.create_table(
        "stats_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("period_type", _period_type(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", mda.models.base.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("rounding_base", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_stats_releases_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_releases")),
        sa.UniqueConstraint("period", "version", name=op.f("uq_stats_releases_period_version")),
    )
    op.create_table(
        "stats_cells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=8), nullable=True),
        sa.Column("measure", sa.String(length=48), nullable=False),
        sa.Column("dimension", sa.String(length=48), nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("suppression_reason", sa.String(length=32), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_stats_cells_region_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["stats_releases.id"],
            name=op.f("fk_stats_cells_release_id_stats_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_cells")),
    )
    with op.batch_alter_table("stats_cells", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stats_cells_release_region", ["release_id", "region_code"], unique=False
        )

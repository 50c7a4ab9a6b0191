"""Reminders: the ladder's steps, notifications, deliveries, sweep runs and contact settings.

``deadline_rules.remind_before_hours``: rules counted in hours (the 24-hour school notice)
remind that many hours before due; ``school_notice_due`` gets 4. The placeholder
``notifications`` table of 0001 was never written by any code: it is replaced by one row per
person per rung (or per daily digest) with its unique keys, next to ``ladder_steps`` (one row
per deadline and rung, delivered or skipped), ``deliveries`` (one per notification and
channel), ``sweep_runs`` (reminder health) and ``notification_settings`` (a person's e-mail
address, language and digest choice).

Revision ID: 0007_notifications
Revises: 0006_statistics_releases
Create Date: 2026-11-24 20:00:00
"""

import sqlalchemy as sa
from alembic import op

import mda.models.base

revision = "0007_notifications"
down_revision = "0006_statistics_releases"
branch_labels = None
depends_on = None


def _kind(*values: str) -> sa.Enum:
    return sa.Enum(
        *values,
        name="notificationkind",
        native_enum=False,
        create_constraint=True,
        length=32,
    )


def _status(*extra: str) -> sa.Enum:
    return sa.Enum(
        "pending",
        "sent",
        "failed",
        *extra,
        name="notificationstatus",
        native_enum=False,
        create_constraint=True,
        length=32,
    )


KINDS = ("reminder", "overdue", "escalation", "digest")


def upgrade() -> None:
    op.add_column(
        "deadline_rules",
        sa.Column("remind_before_hours", sa.Integer(), server_default="0", nullable=False),
    )
    op.execute("UPDATE deadline_rules SET remind_before_hours = 4 WHERE kind = 'school_notice_due'")

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_recipient_id"))
    op.drop_table("notifications")

    op.create_table(
        "ladder_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=False),
        sa.Column("rung", sa.Integer(), nullable=False),
        sa.Column("kind", _kind(*KINDS), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "delivered",
                "skipped",
                name="stepstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("scheduled_at", mda.models.base.UTCDateTime(), nullable=False),
        sa.Column("created_at", mda.models.base.UTCDateTime(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deadline_id"], ["deadlines.id"], name=op.f("fk_ladder_steps_deadline_id_deadlines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ladder_steps")),
        sa.UniqueConstraint("deadline_id", "rung", name=op.f("uq_ladder_steps_deadline_id_rung")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("kind", _kind(*KINDS), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=True),
        sa.Column("step_id", sa.Integer(), nullable=True),
        sa.Column("digest_on", sa.Date(), nullable=True),
        sa.Column("created_at", mda.models.base.UTCDateTime(), nullable=False),
        sa.Column("read_at", mda.models.base.UTCDateTime(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deadline_id"], ["deadlines.id"], name=op.f("fk_notifications_deadline_id_deadlines")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name=op.f("fk_notifications_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["ladder_steps.id"], name=op.f("fk_notifications_step_id_ladder_steps")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint(
            "recipient_id", "digest_on", name=op.f("uq_notifications_recipient_id_digest_on")
        ),
        sa.UniqueConstraint(
            "step_id", "recipient_id", name=op.f("uq_notifications_step_id_recipient_id")
        ),
    )
    op.create_index(
        op.f("ix_notifications_deadline_id"), "notifications", ["deadline_id"], unique=False
    )
    op.create_index(
        "ix_notifications_inbox", "notifications", ["recipient_id", "read_at", "id"], unique=False
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "in_app",
                "email",
                name="channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("status", _status("cancelled"), nullable=False),
        sa.Column("created_at", mda.models.base.UTCDateTime(), nullable=False),
        sa.Column("due_at", mda.models.base.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", mda.models.base.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", mda.models.base.UTCDateTime(), nullable=True),
        sa.Column("delay_seconds", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_deliveries_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "notification_id", "channel", name=op.f("uq_deliveries_notification_id_channel")
        ),
    )
    op.create_index(
        "ix_deliveries_pending", "deliveries", ["status", "next_attempt_at"], unique=False
    )
    op.create_table(
        "sweep_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", mda.models.base.UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("claimed", sa.Integer(), nullable=False),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("dispatched", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_runs")),
    )
    op.create_index(op.f("ix_sweep_runs_started_at"), "sweep_runs", ["started_at"], unique=False)
    op.create_table(
        "notification_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("email_enabled", sa.Boolean(), nullable=False),
        sa.Column("digest_enabled", sa.Boolean(), nullable=False),
        sa.Column("last_digest_on", sa.Date(), nullable=True),
        sa.Column("updated_at", mda.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_settings")),
    )


def downgrade() -> None:
    op.drop_table("notification_settings")
    op.drop_index(op.f("ix_sweep_runs_started_at"), table_name="sweep_runs")
    op.drop_table("sweep_runs")
    op.drop_index("ix_deliveries_pending", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_notifications_inbox", table_name="notifications")
    op.drop_index(op.f("ix_notifications_deadline_id"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("ladder_steps")
    # The placeholder of 0001, as it was.
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=False),
        sa.Column("kind", _kind("reminder", "overdue", "escalation"), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("status", _status(), nullable=False),
        sa.Column("created_at", mda.models.base.UTCDateTime(), nullable=False),
        sa.Column("sent_at", mda.models.base.UTCDateTime(), nullable=True),
        sa.Column("read_at", mda.models.base.UTCDateTime(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deadline_id"], ["deadlines.id"], name=op.f("fk_notifications_deadline_id_deadlines")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["users.id"], name=op.f("fk_notifications_recipient_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint(
            "deadline_id",
            "kind",
            "sequence",
            name=op.f("uq_notifications_deadline_id_kind_sequence"),
        ),
    )
    op.create_index(
        op.f("ix_notifications_recipient_id"), "notifications", ["recipient_id"], unique=False
    )
    with op.batch_alter_table("deadline_rules", schema=None) as batch_op:
        batch_op.drop_column("remind_before_hours")

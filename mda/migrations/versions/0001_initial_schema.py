"""Initial schema: the whole data model of DESIGN.md.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 17:51:02.611990
"""

from alembic import op
import sqlalchemy as sa
import mda.models.base

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deadline_rules',
    sa.Column('kind', sa.Enum('screening_due', 'team_due', 'safety_plan_due', 'measurement_1_due', 'measurement_2_due', 'measurement_3_due', 'plan_review_due', 'school_notice_due', 'phase_overrun', name='deadlinekind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('unit', sa.Enum('working_days', 'hours', 'days', 'weeks', 'months', name='dueunit', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('remind_before_working_days', sa.Integer(), nullable=False),
    sa.Column('escalate_after_working_days', sa.Integer(), nullable=False),
    sa.Column('repeat_every_working_days', sa.Integer(), nullable=False),
    sa.Column('recurring', sa.Boolean(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', mda.models.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_deadline_rules'))
    )
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempts_remote_addr'), ['remote_addr'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempts_username'), ['username'], unique=False)

    op.create_table('regions',
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('mda_status', sa.Enum('none', 'in_development', 'pilot', 'structural', name='mdastatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status_changed_at', mda.models.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_regions')),
    sa.UniqueConstraint('name', name=op.f('uq_regions_name'))
    )
    op.create_table('worker_heartbeats',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('last_seen_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_heartbeats'))
    )
    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=True),
    sa.Column('region_code', sa.String(length=8), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_organisations_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('name', name=op.f('uq_organisations_name'))
    )
    op.create_table('region_building_blocks',
    sa.Column('region_code', sa.String(length=8), nullable=False),
    sa.Column('block', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('not_started', 'in_progress', 'done', name='blockstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('updated_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_region_building_blocks_region_code_regions')),
    sa.PrimaryKeyConstraint('region_code', 'block', name=op.f('pk_region_building_blocks'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('coordinator', 'manager', 'programme', 'admin', 'auditor', name='role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('totp_secret', sa.String(length=64), nullable=True),
    sa.Column('totp_enabled', sa.Boolean(), nullable=False),
    sa.Column('totp_last_counter', sa.Integer(), nullable=True),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_login_at', mda.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_users_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('access_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('on_behalf_of', sa.String(length=120), nullable=True),
    sa.Column('action', sa.Enum('read', 'search', 'create', 'change', 'export', 'denied', name='accessaction', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('trajectory_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_access_log_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log'))
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index('ix_access_log_at', ['at'], unique=False)
        batch_op.create_index('ix_access_log_trajectory_at', ['trajectory_id', 'at'], unique=False)
        batch_op.create_index('ix_access_log_user_at', ['user_id', 'at'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', mda.models.base.UTCDateTime(), nullable=True),
    sa.Column('last_used_at', mda.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('half_year_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=8), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('mda_status', sa.Enum('none', 'in_development', 'pilot', 'structural', name='mdastatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('vision_in_regional_plan', sa.Boolean(), nullable=False),
    sa.Column('professionals_trained', sa.Boolean(), nullable=False),
    sa.Column('working_by_vision', sa.Boolean(), nullable=False),
    sa.Column('vision_in_procurement', sa.Boolean(), nullable=False),
    sa.Column('local_teams_quality_framework_steps', sa.Boolean(), nullable=False),
    sa.Column('updated_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_half_year_reports_region_code_regions')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_half_year_reports_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_half_year_reports')),
    sa.UniqueConstraint('region_code', 'period', name=op.f('uq_half_year_reports_region_code_period'))
    )
    with op.batch_alter_table('half_year_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_half_year_reports_period'), ['period'], unique=False)

    op.create_table('region_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=8), nullable=False),
    sa.Column('at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('what', sa.String(length=32), nullable=False),
    sa.Column('from_value', sa.String(length=32), nullable=False),
    sa.Column('to_value', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_region_status_changes_actor_id_users')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_region_status_changes_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_region_status_changes'))
    )
    with op.batch_alter_table('region_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_region_status_changes_region_code'), ['region_code'], unique=False)

    op.create_table('stats_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('period_type', sa.Enum('month', 'half_year', name='periodtype', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('rounding_base', sa.Integer(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_stats_releases_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_releases')),
    sa.UniqueConstraint('period', 'version', name=op.f('uq_stats_releases_period_version'))
    )
    op.create_table('trajectories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pseudonym_hash', sa.String(length=64), nullable=False),
    sa.Column('pseudonym', sa.String(length=16), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=8), nullable=False),
    sa.Column('state', sa.Enum('referred', 'screening', 'team_forming', 'immediate_safety', 'risk_care', 'recovery', 'aftercare', 'closed', name='trajectorystate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('coordinator_id', sa.Integer(), nullable=True),
    sa.Column('referral_source', sa.Enum('veilig_thuis', 'local_team', 'police', 'public_prosecutor', 'child_protection_board', 'certified_institution', 'healthcare', 'other', name='referralsource', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('violence_types', sa.JSON(), nullable=False),
    sa.Column('children', sa.Enum('0', '1', '2', '3+', name='childrenbucket', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('closure_reason', sa.Enum('goals_met', 'stepped_down', 'not_eligible', 'moved_out_of_region', 'household_withdrew', 'other', name='closurereason', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('referred_back_to', sa.String(length=120), nullable=True),
    sa.Column('suspended_at', mda.models.base.UTCDateTime(), nullable=True),
    sa.Column('suspension_reason', sa.Text(), nullable=True),
    sa.Column('created_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('state_entered_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('closed_at', mda.models.base.UTCDateTime(), nullable=True),
    sa.Column('reentries', sa.Integer(), nullable=False),
    sa.Column('relapses', sa.Integer(), nullable=False),
    sa.Column('updated_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['coordinator_id'], ['users.id'], name=op.f('fk_trajectories_coordinator_id_users')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_trajectories_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trajectories')),
    sa.UniqueConstraint('pseudonym', name=op.f('uq_trajectories_pseudonym')),
    sa.UniqueConstraint('pseudonym_hash', name=op.f('uq_trajectories_pseudonym_hash'))
    )
    with op.batch_alter_table('trajectories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trajectories_coordinator_id'), ['coordinator_id'], unique=False)
        batch_op.create_index('ix_trajectories_region_state', ['region_code', 'state'], unique=False)

    op.create_table('user_regions',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_user_regions_region_code_regions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_regions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'region_code', name=op.f('pk_user_regions'))
    )
    op.create_table('checklist_items',
    sa.Column('trajectory_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=48), nullable=False),
    sa.Column('done', sa.Boolean(), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('updated_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['trajectory_id'], ['trajectories.id'], name=op.f('fk_checklist_items_trajectory_id_trajectories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_checklist_items_updated_by_id_users')),
    sa.PrimaryKeyConstraint('trajectory_id', 'key', name=op.f('pk_checklist_items'))
    )
    op.create_table('deadlines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trajectory_id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.Enum('screening_due', 'team_due', 'safety_plan_due', 'measurement_1_due', 'measurement_2_due', 'measurement_3_due', 'plan_review_due', 'school_notice_due', 'phase_overrun', name='deadlinekind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('open', 'met', 'cancelled', 'acknowledged', name='deadlinestatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('opened_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('due_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('next_action_at', mda.models.base.UTCDateTime(), nullable=True),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('escalations', sa.Integer(), nullable=False),
    sa.Column('closed_at', mda.models.base.UTCDateTime(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_deadlines_closed_by_id_users')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_deadlines_region_code_regions')),
    sa.ForeignKeyConstraint(['trajectory_id'], ['trajectories.id'], name=op.f('fk_deadlines_trajectory_id_trajectories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadlines'))
    )
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.create_index('ix_deadlines_sweep', ['status', 'next_action_at'], unique=False)
        batch_op.create_index('ix_deadlines_trajectory', ['trajectory_id', 'kind', 'status'], unique=False)
        batch_op.create_index('ix_deadlines_worklist', ['region_code', 'status', 'due_at'], unique=False)

    op.create_table('safety_measurements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trajectory_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('measured_on', sa.Date(), nullable=False),
    sa.Column('violence_level', sa.Enum('none', 'moderate', 'severe', name='violencelevel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('safety_score', sa.Integer(), nullable=True),
    sa.Column('recorded_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_safety_measurements_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['trajectory_id'], ['trajectories.id'], name=op.f('fk_safety_measurements_trajectory_id_trajectories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_measurements')),
    sa.UniqueConstraint('trajectory_id', 'number', name=op.f('uq_safety_measurements_trajectory_id_number'))
    )
    op.create_table('stats_cells',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=8), nullable=True),
    sa.Column('measure', sa.String(length=48), nullable=False),
    sa.Column('dimension', sa.String(length=48), nullable=True),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('suppressed', sa.Boolean(), nullable=False),
    sa.Column('suppression_reason', sa.String(length=32), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_stats_cells_region_code_regions')),
    sa.ForeignKeyConstraint(['release_id'], ['stats_releases.id'], name=op.f('fk_stats_cells_release_id_stats_releases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_cells'))
    )
    with op.batch_alter_table('stats_cells', schema=None) as batch_op:
        batch_op.create_index('ix_stats_cells_release_region', ['release_id', 'region_code'], unique=False)

    op.create_table('trajectory_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trajectory_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=True),
    sa.Column('from_state', sa.String(length=32), nullable=True),
    sa.Column('to_state', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_trajectory_events_actor_id_users')),
    sa.ForeignKeyConstraint(['trajectory_id'], ['trajectories.id'], name=op.f('fk_trajectory_events_trajectory_id_trajectories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trajectory_events')),
    sa.UniqueConstraint('trajectory_id', 'seq', name=op.f('uq_trajectory_events_trajectory_id_seq'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deadline_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('reminder', 'overdue', 'escalation', name='notificationkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='notificationstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_at', mda.models.base.UTCDateTime(), nullable=False),
    sa.Column('sent_at', mda.models.base.UTCDateTime(), nullable=True),
    sa.Column('read_at', mda.models.base.UTCDateTime(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadlines.id'], name=op.f('fk_notifications_deadline_id_deadlines')),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_notifications_recipient_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('deadline_id', 'kind', 'sequence', name=op.f('uq_notifications_deadline_id_kind_sequence'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_recipient_id'), ['recipient_id'], unique=False)

    _append_only_triggers()


APPEND_ONLY = ("access_log", "trajectory_events")


def _append_only_triggers() -> None:
    """The access log and the event log are append-only, enforced by the database itself."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION mda_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION mda_append_only()"
            )
    elif dialect == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def _drop_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS mda_append_only()")
    elif dialect == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_recipient_id'))

    op.drop_table('notifications')
    op.drop_table('trajectory_events')
    with op.batch_alter_table('stats_cells', schema=None) as batch_op:
        batch_op.drop_index('ix_stats_cells_release_region')

    op.drop_table('stats_cells')
    op.drop_table('safety_measurements')
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_index('ix_deadlines_worklist')
        batch_op.drop_index('ix_deadlines_trajectory')
        batch_op.drop_index('ix_deadlines_sweep')

    op.drop_table('deadlines')
    op.drop_table('checklist_items')
    op.drop_table('user_regions')
    with op.batch_alter_table('trajectories', schema=None) as batch_op:
        batch_op.drop_index('ix_trajectories_region_state')
        batch_op.drop_index(batch_op.f('ix_trajectories_coordinator_id'))

    op.drop_table('trajectories')
    op.drop_table('stats_releases')
    with op.batch_alter_table('region_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_region_status_changes_region_code'))

    op.drop_table('region_status_changes')
    with op.batch_alter_table('half_year_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_half_year_reports_period'))

    op.drop_table('half_year_reports')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index('ix_access_log_user_at')
        batch_op.drop_index('ix_access_log_trajectory_at')
        batch_op.drop_index('ix_access_log_at')

    op.drop_table('access_log')
    op.drop_table('users')
    op.drop_table('region_building_blocks')
    op.drop_table('organisations')
    op.drop_table('worker_heartbeats')
    op.drop_table('regions')
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempts_username'))
        batch_op.drop_index(batch_op.f('ix_login_attempts_remote_addr'))

    op.drop_table('login_attempts')
    op.drop_table('deadline_rules')

"""Foundation: stations, compounds, staff, bot state, handled events, audit log.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from linli.storage.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("officers_room_id", sa.String(255)),
        sa.Column("supervisors_room_id", sa.String(255)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stations"),
        sa.UniqueConstraint("slug", name="uq_stations_slug"),
    )
    op.create_table(
        "compounds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("station_id", sa.Integer, nullable=False),
        sa.Column("room_id", sa.String(255)),
        sa.Column("room_alias", sa.String(255)),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("admission_mode", sa.String(16), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_compounds"),
        sa.UniqueConstraint("slug", name="uq_compounds_slug"),
        sa.UniqueConstraint("room_id", name="uq_compounds_room_id"),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name="fk_compounds_station_id_stations"
        ),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("station_id", sa.Integer),
        sa.Column("compound_id", sa.Integer),
        sa.Column("display_name", sa.String(200)),
        sa.Column("phone", sa.String(64)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff"),
        sa.UniqueConstraint("user_id", "role", "station_id", "compound_id", name="uq_staff_grant"),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name="fk_staff_station_id_stations"
        ),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"], name="fk_staff_compound_id_compounds"
        ),
    )
    op.create_index("ix_staff_user_id", "staff", ["user_id"])
    op.create_table(
        "bot_state",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_bot_state"),
    )
    op.create_table(
        "handled_events",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("handled_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_handled_events"),
    )
    op.create_index("ix_handled_events_handled_at", "handled_events", ["handled_at"])
    op.create_table(
        "direct_rooms",
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_direct_rooms"),
        sa.UniqueConstraint("room_id", name="uq_direct_rooms_room_id"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255)),
        sa.Column("station_id", sa.Integer),
        sa.Column("compound_id", sa.Integer),
        sa.Column("details", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_station_id", "audit_log", ["station_id"])
    op.create_index("ix_audit_log_compound_id", "audit_log", ["compound_id"])


def downgrade() -> None:
    for table in ("audit_log", "direct_rooms", "handled_events", "bot_state", "staff",
                  "compounds", "stations"):
        op.drop_table(table)

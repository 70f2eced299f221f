"""Broadcasts: bulletins, occurrences, the delivery ledger, the scheduler lease.

Revision ID: 0003
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from linli.storage.types import UTCDateTime

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulletins",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("bodies", sa.JSON, nullable=False),
        sa.Column("translations", sa.JSON, nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target_station_id", sa.Integer),
        sa.Column("target_compound_ids", sa.JSON, nullable=False),
        sa.Column("schedule_kind", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("run_at", UTCDateTime()),
        sa.Column("cron", sa.String(120)),
        sa.Column("interval_seconds", sa.Integer),
        sa.Column("start_at", UTCDateTime()),
        sa.Column("end_at", UTCDateTime()),
        sa.Column("station_id", sa.Integer),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("deleted_at", UTCDateTime()),
        sa.Column("next_at", UTCDateTime()),
        sa.Column("fired_count", sa.Integer, nullable=False),
        sa.Column("mention_room", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bulletins"),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name="fk_bulletins_station_id_stations"
        ),
    )
    op.create_index("ix_bulletins_next_at", "bulletins", ["next_at"])
    op.create_index("ix_bulletins_station_id", "bulletins", ["station_id"])
    op.create_table(
        "bulletin_occurrences",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("bulletin_id", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("series_index", sa.Integer, nullable=False),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("coalesced", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_bulletin_occurrences"),
        sa.UniqueConstraint("bulletin_id", "at", name="uq_bulletin_occurrences_bulletin_id"),
        sa.ForeignKeyConstraint(
            ["bulletin_id"], ["bulletins.id"], name="fk_bulletin_occurrences_bulletin_id_bulletins"
        ),
    )
    op.create_index("ix_bulletin_occurrences_state", "bulletin_occurrences", ["state"])
    op.create_table(
        "bulletin_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("bulletin_id", sa.Integer, nullable=False),
        sa.Column("occurrence", UTCDateTime(), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("compound_id", sa.Integer),
        sa.Column("station_id", sa.Integer),
        sa.Column("txn_id", sa.String(80), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(255)),
        sa.Column("error", sa.String(200)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("claimed_until", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_bulletin_deliveries"),
        sa.UniqueConstraint(
            "bulletin_id", "occurrence", "room_id", name="uq_bulletin_deliveries_bulletin_id"
        ),
        sa.UniqueConstraint("txn_id", name="uq_bulletin_deliveries_txn_id"),
        sa.ForeignKeyConstraint(
            ["bulletin_id"], ["bulletins.id"], name="fk_bulletin_deliveries_bulletin_id_bulletins"
        ),
    )
    op.create_table(
        "broadcast_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_broadcast_leases"),
    )


def downgrade() -> None:
    for table in ("broadcast_leases", "bulletin_deliveries", "bulletin_occurrences", "bulletins"):
        op.drop_table(table)

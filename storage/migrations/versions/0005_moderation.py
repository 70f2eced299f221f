"""Moderation: restrictions, warnings, web tokens, enrolment snapshots.

Revision ID: 0005
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from linli.storage.types import UTCDateTime

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "moderation_restrictions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("compound_id", sa.Integer, nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("imposed_by", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("imposed_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime()),
        sa.Column("previous_level", sa.Integer),
        sa.Column("muted_level", sa.Integer),
        sa.Column("lifted_at", UTCDateTime()),
        sa.Column("lifted_by", sa.String(255)),
        sa.PrimaryKeyConstraint("id", name="pk_moderation_restrictions"),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"],
            name="fk_moderation_restrictions_compound_id_compounds",
        ),
    )
    op.create_index(
        "ix_moderation_restrictions_room_user", "moderation_restrictions", ["room_id", "user_id"]
    )
    op.create_index("ix_moderation_restrictions_ends_at", "moderation_restrictions", ["ends_at"])

    op.create_table(
        "moderation_warnings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("compound_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("escalated_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_moderation_warnings"),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"], name="fk_moderation_warnings_compound_id_compounds"
        ),
    )
    op.create_index(
        "ix_moderation_warnings_compound_user_at",
        "moderation_warnings",
        ["compound_id", "user_id", "at"],
    )

    op.create_table(
        "web_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("station_id", sa.Integer),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime()),
        sa.Column("revoked_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_web_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_web_tokens_token_hash"),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name="fk_web_tokens_station_id_stations"
        ),
    )

    op.create_table(
        "enrolment_snapshots",
        sa.Column("compound_id", sa.Integer, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("households", sa.Integer, nullable=False),
        sa.Column("covered", sa.Integer, nullable=False),
        sa.Column("verified_members", sa.Integer, nullable=False),
        sa.Column("pending", sa.Integer, nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("compound_id", "day", name="pk_enrolment_snapshots"),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"], name="fk_enrolment_snapshots_compound_id_compounds"
        ),
    )


def downgrade() -> None:
    for table in (
        "enrolment_snapshots", "web_tokens", "moderation_warnings", "moderation_restrictions"
    ):
        op.drop_table(table)

"""Verification: household registry, history, enrolment codes, account links, members, attempts.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from linli.storage.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "verification_households",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("compound_id", sa.Integer, nullable=False),
        sa.Column("building", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("flat", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_verification_households"),
        sa.UniqueConstraint(
            "compound_id", "building", "unit", "flat", name="uq_verification_households_flat"
        ),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"],
            name="fk_verification_households_compound_id_compounds",
        ),
    )
    op.create_table(
        "verification_people",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("household_id", sa.Integer, nullable=False),
        sa.Column("compound_id", sa.Integer, nullable=False),
        sa.Column("name_enc", sa.LargeBinary, nullable=False),
        sa.Column("name_hash", sa.String(64), nullable=False),
        sa.Column("phone_enc", sa.LargeBinary),
        sa.Column("phone_hash", sa.String(64)),
        sa.Column("note_enc", sa.LargeBinary),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_verification_people"),
        sa.UniqueConstraint("household_id", "name_hash", name="uq_verification_people_name"),
        sa.ForeignKeyConstraint(
            ["household_id"], ["verification_households.id"],
            name="fk_verification_people_household_id_verification_households",
        ),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"], name="fk_verification_people_compound_id_compounds"
        ),
    )
    op.create_index("ix_verification_people_compound_id", "verification_people", ["compound_id"])
    op.create_index("ix_verification_people_name_hash", "verification_people", ["name_hash"])
    op.create_index("ix_verification_people_phone_hash", "verification_people", ["phone_hash"])
    op.create_table(
        "verification_history",
        sa.Column("id", _BIGID, primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("compound_id", sa.Integer, nullable=False),
        sa.Column("household_id", sa.Integer),
        sa.Column("person_id", sa.Integer),
        sa.Column("details", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_verification_history"),
    )
    op.create_index(
        "ix_verification_history_compound_id", "verification_history", ["compound_id"]
    )
    op.create_index("ix_verification_history_person_id", "verification_history", ["person_id"])
    op.create_table(
        "verification_codes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("household_id", sa.Integer, nullable=False),
        sa.Column("compound_id", sa.Integer, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("issued_by", sa.String(255), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_verification_codes"),
        sa.UniqueConstraint("code_hash", name="uq_verification_codes_code_hash"),
        sa.ForeignKeyConstraint(
            ["household_id"], ["verification_households.id"],
            name="fk_verification_codes_household_id_verification_households",
        ),
    )
    op.create_index("ix_verification_codes_household_id", "verification_codes", ["household_id"])
    op.create_table(
        "verification_links",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("person_id", sa.Integer, nullable=False),
        sa.Column("compound_id", sa.Integer, nullable=False),
        sa.Column("household_id", sa.Integer, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("linked_by", sa.String(255), nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_verification_links"),
        sa.UniqueConstraint("person_id", name="uq_verification_links_person_id"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["verification_people.id"],
            name="fk_verification_links_person_id_verification_people",
        ),
    )
    op.create_table(
        "verification_members",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("compound_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("deadline", UTCDateTime()),
        sa.Column("next_action_at", UTCDateTime()),
        sa.Column("reminders_sent", sa.Integer, nullable=False),
        sa.Column("locked_until", UTCDateTime()),
        sa.Column("failures_since", UTCDateTime()),
        sa.Column("person_id", sa.Integer),
        sa.Column("household_id", sa.Integer),
        sa.Column("adopted", sa.Boolean, nullable=False),
        sa.Column("prompted_at", UTCDateTime()),
        sa.Column("notice_key", sa.String(64)),
        sa.Column("removal_reason", sa.String(64)),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.Column("verified_at", UTCDateTime()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_verification_members"),
        sa.UniqueConstraint("compound_id", "user_id", name="uq_verification_members_user"),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"],
            name="fk_verification_members_compound_id_compounds",
        ),
    )
    op.create_index(
        "ix_verification_members_due", "verification_members", ["state", "next_action_at"]
    )
    op.create_index(
        "ix_verification_members_compound_state", "verification_members", ["compound_id", "state"]
    )
    op.create_index(
        "ix_verification_members_household_id", "verification_members", ["household_id"]
    )
    op.create_index("ix_verification_members_person_id", "verification_members", ["person_id"])
    op.create_table(
        "verification_attempts",
        sa.Column("id", _BIGID, primary_key=True),
        sa.Column("compound_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_verification_attempts"),
    )
    op.create_index(
        "ix_verification_attempts_user_at", "verification_attempts", ["user_id", "at"]
    )


def downgrade() -> None:
    for table in (
        "verification_attempts", "verification_members", "verification_links",
        "verification_codes", "verification_history", "verification_people",
        "verification_households",
    ):
        op.drop_table(table)

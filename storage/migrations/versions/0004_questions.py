"""Questions: residents' questions, their flags, weekly digests.

Revision ID: 0004
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from linli.storage.types import UTCDateTime

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("compound_id", sa.Integer, nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("asker", sa.String(255), nullable=False),
        sa.Column("asker_flat", sa.String(64)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("asked_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("escalate_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("next_check_at", UTCDateTime()),
        sa.Column("closed_at", UTCDateTime()),
        sa.Column("answered_by", sa.String(255)),
        sa.Column("answer_kind", sa.String(16)),
        sa.Column("answer_event_id", sa.String(255)),
        sa.Column("resident_replies", sa.Integer, nullable=False),
        sa.Column("last_resident_reply_at", UTCDateTime()),
        sa.Column("last_resident_reply", sa.Text),
        sa.Column("rating", sa.String(8)),
        sa.PrimaryKeyConstraint("id", name="pk_questions"),
        sa.UniqueConstraint("room_id", "event_id", name="uq_questions_room_id_event_id"),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"], name="fk_questions_compound_id_compounds"
        ),
    )
    op.create_index("ix_questions_state_next_check_at", "questions", ["state", "next_check_at"])
    op.create_index("ix_questions_compound_id_asked_at", "questions", ["compound_id", "asked_at"])
    op.create_index("ix_questions_room_id_asker", "questions", ["room_id", "asker"])
    op.create_index("ix_questions_answer_event_id", "questions", ["answer_event_id"])
    op.create_table(
        "question_flags",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("question_id", _ID, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("room_id", sa.String(255)),
        sa.Column("event_id", sa.String(255)),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("posted_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_question_flags"),
        sa.UniqueConstraint("question_id", "level", name="uq_question_flags_question_id_level"),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name="fk_question_flags_question_id_questions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_question_flags_event_id", "question_flags", ["event_id"])
    op.create_table(
        "question_digests",
        sa.Column("station_id", sa.Integer, nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "week", name="pk_question_digests"),
    )


def downgrade() -> None:
    for table in ("question_digests", "question_flags", "questions"):
        op.drop_table(table)

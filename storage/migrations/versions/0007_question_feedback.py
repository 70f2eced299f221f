"""Question detection: why each question was taken as one, the officers' corrections, and
models retrained per deployment.

Revision ID: 0007
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from linli.storage.types import UTCDateTime

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "question_detections",
        sa.Column("question_id", _ID, primary_key=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("urgent_score", sa.Float),
        sa.PrimaryKeyConstraint("question_id", name="pk_question_detections"),
    )
    op.create_table(
        "question_feedback",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("compound_id", sa.Integer, nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("urgent", sa.Boolean),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("message_at", UTCDateTime(), nullable=False),
        sa.Column("question_id", _ID),
        sa.Column("given_by", sa.String(255), nullable=False),
        sa.Column("source_event_id", sa.String(255)),
        sa.Column("given_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_question_feedback"),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"], name="fk_question_feedback_compound_id_compounds",
        ),
        sa.UniqueConstraint("room_id", "event_id", name="uq_question_feedback_room_id_event_id"),
    )
    op.create_index(
        "ix_question_feedback_compound_id_message_at", "question_feedback",
        ["compound_id", "message_at"],
    )
    op.create_table(
        "question_models",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("examples", sa.Integer, nullable=False),
        sa.Column("feedback", sa.Integer, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_question_models"),
    )


def downgrade() -> None:
    op.drop_table("question_models")
    op.drop_index("ix_question_feedback_compound_id_message_at", "question_feedback")
    op.drop_table("question_feedback")
    op.drop_table("question_detections")

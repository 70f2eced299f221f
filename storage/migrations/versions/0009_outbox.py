"""Effects on the homeserver recorded in the unit of work that decided them and carried out
once it commits, outside it: a unit no longer holds SQLite's write lock across its calls to
the homeserver, and an effect a crash or an outage interrupted is carried out later from its
row (bot/runtime/outbox.py).

Revision ID: 0009_outbox
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from linli.storage.types import UTCDateTime

revision = "0009_outbox"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_effects",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("cause", sa.String(400), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_try_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pending_effects"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_pending_effects_target", "pending_effects", ["target", "id"])
    op.create_index("ix_pending_effects_next_try_at", "pending_effects", ["next_try_at"])


def downgrade() -> None:
    op.drop_index("ix_pending_effects_next_try_at", "pending_effects")
    op.drop_index("ix_pending_effects_target", "pending_effects")
    op.drop_table("pending_effects")

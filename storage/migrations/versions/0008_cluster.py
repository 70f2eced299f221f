"""Several bot processes on one PostgreSQL database: the processes that run, with their
heartbeats, and which process owns each compound until when (a lease with an epoch that rises
at every change of owner).

Revision ID: 0008_cluster
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from linli.storage.types import UTCDateTime

revision = "0008_cluster"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_processes",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("web_port", sa.Integer),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cluster_processes"),
    )
    op.create_table(
        "compound_leases",
        sa.Column("compound_id", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(64)),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("acquired_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("compound_id", name="pk_compound_leases"),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"], name="fk_compound_leases_compound_id_compounds",
        ),
    )
    op.create_index("ix_compound_leases_owner", "compound_leases", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_compound_leases_owner", "compound_leases")
    op.drop_table("compound_leases")
    op.drop_table("cluster_processes")

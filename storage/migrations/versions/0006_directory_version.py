"""Directory version: a counter that every change to stations, compounds or staff raises.

The running bot reads it (one row) before it handles each sync batch and reloads its
directory when it moved, so a compound, a staff grant or a setting written by the CLI or the
dashboard is known before the next event is handled. Triggers raise it, so every writer is
covered, whatever the program. On PostgreSQL the trigger also sends a NOTIFY on
``linli_directory``.

Revision ID: 0006
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("stations", "compounds", "staff")


def upgrade() -> None:
    op.create_table(
        "directory_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO directory_version (id, version) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION linli_directory_changed() RETURNS trigger AS $$
            BEGIN
                UPDATE directory_version SET version = version + 1 WHERE id = 1;
                PERFORM pg_notify('linli_directory', '');
                RETURN NULL;
            END
            $$ LANGUAGE plpgsql
            """
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_directory_changed AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION linli_directory_changed()"
            )
    else:
        for table in TABLES:
            for action in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_directory_{action.lower()} AFTER {action} "
                    f"ON {table} BEGIN "
                    "UPDATE directory_version SET version = version + 1 WHERE id = 1; END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_directory_changed ON {table}")
        op.execute("DROP FUNCTION IF EXISTS linli_directory_changed()")
    else:
        for table in TABLES:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_directory_{action}")
    op.drop_table("directory_version")

"""Persistence: SQLAlchemy tables, Alembic migrations and the repositories that hand domain
objects back to the services. SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg)
is used by URL."""

"""Repositories: each hands back domain objects, never ORM rows."""

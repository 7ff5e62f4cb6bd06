"""Alembic environment and versions; installed as hramba.migrations."""

"""Alembic environment of schema ``profiles``."""

from services.profiles_api.metadata import metadata
from shared.migrations import run_env

run_env(metadata)

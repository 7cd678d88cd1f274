"""Alembic environment of schema ``dialogue``."""

from services.dialogue_api.metadata import metadata
from shared.migrations import run_env

run_env(metadata)

"""The declarative base, outbox and audit log of schema ``profiles``."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.profiles_api import SCHEMA, SERVICE
from shared.audit import AuditLog, audit_table
from shared.db import schema_metadata
from shared.idempotency import idempotency_table
from shared.outbox import OutboxWriter, outbox_table


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


outbox = outbox_table(Base.metadata)
idempotency_keys = idempotency_table(Base.metadata)
events = OutboxWriter(outbox, source=SERVICE)
audit_log_table = audit_table(Base.metadata)
audit_log = AuditLog(audit_log_table)

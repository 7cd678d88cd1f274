"""The audit log: who changed what, when, and how; one table per schema, written with the change.

``audit_table(metadata)`` declares the ``audit_log`` table in a service's schema (``table``).
Every ORM model of that schema is then recorded by the sessions of a ``shared.db.Database``
that audits (all do unless built with ``audit=False``): an ``after_flush`` listener on the
database's own session class (``listener``) records each insert, update and delete a session
flushes, in the same transaction, so a committed change always has its row and a rolled-back
one has none. Writes the ORM does not see (Core ``INSERT ... ON CONFLICT``, ``COPY``) are
recorded by the service with ``AuditLog.record`` (``recording``).

A model says how it is recorded with ``__audit__``: an ``Audited`` (the resource's name, the
attribute holding its city, fields to redact or to ignore) or ``NOT_AUDITED`` for bookkeeping
and derived tables. A model of an audited schema that says nothing is recorded under its
table's name.

Who: the caller of the request (``shared.auth.optional_principal`` sets it), ``anonymous``
for a request without a token, ``system`` outside requests (worker, CLI, seeding). The
request id comes from ``shared.observability``. The log is read through ``query`` (``GET
/v1/audit``, ``shared.audit_router``).
"""

from __future__ import annotations

from shared.audit.listener import audit_sessions, audits
from shared.audit.query import (
    AuditEntry,
    AuditFilter,
    AuditFilterDep,
    audit_filter,
    audit_query,
    search_audit,
)
from shared.audit.recording import AuditLog, current_actor, jsonable
from shared.audit.table import (
    ANONYMOUS,
    MAX_TEXT_LENGTH,
    NOT_AUDITED,
    REDACTED,
    SYSTEM,
    Action,
    Audited,
    audit_table,
    audit_table_of,
)

__all__ = [
    "ANONYMOUS",
    "MAX_TEXT_LENGTH",
    "NOT_AUDITED",
    "REDACTED",
    "SYSTEM",
    "Action",
    "AuditEntry",
    "AuditFilter",
    "AuditFilterDep",
    "AuditLog",
    "Audited",
    "audit_filter",
    "audit_query",
    "audit_sessions",
    "audit_table",
    "audit_table_of",
    "audits",
    "current_actor",
    "jsonable",
    "search_audit",
]

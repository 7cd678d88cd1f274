"""The log's entries are the same in every service: the shared model."""

from shared.audit import AuditEntry

__all__ = ["AuditEntry"]

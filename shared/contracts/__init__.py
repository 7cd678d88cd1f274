"""Pydantic models that cross service lines: themes, city references, outbox events."""

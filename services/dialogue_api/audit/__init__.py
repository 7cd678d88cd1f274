"""The audit log of schema ``dialogue``: every change, who made it and when (admins only)."""

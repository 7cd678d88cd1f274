"""The audit log of schema ``profiles``: every change, who made it and when (admins only)."""

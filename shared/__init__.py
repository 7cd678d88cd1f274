"""The platform's shared kernel: contracts, settings, database, auth, errors, pagination."""

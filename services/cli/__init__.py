"""The ``mc2cm`` command line: run, migrate, seed, import, and issue development tokens."""

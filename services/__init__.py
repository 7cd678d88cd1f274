"""The platform's services: profiles API, dialogue API, worker, and the ``mc2cm`` CLI."""

"""The image's ``HEALTHCHECK``: ``python -m services.cli.healthcheck`` exits 0 when the role's
``/healthz`` answers 200 within a few seconds, 1 otherwise.

One image runs every role, each listening somewhere else, so the address is read from
``MC2CM_HEALTHCHECK_URL`` (default ``http://127.0.0.1:8000/healthz``, where the image's APIs
listen; the worker's compose service names its metrics port). Standard library only: the
container engine runs it every half minute, and importing the platform would cost a second of
CPU each time.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/healthz"
TIMEOUT_SECONDS = 3.0


def healthy(url: str, timeout: float = TIMEOUT_SECONDS) -> bool:
    """Whether ``url`` answers 200 within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main() -> int:
    url = os.environ.get("MC2CM_HEALTHCHECK_URL") or DEFAULT_URL
    if healthy(url):
        return 0
    print(f"unhealthy: {url} did not answer 200", file=sys.stderr)  # noqa: T201
    return 1


if __name__ == "__main__":
    sys.exit(main())

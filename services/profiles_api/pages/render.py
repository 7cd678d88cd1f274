"""The templates of profiles' pages (``templates/``), on the shared layout."""

from __future__ import annotations

from shared.pages.layout import PageEnvironment

TEMPLATES = PageEnvironment("services.profiles_api.pages")

"""The templates of the dialogue's pages (``templates/``), on the shared layout."""

from __future__ import annotations

from shared.pages.layout import PageEnvironment

TEMPLATES = PageEnvironment("services.dialogue_api.pages")

"""The dialogue app's client of the profiles API: opened with the app, given to routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from services.dialogue_api.indicators.profiles import ProfilesClient
from shared.settings import Settings


def profiles_lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The part of the app's lifespan that keeps its client of the profiles API."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.profiles = ProfilesClient.from_settings(settings)
        try:
            yield
        finally:
            await app.state.profiles.aclose()

    return lifespan


def _profiles(request: Request) -> ProfilesClient:
    client: ProfilesClient = request.app.state.profiles
    return client


ProfilesDep = Annotated[ProfilesClient, Depends(_profiles)]

"""The caller's view of small counts, as a FastAPI dependency for every read of figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.profiles_api.observations.suppression import Suppression
from shared.auth import MaybePrincipal
from shared.db import SessionDep


async def caller_suppression(
    request: Request, session: SessionDep, principal: MaybePrincipal
) -> Suppression:
    """Which small counts this caller reads as suppressed (``MC2CM_SUPPRESSION_THRESHOLD``)."""
    threshold: int = request.app.state.settings.suppression_threshold
    return await Suppression.load(session, principal, threshold)


SuppressionDep = Annotated[Suppression, Depends(caller_suppression)]

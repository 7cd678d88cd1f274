"""Who reads figures, as a FastAPI dependency of every read of figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.profiles_api.observations.reader import Reader
from shared.auth import MaybePrincipal


async def caller_reader(request: Request, principal: MaybePrincipal) -> Reader:
    """The caller, with the app's ``MC2CM_SUPPRESSION_THRESHOLD``: the service decides from
    them which small counts the caller reads as suppressed."""
    threshold: int = request.app.state.settings.suppression_threshold
    return Reader(principal=principal, suppression_threshold=threshold)


ReaderDep = Annotated[Reader, Depends(caller_reader)]

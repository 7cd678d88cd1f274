"""Who reads figures: what every read of figures receives, so the service applies the rules
of what that caller may see (``suppression``) and the router never has to."""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import Principal


@dataclass(frozen=True)
class Reader:
    """The caller of a read of figures, and the small-number threshold it is answered under."""

    #: ``None`` for a request without a token.
    principal: Principal | None
    #: ``MC2CM_SUPPRESSION_THRESHOLD``: breakdowns of counts below it are small.
    suppression_threshold: int

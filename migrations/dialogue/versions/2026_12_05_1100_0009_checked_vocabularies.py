"""status and kind columns refuse values outside their vocabularies (a CHECK per column,
ck_<table>_<column>; the notifications' channel and status had theirs already)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "dialogue"
_RECOMMENDATION = ("proposed", "adopted", "in_progress", "implemented", "dropped")
_ACTION = ("planned", "in_progress", "done", "cancelled")
#: (table, column, the values it accepts) of every status and kind column, as of this revision.
VOCABULARIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "event",
        "type",
        (
            "reconnaissance_mission",
            "expert_meeting",
            "technical_meeting",
            "peer_to_peer",
            "thematic_workshop",
            "stakeholder_workshop",
            "political_conference",
            "webinar",
        ),
    ),
    ("event", "status", ("planned", "confirmed", "held", "cancelled")),
    (
        "person",
        "role",
        (
            "mayor",
            "political_official",
            "technical_focal_point",
            "expert",
            "partner_staff",
            "stakeholder",
        ),
    ),
    ("exchange", "kind", ("offer", "request")),
    ("exchange", "status", ("open", "matched", "closed")),
    ("outcome", "kind", ("minutes", "report", "presentation", "document", "recording")),
    ("recommendation", "governance_level", ("local", "national", "international")),
    ("recommendation", "status", _RECOMMENDATION),
    (
        "registration",
        "status",
        ("invited", "registered", "waitlisted", "declined", "cancelled", "attended"),
    ),
    ("action", "status", _ACTION),
    ("evidence", "role", ("motivates", "measures")),
    ("recommendation_status_change", "old_status", _RECOMMENDATION),
    ("recommendation_status_change", "status", _RECOMMENDATION),
    ("action_update", "old_status", _ACTION),
    ("action_update", "status", _ACTION),
)


def upgrade() -> None:
    for table, column, values in VOCABULARIES:
        op.create_check_constraint(
            op.f(f"ck_{table}_{column}"),
            table,
            sa.column(column).in_(values),
            schema=SCHEMA,
        )


def downgrade() -> None:
    for table, column, _values in VOCABULARIES:
        op.drop_constraint(op.f(f"ck_{table}_{column}"), table, type_="check", schema=SCHEMA)

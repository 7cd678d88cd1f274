"""Who may call each operation of both APIs: the authorisation matrix, in one place.

One line per operation, keyed by service and the operation's stable ``operation_id``; the value
names the callers the operation serves (it answers them 2xx):

- ``anonymous``: no token;
- ``viewer``: a viewer's token;
- ``city_editor``: an editor whose token names the city the object belongs to (the city in
  the path or body for creations);
- ``other_editor``: an editor of another city only;
- ``admin``: a network administrator.

Reads that every caller may make but that filter what they return (unpublished events,
unlisted people, names of who changed what) are listed for everyone: the filtering is an
object-level rule (``services/dialogue_api/access.py``), not a matter of the operation.

The matrix is published in each operation of the OpenAPI documents (``x-mc2cm-access``) and
``tests/shared/test_authorisation_matrix.py`` proves it on every operation for every caller:
an operation missing here, or a line naming no operation, fails that test. Strings only:
``shared/`` imports nothing from ``services/``.
"""

from __future__ import annotations

from typing import Final, Literal

Caller = Literal["anonymous", "viewer", "city_editor", "other_editor", "admin"]

#: Every caller, from the least to the most trusted.
CALLERS: Final[tuple[Caller, ...]] = (
    "anonymous",
    "viewer",
    "city_editor",
    "other_editor",
    "admin",
)

#: Everyone, with or without a token.
EVERYONE: Final[frozenset[Caller]] = frozenset(CALLERS)
#: Anyone with a token.
TOKEN: Final[frozenset[Caller]] = frozenset(c for c in CALLERS if c != "anonymous")
#: Editors of any city, and administrators.
EDITORS: Final[frozenset[Caller]] = frozenset({"city_editor", "other_editor", "admin"})
#: Editors of the object's city, and administrators.
CITY: Final[frozenset[Caller]] = frozenset({"city_editor", "admin"})
#: Network administrators only.
ADMIN: Final[frozenset[Caller]] = frozenset({"admin"})

PROFILES: Final = "profiles"
DIALOGUE: Final = "dialogue"

# fmt: off
ACCESS: Final[dict[tuple[str, str], frozenset[Caller]]] = {
    # --- profiles ------------------------------------------------------------------------
    (PROFILES, "healthz"):                        EVERYONE,
    (PROFILES, "readyz"):                         EVERYONE,
    (PROFILES, "metrics"):                        EVERYONE,
    (PROFILES, "api_index"):                      EVERYONE,
    (PROFILES, "list_cities"):                    EVERYONE,
    (PROFILES, "create_city"):                    ADMIN,
    (PROFILES, "get_city"):                       EVERYONE,
    (PROFILES, "update_city"):                    CITY,
    (PROFILES, "delete_city"):                    ADMIN,
    (PROFILES, "list_themes"):                    EVERYONE,
    (PROFILES, "list_indicators"):                EVERYONE,
    (PROFILES, "create_indicator"):               ADMIN,
    (PROFILES, "get_indicator"):                  EVERYONE,
    (PROFILES, "update_indicator"):               ADMIN,
    (PROFILES, "delete_indicator"):               ADMIN,
    (PROFILES, "list_sources"):                   EVERYONE,
    (PROFILES, "create_source"):                  EDITORS,
    (PROFILES, "get_source"):                     EVERYONE,
    (PROFILES, "update_source"):                  ADMIN,
    (PROFILES, "delete_source"):                  ADMIN,
    (PROFILES, "list_observations"):              EVERYONE,
    (PROFILES, "upsert_observations"):            CITY,
    (PROFILES, "get_observation"):                EVERYONE,
    (PROFILES, "delete_observation"):             CITY,
    (PROFILES, "observation_history"):            TOKEN,
    (PROFILES, "import_figures"):                 CITY,
    (PROFILES, "get_sdmx_structure"):             EVERYONE,
    (PROFILES, "list_sections"):                  EVERYONE,
    (PROFILES, "get_section"):                    EVERYONE,
    (PROFILES, "write_section"):                  CITY,
    (PROFILES, "delete_section"):                 CITY,
    (PROFILES, "transition_section"):             CITY,
    (PROFILES, "list_assessment_frameworks"):     EVERYONE,
    (PROFILES, "publish_assessment_framework"):   ADMIN,
    (PROFILES, "get_assessment_framework"):       EVERYONE,
    (PROFILES, "list_assessments"):               EVERYONE,
    (PROFILES, "create_assessment"):              CITY,
    (PROFILES, "get_assessment"):                 EVERYONE,
    (PROFILES, "transition_assessment"):          CITY,
    (PROFILES, "list_assessment_answers"):        EVERYONE,
    (PROFILES, "get_assessment_answer"):          EVERYONE,
    (PROFILES, "write_assessment_answer"):        CITY,
    (PROFILES, "list_assessment_history"):        EVERYONE,
    (PROFILES, "compare_assessments"):            EVERYONE,
    (PROFILES, "get_assessment_compare_chart"):   EVERYONE,
    (PROFILES, "get_assessment_chart"):           EVERYONE,
    (PROFILES, "list_assessment_gaps"):           EVERYONE,
    (PROFILES, "list_challenges"):                EVERYONE,
    (PROFILES, "create_challenge"):               CITY,
    (PROFILES, "get_challenge"):                  EVERYONE,
    (PROFILES, "update_challenge"):               CITY,
    (PROFILES, "delete_challenge"):               CITY,
    (PROFILES, "get_profile"):                    EVERYONE,
    (PROFILES, "compare_cities"):                 EVERYONE,
    (PROFILES, "create_edition"):                 CITY,
    (PROFILES, "list_editions"):                  EVERYONE,
    (PROFILES, "get_edition"):                    EVERYONE,
    (PROFILES, "withdraw_edition"):               ADMIN,
    (PROFILES, "edition_changes"):                EVERYONE,
    (PROFILES, "edition_citation"):               EVERYONE,
    (PROFILES, "get_edition_report"):             EVERYONE,
    (PROFILES, "get_edition_report_html"):        EVERYONE,
    (PROFILES, "get_edition_report_pdf"):         EVERYONE,
    (PROFILES, "get_indicator_chart"):            EVERYONE,
    (PROFILES, "get_report_preview"):             EVERYONE,
    (PROFILES, "get_compare_chart"):              EVERYONE,
    (PROFILES, "list_aggregates"):                EVERYONE,
    (PROFILES, "list_derived_values"):            EVERYONE,
    (PROFILES, "coverage_matrix"):                EVERYONE,
    (PROFILES, "list_aggregation_runs"):          ADMIN,
    (PROFILES, "list_audit"):                     ADMIN,
    (PROFILES, "index_page"):                     EVERYONE,
    (PROFILES, "city_page"):                      EVERYONE,
    (PROFILES, "city_editions_page"):             EVERYONE,
    (PROFILES, "compare_page"):                   EVERYONE,
    # --- dialogue ------------------------------------------------------------------------
    (DIALOGUE, "healthz"):                        EVERYONE,
    (DIALOGUE, "readyz"):                         EVERYONE,
    (DIALOGUE, "metrics"):                        EVERYONE,
    (DIALOGUE, "api_index"):                      EVERYONE,
    (DIALOGUE, "list_events"):                    EVERYONE,
    (DIALOGUE, "create_event"):                   CITY,
    (DIALOGUE, "get_event"):                      EVERYONE,
    (DIALOGUE, "update_event"):                   CITY,
    (DIALOGUE, "delete_event"):                   CITY,
    (DIALOGUE, "list_agenda_items"):              EVERYONE,
    (DIALOGUE, "create_agenda_item"):             CITY,
    (DIALOGUE, "get_agenda_item"):                EVERYONE,
    (DIALOGUE, "update_agenda_item"):             CITY,
    (DIALOGUE, "delete_agenda_item"):             CITY,
    (DIALOGUE, "list_people"):                    EVERYONE,
    (DIALOGUE, "create_person"):                  CITY,
    (DIALOGUE, "get_person"):                     EVERYONE,
    (DIALOGUE, "update_person"):                  CITY,
    (DIALOGUE, "delete_person"):                  CITY,
    (DIALOGUE, "list_registrations"):             EVERYONE,
    (DIALOGUE, "create_registration"):            CITY,
    (DIALOGUE, "get_registration"):               EVERYONE,
    (DIALOGUE, "update_registration"):            CITY,
    (DIALOGUE, "list_outcomes"):                  EVERYONE,
    (DIALOGUE, "create_outcome"):                 CITY,
    (DIALOGUE, "get_outcome"):                    EVERYONE,
    (DIALOGUE, "update_outcome"):                 CITY,
    (DIALOGUE, "delete_outcome"):                 CITY,
    (DIALOGUE, "list_recommendations"):           EVERYONE,
    (DIALOGUE, "create_recommendation"):          CITY,
    (DIALOGUE, "get_recommendation"):             EVERYONE,
    (DIALOGUE, "update_recommendation"):          CITY,
    (DIALOGUE, "delete_recommendation"):          CITY,
    (DIALOGUE, "list_recommendation_history"):    EVERYONE,
    (DIALOGUE, "add_recommendation_evidence"):    CITY,
    (DIALOGUE, "remove_recommendation_evidence"): CITY,
    (DIALOGUE, "list_actions"):                   EVERYONE,
    (DIALOGUE, "create_action"):                  CITY,
    (DIALOGUE, "get_action"):                     EVERYONE,
    (DIALOGUE, "update_action"):                  CITY,
    (DIALOGUE, "delete_action"):                  CITY,
    (DIALOGUE, "list_action_updates"):            EVERYONE,
    (DIALOGUE, "report_action_progress"):         CITY,
    (DIALOGUE, "list_exchanges"):                 EVERYONE,
    (DIALOGUE, "create_exchange"):                CITY,
    (DIALOGUE, "propose_matches"):                EVERYONE,
    (DIALOGUE, "get_exchange"):                   EVERYONE,
    (DIALOGUE, "update_exchange"):                CITY,
    (DIALOGUE, "delete_exchange"):                CITY,
    (DIALOGUE, "confirm_match"):                  CITY,
    (DIALOGUE, "list_matches"):                   EVERYONE,
    (DIALOGUE, "get_event_calendar"):             EVERYONE,
    (DIALOGUE, "get_calendar_feed"):              EVERYONE,
    (DIALOGUE, "list_cities"):                    EVERYONE,
    (DIALOGUE, "get_city"):                       EVERYONE,
    (DIALOGUE, "list_assessment_gaps"):           EVERYONE,
    (DIALOGUE, "create_webhook"):                 ADMIN,
    (DIALOGUE, "list_webhooks"):                  ADMIN,
    (DIALOGUE, "get_webhook"):                    ADMIN,
    (DIALOGUE, "update_webhook"):                 ADMIN,
    (DIALOGUE, "delete_webhook"):                 ADMIN,
    (DIALOGUE, "list_notifications"):             ADMIN,
    (DIALOGUE, "list_audit"):                     ADMIN,
    (DIALOGUE, "events_page"):                    EVERYONE,
    (DIALOGUE, "get_notification"):               ADMIN,
}
# fmt: on

_DESCRIPTIONS: Final[dict[Caller, str]] = {
    "anonymous": "anyone without a token",
    "viewer": "viewers",
    "city_editor": "editors of the city concerned",
    "other_editor": "editors of other cities",
    "admin": "administrators",
}


def callers_of(service: str, operation_id: str) -> tuple[Caller, ...] | None:
    """The callers ``operation_id`` of ``service`` serves, most open first; ``None`` if the
    matrix has no line for it."""
    allowed = ACCESS.get((service, operation_id))
    if allowed is None:
        return None
    return tuple(caller for caller in CALLERS if caller in allowed)


def describe(callers: tuple[Caller, ...]) -> str:
    """One sentence saying who may call an operation, for its OpenAPI description."""
    if set(callers) == EVERYONE:
        return "**Access:** everyone, with or without a token."
    names = [_DESCRIPTIONS[caller] for caller in callers]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"**Access:** {listed}."

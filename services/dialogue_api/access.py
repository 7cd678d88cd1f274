"""Who may see and change what in the dialogue: the rules every domain applies.

- Anonymous callers see public events and what hangs from them (agenda, outcomes,
  recommendations, actions), exchanges, and people who consented to be listed.
- Any token (viewer and up) also sees events that are not public.
- Personal data: a person who did not consent to be listed is shown only to admins and to
  editors of the person's city; anyone else gets 404 for them and never sees them in a list
  (registrations, speakers, owners, contacts included). E-mail addresses of listed people are
  shown to others only when they consented to be contacted.
- Changes: admins for the whole network; an editor for the cities of their token only:
  events hosted by their city (with what hangs from them), people of their city, registrations
  of people of their city, actions and exchanges of their city.
"""

from __future__ import annotations

from shared.auth import Principal, Role


def sees_unpublished(principal: Principal | None) -> bool:
    """Whether the caller sees events that are not public (any token does)."""
    return principal is not None


def manages_city(principal: Principal | None, city_code: str | None) -> bool:
    """Whether the caller administers the network or edits ``city_code``."""
    if principal is None:
        return False
    if principal.is_admin:
        return True
    return principal.role is Role.editor and city_code is not None and city_code in principal.cities


def sees_person(principal: Principal | None, *, city_code: str | None, listed: bool) -> bool:
    """Whether the caller may see a person of ``city_code`` at all."""
    return listed or manages_city(principal, city_code)


def sees_contact(
    principal: Principal | None, *, city_code: str | None, listed: bool, contactable: bool
) -> bool:
    """Whether the caller may see a person's e-mail address."""
    return manages_city(principal, city_code) or (listed and contactable)

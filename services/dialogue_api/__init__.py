"""The dialogue service: events, people, registrations, recommendations, follow-up, exchanges."""

SERVICE = "dialogue"
SCHEMA = "dialogue"

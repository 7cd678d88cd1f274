"""The profiles service: cities, indicator catalogue, observations, narrative, challenges."""

SERVICE = "profiles"
SCHEMA = "profiles"

"""Journeys that exist only for tests: the welcome flow with waits of seconds, for real-time runs."""

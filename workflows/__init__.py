"""Deterministic workflow code: the journey base and the types journeys exchange with activities."""

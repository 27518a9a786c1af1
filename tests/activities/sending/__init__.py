"""Templates and local time."""

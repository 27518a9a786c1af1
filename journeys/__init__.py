"""Example journeys bundled with Overture (the default of OVERTURE_JOURNEY_MODULES)."""

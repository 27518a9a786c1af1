"""The journey bench: run journeys under the time-skipping server, play events, read what was sent."""

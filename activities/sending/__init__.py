"""Sending policy: addresses, consent, caps, quiet hours and templates, and what providers' feedback means."""

"""Entry points: settings, the HTTP API, the event router, the CLI and the embedded dev stack."""

"""Entry points, one sub-package per job: `config/` (settings, logs), `runtime/` (the composition
root and the worker), `routing/` (events to journeys), `api/` (HTTP), `cli/` (the `overture`
command and the Python client), `dev/` (the embedded stack, the simulator) and `testing/` (the
public journey bench)."""

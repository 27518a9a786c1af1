"""The workflow sandbox journeys run in, shared by the worker and the replay tests.

Temporal re-imports a workflow's modules in a fresh sandbox for every instance, so that
module-level state cannot leak between runs and non-deterministic calls in workflow code
(`datetime.now()`, `random`) fail the step instead of silently breaking replay. The `workflows`
package is deterministic (standard library and temporalio only, no module-level state), so it is
passed through instead: imported once per process, not once per journey instance. Of the heavy
imports, pydantic is already passed through by the SDK's defaults; structlog never enters the
sandbox (only activities log with it).

Journey modules (`OVERTURE_JOURNEY_MODULES`, a team's own code) stay sandboxed by default: the
sandbox guards exactly that code, and passing it through would stop it from catching a journey's
`datetime.now()`. `OVERTURE_WORKER_SHARED_JOURNEY_MODULES=true` passes them through too, for
2-4 ms less CPU per instance (BENCHMARKS.md). Without it, per instance the sandbox re-imports only
the journey's own modules (its package and its file); nothing else is re-executed.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSTHROUGH_MODULES = ("workflows",)


def journey_workflow_runner(shared_modules: Sequence[str] = ()) -> SandboxedWorkflowRunner:
    """The sandboxed runner with the deterministic `workflows` package passed through, and
    `shared_modules` (journey modules a team chose to share between instances) as well."""
    modules = (*PASSTHROUGH_MODULES, *shared_modules)
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*modules)
    return SandboxedWorkflowRunner(restrictions=restrictions)

"""The workflow sandbox journeys run in, shared by the worker and the replay tests.

Temporal re-imports a workflow's modules in a fresh sandbox for every instance, so that
module-level state cannot leak between runs and non-deterministic calls in workflow code
(`datetime.now()`, `random`) fail the step instead of silently breaking replay. The `workflows`
package is deterministic (standard library and temporalio only, no module-level state), so it is
passed through instead: imported once per process, not once per journey instance. Of the heavy
imports, pydantic is already passed through by the SDK's defaults; structlog never enters the
sandbox (only activities log with it).

Journey modules (`OVERTURE_JOURNEY_MODULES`, a team's own code) are passed through by the worker
too (`OVERTURE_WORKER_SHARED_JOURNEY_MODULES`, default true): re-importing them per instance
was a third of the worker's CPU per journey (BENCHMARKS.md). The guard on journey code lives
where it is written and tested instead: `JourneyBench` (journey tests, `overture simulate`)
always runs it sandboxed, so `datetime.now()` or `random` in a journey fails its test. With the
setting false, the worker keeps that sandbox too and re-imports only the journey's own modules
(its package and its file) per instance.
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

"""The workflow sandbox journeys run in, shared by the worker and the replay tests.

Temporal re-imports a workflow's modules in a fresh sandbox for every run, so that module-level
state cannot leak between runs. The `workflows` package is deterministic (standard library and
temporalio only, no module-level state), so it is passed through instead: imported once per
process, not once per journey started. Journey modules (`journeys`, a team's own package) are
still re-imported per run, as the sandbox intends.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSTHROUGH_MODULES = ("workflows",)


def journey_workflow_runner() -> SandboxedWorkflowRunner:
    """The sandboxed runner with the deterministic `workflows` package passed through."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    return SandboxedWorkflowRunner(restrictions=restrictions)

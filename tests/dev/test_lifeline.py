"""A child started with `die_with_parent` does not outlive its parent, even one killed without
warning, nor one that died before the child could ask to be told."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from tests.helpers.dev_stack import alive
from tests.helpers.support import REPO_ROOT, eventually

ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

# Starts `sleep` as a child that dies with it, prints the child's pid, then kills itself.
PARENT = """
import os, signal, subprocess
from starter.dev.lifeline import die_with_parent
child = subprocess.Popen(["sleep", "120"], preexec_fn=die_with_parent(signal.SIGKILL))
print(child.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""

# The parent dies before the child's prctl: the child is some other process's by then (here a
# second fork stands in for the re-parenting), and must exit instead of running unwatched.
TOO_LATE = """
import os, signal, time
from starter.dev.lifeline import die_with_parent
arrange = die_with_parent(signal.SIGKILL)  # for children of this process
if os.fork() == 0:
    if os.fork() == 0:
        arrange()  # in a grandchild
        time.sleep(120)
        os._exit(0)
    os._exit(os.waitstatus_to_exitcode(os.wait()[1]))
print(os.waitstatus_to_exitcode(os.wait()[1]))
"""


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", code]
    return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=60, check=False)


async def test_the_child_dies_when_its_parent_is_killed() -> None:
    parent = await asyncio.to_thread(run_python, PARENT)
    child = int(parent.stdout.split()[0])
    assert parent.returncode == -9

    async def gone() -> bool:
        return not alive(child)

    await eventually(gone, timeout=10)


async def test_a_child_whose_parent_died_before_prctl_exits() -> None:
    result = await asyncio.to_thread(run_python, TOO_LATE)

    assert result.stdout.strip() == "1", result.stderr

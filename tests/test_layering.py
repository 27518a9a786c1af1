"""The layers stay apart: checked on the source (ast), so a stray import fails here, not in a
replay or a deploy.

- `workflows/` is deterministic journey code: the standard library and temporalio only.
- `journeys/` (the bundled examples) use the public journey API: `workflows`, the standard
  library and temporalio.
- `activities/` is all I/O but knows nothing of the entry points (`starter`, `worker`), the
  example journeys or the tests; its store (`activities/store/`) knows nothing of providers.
- `starter/routing/` does not import the HTTP API, and nothing outside `tests/` imports the tests.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.support import REPO_ROOT


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """Every module `path` imports, absolute, with its line (relative imports resolved)."""
    package = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])
            elif node.module is not None:
                yield node.lineno, node.module


def violations(folder: str, allowed: tuple[str, ...] = (), forbidden: tuple[str, ...] = ()) -> list[str]:
    """`file:line imports module` for each import under `folder` that is not allowed (when an
    allow-list is given: those, the standard library and `__future__`) or is forbidden."""
    found = []
    for path in sorted((REPO_ROOT / folder).rglob("*.py")):
        for line, module in imports_of(path):
            top = module.split(".")[0]
            if allowed and not (top in sys.stdlib_module_names or top == "__future__" or _within(module, allowed)):
                found.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {module}")
            if _within(module, forbidden):
                found.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {module}")
    return found


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(f"{prefix}.") for prefix in prefixes)


@pytest.mark.parametrize(
    ("folder", "allowed", "forbidden"),
    [
        ("workflows", ("temporalio", "workflows"), ()),
        ("journeys", ("temporalio", "workflows"), ()),
        ("activities", (), ("starter", "worker", "journeys", "tests")),
        ("activities/store", (), ("activities.providers", "activities.send_message", "activities.journey_support")),
        ("starter/routing", (), ("starter.api", "starter.cli", "starter.dev", "fastapi")),
        ("starter", (), ("tests", "worker")),
    ],
    ids=["workflows", "journeys", "activities", "store", "routing", "starter"],
)
def test_layer_imports(folder: str, allowed: tuple[str, ...], forbidden: tuple[str, ...]) -> None:
    assert violations(folder, allowed, forbidden) == []


def test_the_check_sees_a_stray_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stray = tmp_path / "workflows"
    stray.mkdir()
    (stray / "bad.py").write_text("import datetime\nfrom httpx import AsyncClient\nfrom . import journey\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO_ROOT", tmp_path)

    assert violations("workflows", ("temporalio", "workflows")) == ["workflows/bad.py:2 imports httpx"]

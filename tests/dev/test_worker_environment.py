"""The worker child of `overture dev` resolves exactly the settings its parent resolved: from the
variables the parent passes, the environment and `.env` it inherits, and the same directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from starter.dev.environment import UnsharedDatabase, child_environment, shared_database_url
from tests.helpers.support import REPO_ROOT, make_settings

# Run once as the parent (in the directory of the test's .env), which runs itself as the child
# with `child_environment`, as `overture dev` runs its worker; prints both resolutions.
RESOLVE = """
import json, subprocess, sys
from starter.config.settings import Settings
from starter.dev.environment import child_environment, shared_database_url

def resolved() -> dict:
    settings = Settings.load()
    values = settings.model_dump(mode="json")
    values["state_dir"] = str(settings.state_dir.absolute())
    values["template_dirs"] = [str(path.absolute()) for path in settings.template_dirs]
    values["database_url"] = shared_database_url(settings.database_url)
    smtp = settings.providers.smtp
    secrets = (settings.secret_key, settings.api_key, smtp.password if smtp else None)
    values["secrets"] = [secret.get_secret_value() if secret else None for secret in secrets]
    return values

if sys.argv[1:] == ["child"]:
    print(json.dumps(resolved()))
else:
    environment = child_environment(Settings.load(), {})
    child = subprocess.run(
        [sys.executable, "-P", sys.argv[0], "child"], env=environment, capture_output=True, text=True, check=True
    )
    print(json.dumps({"parent": resolved(), "child": json.loads(child.stdout)}))
"""


def test_the_child_resolves_the_parents_settings(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / ".env").write_text(
        "OVERTURE_QUIET_HOURS=21:00-08:00\n"
        "OVERTURE_FREQUENCY_CAPS=marketing=3/7d\n"
        "OVERTURE_TOPIC_DEFAULTS=marketing=unsubscribed\n"
        "OVERTURE_EMAIL_PROVIDERS=smtp,outbox\n"
        "OVERTURE_SMTP_FROM_ADDRESS=Acme <hello@acme.test>\n"
        "OVERTURE_SMTP_PASSWORD=hunter2\n"
        "OVERTURE_TASK_QUEUE=from-dotenv\n"
    )
    script = tmp_path / "resolve.py"
    script.write_text(RESOLVE)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OVERTURE_")}
    environment.update(
        {
            "PYTHONPATH": str(REPO_ROOT),
            "OVERTURE_STATE_DIR": "state",
            "OVERTURE_DATABASE_URL": "sqlite:///state/overture.db",
            "OVERTURE_TEMPLATE_DIRS": "templates",
            "OVERTURE_JOURNEY_MODULES": "journeys,tests.helpers.journeys",
            "OVERTURE_SECRET_KEY": "s3cret",
            "OVERTURE_DEFAULT_TIMEZONE": "Europe/Vienna",
            "OVERTURE_PROVIDER_ATTEMPTS": "5",
            "OVERTURE_TEMPORAL_TLS": "true",
        }
    )

    completed = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=environment, capture_output=True, text=True, check=False
    )

    assert completed.returncode == 0, completed.stderr
    both = json.loads(completed.stdout)
    assert both["child"] == both["parent"]
    assert both["child"]["database_url"] == f"sqlite:///{tmp_path / 'state' / 'overture.db'}"
    assert both["child"]["task_queue"] == "from-dotenv" and both["child"]["quiet_hours"] is not None
    assert both["child"]["secrets"] == ["s3cret", None, "hunter2"]


def test_the_child_gets_absolute_paths_and_the_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = make_settings(Path("state"), template_dirs=[Path("templates")], database_url="sqlite:///state/o.db")

    environment = child_environment(settings, {"OVERTURE_TEMPORAL_ADDRESS": "127.0.0.1:7999"})

    assert environment["OVERTURE_STATE_DIR"] == str(tmp_path / "state")
    assert environment["OVERTURE_TEMPLATE_DIRS"] == str(tmp_path / "templates")
    assert environment["OVERTURE_DATABASE_URL"] == f"sqlite:///{tmp_path / 'state' / 'o.db'}"
    assert environment["OVERTURE_TEMPORAL_ADDRESS"] == "127.0.0.1:7999"
    assert environment["OVERTURE_EMAIL_PROVIDERS"] == "outbox"


def test_an_in_memory_database_is_refused_with_the_fix() -> None:
    with pytest.raises(UnsharedDatabase, match=r"use a file, e\.g\. sqlite:///"):
        shared_database_url("sqlite://")
    assert shared_database_url("postgresql+asyncpg://u:pw@db/overture") == "postgresql+asyncpg://u:pw@db/overture"

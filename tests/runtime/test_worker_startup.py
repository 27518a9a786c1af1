"""The worker refuses to start on a broken configuration, and says what to fix (no traceback)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starter.config.settings import BUNDLED_TEMPLATES
from tests.helpers.support import free_port, make_settings, overture_command, subprocess_env


async def run_worker(tmp_path: Path, **env: str) -> tuple[int, str]:
    # Nothing listens on this Temporal address: the checks must come before connecting.
    settings = make_settings(tmp_path, temporal_address=f"127.0.0.1:{free_port()}")
    process = await asyncio.create_subprocess_exec(
        *overture_command("worker"),
        env={**subprocess_env(settings), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_an_invalid_template_stops_the_worker_naming_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "templates" / "email"
    broken.mkdir(parents=True)
    (broken / "promo.subject.liquid").write_text("Hi\n{% if customer.id %}no end tag\n")
    (broken / "promo.text.liquid").write_text("Hello")

    code, output = await run_worker(tmp_path, OVERTURE_TEMPLATE_DIRS=f"{tmp_path / 'templates'},{BUNDLED_TEMPLATES}")

    assert code == 2
    assert f"{broken / 'promo.subject.liquid'}:" in output and "Traceback" not in output


async def test_a_provider_without_its_settings_stops_the_worker(tmp_path: Path) -> None:
    code, output = await run_worker(tmp_path, OVERTURE_SMS_PROVIDERS="twilio,outbox")

    assert code == 2
    assert "OVERTURE_TWILIO_ACCOUNT_SID: Field required" in output and "Traceback" not in output


async def test_an_unknown_provider_is_named(tmp_path: Path) -> None:
    code, output = await run_worker(tmp_path, OVERTURE_EMAIL_PROVIDERS="carrier_pigeon")

    assert code == 2 and "unknown provider 'carrier_pigeon'" in output and "Traceback" not in output


async def test_a_malformed_frequency_cap_is_refused(tmp_path: Path) -> None:
    code, output = await run_worker(tmp_path, OVERTURE_FREQUENCY_CAPS="marketing=lots")

    assert code == 2 and "OVERTURE_FREQUENCY_CAPS:" in output and "Traceback" not in output

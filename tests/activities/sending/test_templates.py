"""Templates: parsed at start-up (a broken one is named with its line), locale fallback, strict variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.sending.templates import TemplateError, TemplateStore
from starter.config.settings import BUNDLED_TEMPLATES


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_broken_template_is_named_with_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "email/promo.subject.liquid", "Deals")
    write(tmp_path, "email/promo.text.liquid", "Hello\n{% bogus %}\n")
    write(tmp_path, "sms/late.text.liquid", "one\ntwo {% if x %}\n")

    with pytest.raises(TemplateError) as caught:
        TemplateStore([tmp_path])

    message = str(caught.value)
    assert f"{tmp_path / 'email/promo.text.liquid'}:2: unexpected tag 'bogus'" in message
    assert f"{tmp_path / 'sms/late.text.liquid'}:2: expected tag endif" in message


def test_a_missing_template_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="does not exist"):
        TemplateStore([tmp_path / "nowhere"])


def test_locale_falls_back_from_region_to_language_to_default(tmp_path: Path) -> None:
    write(tmp_path, "sms/hello.text.liquid", "Hello")
    write(tmp_path, "sms/hello.text.de.liquid", "Hallo")
    store = TemplateStore([tmp_path])

    assert store.render("sms", "hello", "de-AT", {}).text == "Hallo"
    assert store.render("sms", "hello", "fr", {}).text == "Hello"
    assert store.render("sms", "hello", None, {}).text == "Hello"


def test_an_earlier_directory_overrides_a_bundled_template(tmp_path: Path) -> None:
    write(tmp_path, "email/welcome.subject.liquid", "Our own welcome")
    store = TemplateStore([tmp_path, BUNDLED_TEMPLATES])

    rendered = store.render("email", "welcome", None, {"customer": {"attributes": {}}, "event": {}})

    assert rendered.subject == "Our own welcome"
    assert rendered.text.startswith("Hi there")  # the other parts still come from the bundle


def test_a_missing_variable_is_an_error_not_an_empty_message(tmp_path: Path) -> None:
    write(
        tmp_path, "sms/code.text.liquid", "Your code is {{ data.code }}{% if data.note %} ({{ data.note }}){% endif %}"
    )
    store = TemplateStore([tmp_path])

    assert store.render("sms", "code", None, {"data": {"code": "1234"}}).text == "Your code is 1234"
    with pytest.raises(TemplateError, match=r"data\.code is undefined"):
        store.render("sms", "code", None, {"data": {}})

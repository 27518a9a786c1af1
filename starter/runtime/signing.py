"""The secret that signs unsubscribe links, the same for every process of one deployment."""

from __future__ import annotations

import secrets

from starter.config.settings import Settings


def unsubscribe_secret(settings: Settings) -> bytes:
    """OVERTURE_SECRET_KEY, else one generated once into the state directory (fine for one
    machine; set the variable when several processes or machines share links)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.state_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip().encode()

"""The deployment's secret, the same for every process of one deployment: it signs unsubscribe
links, and keys the hash that masks contacts and customer ids in the logs."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starter.config.redaction import Masking
from starter.config.settings import Settings

LOG_KEY_PURPOSE = b"overture log fingerprints"


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


def log_masking(settings: Settings) -> Masking:
    """How this deployment's logs mask: HMAC keyed by a key derived from the secret (not the
    secret itself, which signs links), customer ids masked unless OVERTURE_LOG_CUSTOMER_IDS.
    A process that cannot write the state directory (no OVERTURE_SECRET_KEY) gets a random key:
    its hashes then match no other process's, but still reveal nothing."""
    try:
        secret = unsubscribe_secret(settings)
    except OSError:
        return Masking(customer_ids=not settings.log_customer_ids)
    key = hmac.new(secret, LOG_KEY_PURPOSE, hashlib.sha256).digest()
    return Masking(key=key, customer_ids=not settings.log_customer_ids)

"""The SMTP provider: hands email to any mail server (a relay, a mailbox provider, an ESP).

Each send is one connection: connect (TLS or STARTTLS), log in, MAIL, RCPT, DATA, QUIT. SMTP has
no idempotency key, so the Message-ID is derived from ours instead: a resend after a crash carries
the same Message-ID, and mailbox providers that de-duplicate on it show the message once.
"""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
import ssl
from contextlib import suppress
from email.message import EmailMessage

import aiosmtplib

from activities.providers.base import (
    OutgoingMessage,
    PermanentProviderError,
    ProviderError,
    Receipt,
    TransientProviderError,
)
from activities.providers.settings import SmtpSettings
from activities.sending.personal_data import redact_email_addresses

# Quoted-printable or base64 for anything non-ASCII, so any server takes it (no 8BITMIME needed).
_POLICY = email.policy.SMTP.clone(cte_type="7bit")
# Headers this provider writes itself; the same names in `message.headers` are ignored.
_OWN_HEADERS = frozenset(
    {"from", "to", "subject", "date", "message-id", "mime-version", "content-type", "content-transfer-encoding"}
)
_REFUSED: tuple[tuple[type[Exception], str], ...] = (
    (aiosmtplib.SMTPRecipientRefused, "the recipient"),
    (aiosmtplib.SMTPSenderRefused, "the sender"),
    (aiosmtplib.SMTPAuthenticationError, "the login"),
)


class SmtpProvider:
    """Sends email over SMTP, one connection per message."""

    name = "smtp"
    channels = frozenset({"email"})
    honours_idempotency_key = False

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._sender = email.utils.parseaddr(settings.from_address)[1]
        if "@" not in self._sender:
            raise ValueError("OVERTURE_SMTP_FROM_ADDRESS must contain an email address")
        self._tls_context = _tls_context(settings) if settings.security != "none" else None

    def message_id(self, idempotency_key: str) -> str:
        """The Message-ID for a delivery: the same key always gives the same id, on the sender's
        domain (a Message-ID on a domain we do not control looks suspicious to spam filters)."""
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        return f"<{digest}@{self._sender.rpartition('@')[2]}>"

    def compose(self, message: OutgoingMessage) -> EmailMessage:
        """The MIME message: text, with an HTML alternative when there is one, plus the
        message's extra headers (List-Unsubscribe, ...)."""
        mime = EmailMessage(policy=_POLICY)
        mime["From"] = self._settings.from_address
        mime["To"] = message.recipient
        mime["Subject"] = message.content.subject or ""
        mime["Date"] = email.utils.formatdate(usegmt=True)
        mime["Message-ID"] = self.message_id(message.idempotency_key)
        for name, value in message.headers.items():
            if name.lower() not in _OWN_HEADERS:
                mime[name] = value
        mime.set_content(message.content.text)
        if message.content.html:
            mime.add_alternative(message.content.html, subtype="html")
        return mime

    async def send(self, message: OutgoingMessage) -> Receipt:
        """Deliver the message to the server; the receipt carries its Message-ID."""
        try:
            payload = self.compose(message).as_bytes()
        except (ValueError, TypeError) as error:  # e.g. a header value with a line break
            raise PermanentProviderError(f"smtp cannot build the message: {error}") from error
        client = aiosmtplib.SMTP(
            hostname=self._settings.host,
            port=self._settings.port,
            username=self._settings.username,
            password=self._settings.password.get_secret_value() if self._settings.password else None,
            use_tls=self._settings.security == "tls",
            start_tls=self._settings.security == "starttls",
            tls_context=self._tls_context,
            timeout=self._settings.timeout,
        )
        data_sent = False
        try:
            await client.connect()
            await client.mail(self._sender)
            await client.rcpt(message.recipient)
            data_sent = True
            await client.data(payload)
        except (aiosmtplib.SMTPException, ssl.SSLError, ValueError) as error:
            # ssl.SSLError: a failed STARTTLS handshake reaches us unwrapped (implicit TLS comes
            # wrapped in SMTPConnectError).
            raise _provider_error(error, data_sent) from error
        finally:
            if client.is_connected:
                with suppress(aiosmtplib.SMTPException):
                    await client.quit()
            client.close()
        return Receipt(provider_message_id=self.message_id(message.idempotency_key))

    async def aclose(self) -> None:
        """Nothing to release: each send opens and closes its own connection."""


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    """A client TLS context trusting the system CAs, or `ca_file`; no checks without `tls_verify`."""
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if not settings.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _provider_error(error: Exception, data_sent: bool) -> ProviderError:
    """The ProviderError an SMTP failure stands for. 5xx replies are permanent, 4xx transient (a
    reply, even to DATA, means the server did not take the message); losing the server after DATA
    went out means the message may have been delivered."""
    if isinstance(error, aiosmtplib.SMTPResponseException):
        what = next((label for kind, label in _REFUSED if isinstance(error, kind)), "the message")
        reason = f"smtp server refused {what}: {error.code} {_redact(error.message)}"
        if error.code >= 500:
            return PermanentProviderError(reason)
        return TransientProviderError(reason)
    # STARTTLS raises the certificate error itself, implicit TLS wraps it in SMTPConnectError.
    untrusted = next(
        (cause for cause in (error, error.__cause__) if isinstance(cause, ssl.SSLCertVerificationError)), None
    )
    if untrusted is not None:
        return PermanentProviderError(f"smtp server certificate not trusted: {untrusted.verify_message}")
    if isinstance(error, ssl.SSLError):
        return TransientProviderError(f"smtp TLS handshake failed: {error}")
    if isinstance(error, aiosmtplib.SMTPConnectError):
        return TransientProviderError(f"smtp server unreachable: {error}")
    if isinstance(error, (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected)):
        return TransientProviderError(f"smtp server did not answer: {error}", maybe_delivered=data_sent)
    if isinstance(error, ValueError):  # an address that cannot go on the wire (e.g. non-ASCII)
        return PermanentProviderError("smtp cannot send to the recipient's address")
    # STARTTLS or AUTH not offered, and the like: the configuration does not fit the server.
    return PermanentProviderError(f"smtp server does not fit the settings: {_redact(str(error))}")


def _redact(text: str) -> str:
    """Server replies often quote addresses; keep them out of errors and logs."""
    return redact_email_addresses(text)

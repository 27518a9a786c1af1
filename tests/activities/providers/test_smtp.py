"""The SMTP provider against a real SMTP server (aiosmtpd): plain, STARTTLS and implicit TLS, with
AUTH, and the server's refusals turned into the right ProviderError."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage, MIMEPart
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from activities.providers.base import OutgoingMessage, PermanentProviderError, TransientProviderError
from activities.providers.settings import SmtpSettings
from activities.providers.smtp import SmtpProvider, _provider_error
from activities.sending.templates import Rendered
from tests.helpers.support import free_port

SENDER = "Acme <hello@acme.test>"
RECIPIENT = "ada@example.test"
USERNAME = "overture"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key, as files."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """The TLS context the test server presents this certificate with."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """One self-signed certificate (it is its own CA, so it can be `ca_file`) for the module."""
    directory = tmp_path_factory.mktemp("smtp-tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Certificate(cert_file, key_file)


@dataclass(frozen=True)
class Delivered:
    """One message the server accepted, with how the session that carried it looked."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    authenticated: bool


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what it accepts, or answers RCPT / DATA with a scripted reply."""

    delivered: list[Delivered] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_reply: str | None = None
    data_delay: float = 0.0  # seconds to stay silent after the message came in

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.delivered.append(
            Delivered(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                message=parsed,
                tls=server.transport.get_extra_info("sslcontext") is not None,
                authenticated=bool(session.authenticated),
            )
        )
        return "250 2.0.0 Message accepted for delivery"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    """Accept only USERNAME / PASSWORD."""
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@contextlib.contextmanager
def smtp_server(mailbox: Mailbox, **kwargs: Any) -> Iterator[int]:
    """Run an aiosmtpd server (in its own thread) on a free loopback port; yields the port."""
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, server_hostname="mx.example.test", **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def settings(port: int, **overrides: Any) -> SmtpSettings:
    """Settings for one test: plain SMTP unless overridden."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": SENDER,
        "timeout": 5.0,
    }
    return SmtpSettings(**(values | overrides))


def message(key: str = "delivery-1", **overrides: Any) -> OutgoingMessage:
    """A welcome email to RECIPIENT with text, HTML and one-click unsubscribe headers."""
    values: dict[str, Any] = {
        "idempotency_key": key,
        "customer_id": "c-42",
        "channel": "email",
        "topic": "onboarding",
        "recipient": RECIPIENT,
        "content": Rendered(text="Welcome aboard, Ada!\n", subject="Welcome to Acme", html="<p>Welcome aboard!</p>"),
        "headers": {
            "List-Unsubscribe": "<https://overture.test/v1/unsubscribe?token=t0k3n>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
    return OutgoingMessage(**(values | overrides))


def _content(part: MIMEPart) -> str:
    """A text part's decoded content, with the wire's CRLF line ends as plain newlines."""
    return str(part.get_content()).replace("\r\n", "\n")


async def test_plain_delivery_has_headers_and_a_text_and_html_alternative() -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        provider = SmtpProvider(settings(port))
        receipt = await provider.send(message())

    assert len(mailbox.delivered) == 1
    delivered = mailbox.delivered[0]
    assert delivered.mail_from == "hello@acme.test"
    assert delivered.rcpt_tos == [RECIPIENT]
    mime = delivered.message
    assert mime["From"] == SENDER
    assert mime["To"] == RECIPIENT
    assert mime["Subject"] == "Welcome to Acme"
    assert mime["List-Unsubscribe"] == "<https://overture.test/v1/unsubscribe?token=t0k3n>"
    assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mime["Message-ID"] == receipt.provider_message_id
    assert mime.get_content_type() == "multipart/alternative"
    text, html = mime.get_body(("plain",)), mime.get_body(("html",))
    assert text is not None and _content(text) == "Welcome aboard, Ada!\n"
    assert html is not None and "<p>Welcome aboard!</p>" in _content(html)
    assert delivered.tls is False


async def test_text_only_message_is_not_multipart_and_own_headers_win() -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        provider = SmtpProvider(settings(port))
        await provider.send(
            message(
                content=Rendered(text="Grüße aus Köln\n", subject="Grüße"),
                headers={"Subject": "spoofed", "X-Campaign": "welcome"},
            )
        )

    mime = mailbox.delivered[0].message
    assert mime.get_content_type() == "text/plain"
    assert _content(mime) == "Grüße aus Köln\n"
    assert mime["Subject"] == "Grüße"
    assert mime.get_all("Subject") == ["Grüße"]
    assert mime["X-Campaign"] == "welcome"


async def test_message_id_is_stable_for_the_same_idempotency_key() -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        provider = SmtpProvider(settings(port))
        first = await provider.send(message("delivery-1"))
        again = await provider.send(message("delivery-1"))
        other = await provider.send(message("delivery-2"))

    ids = [delivered.message["Message-ID"] for delivered in mailbox.delivered]
    assert ids == [first.provider_message_id, again.provider_message_id, other.provider_message_id]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].endswith("@acme.test>")


async def test_starttls_and_auth_succeed(certificate: Certificate) -> None:
    mailbox = Mailbox()
    server = {
        "tls_context": certificate.server_context(),
        "require_starttls": True,
        "authenticator": _authenticator,
        "auth_require_tls": True,
        "auth_required": True,
    }
    with smtp_server(mailbox, **server) as port:
        provider = SmtpProvider(
            settings(port, security="starttls", ca_file=certificate.cert_file, username=USERNAME, password=PASSWORD)
        )
        await provider.send(message())

    assert len(mailbox.delivered) == 1
    assert mailbox.delivered[0].tls is True
    assert mailbox.delivered[0].authenticated is True


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_implicit_tls_succeeds(certificate: Certificate) -> None:
    mailbox = Mailbox()
    # aiosmtpd counts only STARTTLS as TLS for AUTH, so an implicit-TLS server must not require it.
    server = {
        "ssl_context": certificate.server_context(),
        "authenticator": _authenticator,
        "auth_required": True,
        "auth_require_tls": False,
    }
    with smtp_server(mailbox, **server) as port:
        provider = SmtpProvider(
            settings(port, security="tls", ca_file=certificate.cert_file, username=USERNAME, password=PASSWORD)
        )
        await provider.send(message())

    assert len(mailbox.delivered) == 1
    assert mailbox.delivered[0].tls is True
    assert mailbox.delivered[0].authenticated is True


async def test_wrong_password_is_permanent_and_names_the_login(certificate: Certificate) -> None:
    mailbox = Mailbox()
    server = {
        "tls_context": certificate.server_context(),
        "require_starttls": True,
        "authenticator": _authenticator,
        "auth_required": True,
    }
    with smtp_server(mailbox, **server) as port:
        provider = SmtpProvider(
            settings(port, security="starttls", ca_file=certificate.cert_file, username=USERNAME, password="wrong")
        )
        with pytest.raises(PermanentProviderError) as caught:
            await provider.send(message())

    assert "535" in caught.value.reason
    assert "the login" in caught.value.reason
    assert "wrong" not in caught.value.reason
    assert mailbox.delivered == []


async def test_recipient_refused_with_550_is_permanent_without_the_address() -> None:
    mailbox = Mailbox(rcpt_reply=f"550 5.1.1 <{RECIPIENT}>: Recipient address rejected: User unknown")
    with smtp_server(mailbox) as port, pytest.raises(PermanentProviderError) as caught:
        await SmtpProvider(settings(port)).send(message())

    reason = caught.value.reason
    assert "550" in reason
    assert "the recipient" in reason
    assert RECIPIENT not in reason
    assert "@" not in reason
    assert mailbox.delivered == []


async def test_451_at_rcpt_is_transient() -> None:
    mailbox = Mailbox(rcpt_reply="451 4.7.1 Greylisted, please try again later")
    with smtp_server(mailbox) as port, pytest.raises(TransientProviderError) as caught:
        await SmtpProvider(settings(port)).send(message())

    assert "451" in caught.value.reason
    assert caught.value.maybe_delivered is False


async def test_451_after_data_is_transient_and_not_delivered() -> None:
    mailbox = Mailbox(data_reply="451 4.3.0 Temporary local problem, try again")
    with smtp_server(mailbox) as port, pytest.raises(TransientProviderError) as caught:
        await SmtpProvider(settings(port)).send(message())

    assert "451" in caught.value.reason
    # The server answered: it did not take the message, so a retry cannot deliver it twice.
    assert caught.value.maybe_delivered is False


async def test_554_after_data_is_permanent() -> None:
    mailbox = Mailbox(data_reply="554 5.7.1 Message rejected as spam")
    with smtp_server(mailbox) as port, pytest.raises(PermanentProviderError) as caught:
        await SmtpProvider(settings(port)).send(message())

    assert "554" in caught.value.reason


async def test_silence_after_data_is_transient_and_maybe_delivered() -> None:
    mailbox = Mailbox(data_delay=3.0)
    with smtp_server(mailbox) as port, pytest.raises(TransientProviderError) as caught:
        await SmtpProvider(settings(port, timeout=0.5)).send(message())

    assert "did not answer" in caught.value.reason
    # The whole message went out and no answer came: the server may have taken it.
    assert caught.value.maybe_delivered is True


async def test_server_down_is_transient_and_not_delivered() -> None:
    provider = SmtpProvider(settings(free_port()))  # nothing listens there

    with pytest.raises(TransientProviderError) as caught:
        await provider.send(message())

    assert caught.value.maybe_delivered is False
    assert "unreachable" in caught.value.reason


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_untrusted_certificate_is_permanent(certificate: Certificate, security: str) -> None:
    mailbox = Mailbox()
    context_kwarg = "tls_context" if security == "starttls" else "ssl_context"
    with smtp_server(mailbox, **{context_kwarg: certificate.server_context()}) as port:
        provider = SmtpProvider(settings(port, security=security, tls_verify=True))  # system CAs only
        with pytest.raises(PermanentProviderError) as caught:
            await provider.send(message())

    assert "certificate not trusted" in caught.value.reason
    assert mailbox.delivered == []


async def test_untrusted_certificate_is_accepted_without_tls_verify(certificate: Certificate) -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox, tls_context=certificate.server_context(), require_starttls=True) as port:
        await SmtpProvider(settings(port, security="starttls", tls_verify=False)).send(message())

    assert len(mailbox.delivered) == 1
    assert mailbox.delivered[0].tls is True


async def test_starttls_required_but_not_offered_is_permanent() -> None:
    mailbox = Mailbox()
    # No tls_context: the server does not offer STARTTLS.
    with smtp_server(mailbox) as port, pytest.raises(PermanentProviderError) as caught:
        await SmtpProvider(settings(port, security="starttls")).send(message())

    assert "does not fit the settings" in caught.value.reason
    assert mailbox.delivered == []


async def test_a_header_with_a_line_break_is_permanent_without_connecting() -> None:
    provider = SmtpProvider(settings(free_port()))  # nothing listens: reaching the server would be transient

    with pytest.raises(PermanentProviderError) as caught:
        await provider.send(message(headers={"X-Campaign": "a\r\nBcc: everyone@example.test"}))

    assert "cannot build the message" in caught.value.reason


def test_a_failed_starttls_handshake_is_transient() -> None:
    # A STARTTLS handshake failure other than an untrusted certificate reaches the provider as a
    # bare ssl.SSLError (no wire-level way to provoke one here that the test server survives).
    error = _provider_error(ssl.SSLError(1, "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version"), False)

    assert isinstance(error, TransientProviderError)
    assert "TLS handshake failed" in error.reason
    assert error.maybe_delivered is False


def test_from_address_without_an_address_is_refused() -> None:
    with pytest.raises(ValueError, match="FROM_ADDRESS"):
        SmtpProvider(settings(25, from_address="Acme"))

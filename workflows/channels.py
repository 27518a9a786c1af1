"""The channel catalogue: every channel Overture sends on, described once.

The message classes (`workflows/messages.py`), the settings' provider lists
(`OVERTURE_<CHANNEL>_PROVIDERS`), where a message is addressed on the profile, which template parts
a channel has, and the API's channel validation all derive from this table. Adding a channel means
a row here, a message class, and a provider that carries it.

Plain data (no I/O): workflow code may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

AddressKind = Literal["email", "phone", "push_tokens", "slack_id", "customer_id"]
"""Where a channel finds the customer: a profile field, the `slack_id` attribute, or the id itself."""


@dataclass(frozen=True)
class Channel:
    """One channel: its name, how it addresses a customer, its template parts, its default providers.

    `parts` are the template parts a channel's templates may have (`<name>.<part>.liquid`);
    `required_parts` must exist for a template to count as present.
    """

    name: str
    address: AddressKind
    description: str
    parts: tuple[str, ...] = ("text",)
    required_parts: tuple[str, ...] = ("text",)
    default_providers: tuple[str, ...] = ("outbox",)

    @property
    def providers_variable(self) -> str:
        """The environment variable listing the channel's providers in failover order."""
        return f"OVERTURE_{self.name.upper()}_PROVIDERS"


EMAIL = Channel(
    "email",
    address="email",
    description="An email: `subject`, `text` and optionally `html`.",
    parts=("subject", "text", "html"),
    required_parts=("subject", "text"),
)
SMS = Channel("sms", address="phone", description="A text message to the customer's phone.")
WHATSAPP = Channel("whatsapp", address="phone", description="A WhatsApp message to the customer's phone.")
PUSH = Channel(
    "push",
    address="push_tokens",
    description="A push notification to every registered device: optional `subject` (title) and `text`.",
    parts=("subject", "text"),
)
WEBHOOK = Channel("webhook", address="customer_id", description="A signed HTTP POST to the company's endpoint.")
CHAT = Channel("chat", address="slack_id", description="A chat message (Slack) to the customer's `slack_id`.")
IN_APP = Channel(
    "in_app",
    address="customer_id",
    description="A message in the customer's in-app inbox: optional `subject` (title), `text`, optional `html`.",
    parts=("subject", "text", "html"),
    default_providers=("inbox",),
)

CHANNELS: Mapping[str, Channel] = {
    channel.name: channel for channel in (EMAIL, SMS, WHATSAPP, PUSH, WEBHOOK, CHAT, IN_APP)
}
"""Every channel by name, in the order the docs list them."""

CHANNEL_NAMES: tuple[str, ...] = tuple(CHANNELS)

"""The messages a journey can send, one class per channel.

A message names a template and a subscription topic; the worker renders the template for the
channel and hands it to the providers configured for that channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Message:
    """A template to send on one channel, under a subscription topic (consent is per topic)."""

    template: str
    topic: str = "marketing"
    channel: ClassVar[str] = ""


@dataclass(frozen=True)
class Email(Message):
    """An email: the template has `subject`, `text` and optionally `html` parts."""

    channel: ClassVar[str] = "email"


@dataclass(frozen=True)
class Sms(Message):
    """A text message to the customer's phone."""

    channel: ClassVar[str] = "sms"


@dataclass(frozen=True)
class WhatsApp(Message):
    """A WhatsApp message to the customer's phone."""

    channel: ClassVar[str] = "whatsapp"


@dataclass(frozen=True)
class Push(Message):
    """A push notification to the customer's registered devices."""

    channel: ClassVar[str] = "push"


@dataclass(frozen=True)
class Webhook(Message):
    """A signed HTTP POST to an endpoint configured for the channel."""

    channel: ClassVar[str] = "webhook"


@dataclass(frozen=True)
class Chat(Message):
    """A chat message (Slack)."""

    channel: ClassVar[str] = "chat"


@dataclass(frozen=True)
class InApp(Message):
    """A message in the customer's in-app inbox."""

    channel: ClassVar[str] = "in_app"


CHANNELS: tuple[str, ...] = tuple(cls.channel for cls in (Email, Sms, WhatsApp, Push, Webhook, Chat, InApp))

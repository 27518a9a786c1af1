"""The messages a journey can send, one class per channel of the catalogue (workflows/channels.py).

A message names a template and a subscription topic; the worker renders the template for the
channel and hands it to the providers configured for that channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from workflows.channels import CHAT, EMAIL, IN_APP, PUSH, SMS, WEBHOOK, WHATSAPP


@dataclass(frozen=True)
class Message:
    """A template to send on one channel, under a subscription topic (consent is per topic)."""

    template: str
    topic: str = "marketing"
    channel: ClassVar[str] = ""


@dataclass(frozen=True)
class Email(Message):
    """An email: the template has `subject`, `text` and optionally `html` parts."""

    channel: ClassVar[str] = EMAIL.name


@dataclass(frozen=True)
class Sms(Message):
    """A text message to the customer's phone."""

    channel: ClassVar[str] = SMS.name


@dataclass(frozen=True)
class WhatsApp(Message):
    """A WhatsApp message to the customer's phone."""

    channel: ClassVar[str] = WHATSAPP.name


@dataclass(frozen=True)
class Push(Message):
    """A push notification to the customer's registered devices."""

    channel: ClassVar[str] = PUSH.name


@dataclass(frozen=True)
class Webhook(Message):
    """A signed HTTP POST to an endpoint configured for the channel."""

    channel: ClassVar[str] = WEBHOOK.name


@dataclass(frozen=True)
class Chat(Message):
    """A chat message (Slack)."""

    channel: ClassVar[str] = CHAT.name


@dataclass(frozen=True)
class InApp(Message):
    """A message in the customer's in-app inbox."""

    channel: ClassVar[str] = IN_APP.name

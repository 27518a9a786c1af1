"""`/v1/unsubscribe`: the signed one-click unsubscribe link customers follow from a marketing
message (RFC 8058). No API key: the signed token is the proof.

`GET` only shows a confirmation page: mail scanners open links, and a GET that unsubscribed would
unsubscribe people who never clicked. `POST` (the mail client's one-click
`List-Unsubscribe=One-Click`, or the page's button) does it.
"""

from __future__ import annotations

from html import escape

import structlog
from fastapi import APIRouter, HTTPException, status
from fastapi.responses import HTMLResponse

from activities.sending.consent import InvalidToken, UnsubscribeClaim
from activities.store.subscriptions import UNSUBSCRIBED
from starter.api.deps import ServicesDep
from starter.api.responses import Responses

logger = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/unsubscribe", tags=["consent"])

REFUSED = "This unsubscribe link is not valid (altered, or too old). Use the link in a recent message."
INVALID_LINK_PAGE: Responses = {
    status.HTTP_400_BAD_REQUEST: {
        "description": "The link is not valid: a page saying so",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}
INVALID_LINK: Responses = {
    status.HTTP_400_BAD_REQUEST: {
        "description": "The link is not valid; nothing changed",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }
}
"""Declared by hand: the route's HTML response class would give an `ErrorOut` model `text/html`."""


@router.get("", response_class=HTMLResponse, responses=INVALID_LINK_PAGE)
async def unsubscribe_page(token: str, svc: ServicesDep) -> HTMLResponse:
    """A page asking to confirm; nothing changes until its button is pressed."""
    try:
        claim = svc.tokens.verify(token)
    except InvalidToken:
        return HTMLResponse(_page("Link not valid", f"<p>{REFUSED}</p>"), status_code=status.HTTP_400_BAD_REQUEST)
    form = (
        f"<p>Stop receiving <strong>{escape(claim.topic)}</strong> messages{_by(claim)}?</p>"
        f'<form method="post" action="?token={escape(token)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return HTMLResponse(_page("Unsubscribe", form))


@router.post("", response_class=HTMLResponse, responses=INVALID_LINK)
async def unsubscribe(token: str, svc: ServicesDep) -> HTMLResponse:
    """Unsubscribe the customer the token names from its topic (idempotent)."""
    try:
        claim = svc.tokens.verify(token)
    except InvalidToken as refused:
        logger.warning("unsubscribe.refused", reason=str(refused))
        raise HTTPException(status.HTTP_400_BAD_REQUEST, REFUSED) from refused
    await svc.stores.customers.ensure(claim.customer_id)
    await svc.stores.subscriptions.choose(
        claim.customer_id, claim.topic, claim.channel, UNSUBSCRIBED, "unsubscribe_link"
    )
    logger.info("unsubscribe.done", customer=claim.customer_id, topic=claim.topic, channel=claim.channel)
    body = f"<p>You will no longer receive <strong>{escape(claim.topic)}</strong> messages{_by(claim)}.</p>"
    return HTMLResponse(_page("Unsubscribed", body))


def _by(claim: UnsubscribeClaim) -> str:
    return f" by {escape(claim.channel)}" if claim.channel else ""


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width,initial-scale=1"></head>'
        '<body style="font-family:sans-serif;max-width:32em;margin:3em auto">'
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )

"""`POST /v1/webhooks/{provider}`: delivery callbacks from providers.

No API key here (providers cannot send ours): the provider's own signature is the proof, and a
request whose signature does not check out is refused with 401 before anything is written.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter, HTTPException, Request, status

from activities.providers.feedback import InboundWebhook, NoFeedbackParser
from starter.api.deps import ServicesDep
from starter.api.responses import BODY_TOO_LARGE, Responses, error, not_found
from starter.api.schemas import FeedbackAccepted

logger = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
RESPONSES: Responses = {
    status.HTTP_400_BAD_REQUEST: error("Not a callback of that provider; nothing changed."),
    status.HTTP_401_UNAUTHORIZED: error("The provider's signature does not verify; nothing changed."),
    **not_found("No provider of that name"),
    **BODY_TOO_LARGE,
}


@router.post("/{provider}", responses=RESPONSES)
async def post_webhook(provider: str, request: Request, svc: ServicesDep) -> FeedbackAccepted:
    """Apply a provider's delivery, bounce, complaint, open and click reports to the deliveries;
    hard bounces and complaints suppress the address."""
    try:
        parser = svc.feedback_parsers.get(provider)
    except NoFeedbackParser as unknown:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(unknown)) from unknown
    webhook = InboundWebhook(
        url=public_request_url(svc.settings.public_url, request),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=await request.body(),
    )
    if not parser.verify(webhook):
        logger.warning("webhook.bad_signature", provider=provider)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"the {provider} signature does not verify")
    try:
        reports = parser.parse(webhook)
    except (ValueError, RecursionError) as malformed:  # RecursionError: JSON nested too deeply
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"not a {provider} callback: {malformed}") from malformed
    applied = await svc.feedback.apply(parser.provider, parser.channel, reports)
    logger.info("webhook.applied", provider=provider, reports=len(reports), **applied.__dict__)
    return FeedbackAccepted(matched=applied.matched, unmatched=applied.unmatched, suppressed=applied.suppressed)


def public_request_url(public_url: str, request: Request) -> str:
    """The URL the provider called, as it knows it (OVERTURE_PUBLIC_URL + path + query): behind a
    proxy the address this process sees differs, and signatures cover the provider's view."""
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{public_url.rstrip('/')}{request.url.path}{query}"

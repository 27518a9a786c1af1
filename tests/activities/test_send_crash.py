"""No duplicate sends across a worker crash: SIGKILL the worker while providers hold a message
they have accepted but not yet answered for; after the restart each provider got it once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlmodel import select

from activities.store.customers import CustomerStore
from activities.store.database import Database
from activities.store.entries import EntryLedger
from activities.store.tables import Delivery
from starter.config.settings import BUNDLED_TEMPLATES
from starter.dev.temporal_server import TemporalDevServer
from starter.routing.registry import JourneyRegistry
from starter.routing.router import EventRouter
from tests.helpers.fakes.server import serve
from tests.helpers.fakes.twilio import FakeTwilio
from tests.helpers.fakes.webhook_receiver import PATH, TEST_SECRET, WebhookReceiver
from tests.helpers.processes import sigkill, start_worker, stop
from tests.helpers.support import TEST_TEMPLATES, eventually, make_settings
from workflows.types import Outcome


async def test_a_worker_killed_after_the_provider_accepted_does_not_send_twice(
    tmp_path: Path, dev_server: TemporalDevServer, registry: JourneyRegistry
) -> None:
    settings = make_settings(
        tmp_path, temporal_address=dev_server.address, template_dirs=[TEST_TEMPLATES, BUNDLED_TEMPLATES]
    )
    database = Database(settings.database_url)
    await database.create_tables()
    customers = CustomerStore(database)
    await customers.upsert("hooked", {})
    await customers.upsert("texted", {"phone": "+4915123456789"})
    receiver, twilio = WebhookReceiver(), FakeTwilio()
    receiver.misbehave("hang")  # take the message, then never answer
    twilio.misbehave("hang")
    log = tmp_path / "worker.log"
    worker = None
    async with serve(receiver.app) as receiver_url, serve(twilio.app) as twilio_url:
        providers = {
            "OVERTURE_TEMPLATE_DIRS": ",".join(str(path) for path in settings.template_dirs),
            "OVERTURE_WEBHOOK_PROVIDERS": "webhook",
            "OVERTURE_WEBHOOK_URL": receiver_url + PATH,
            "OVERTURE_WEBHOOK_SECRET": TEST_SECRET,
            "OVERTURE_SMS_PROVIDERS": "twilio",
            "OVERTURE_TWILIO_ACCOUNT_SID": twilio.account_sid,
            "OVERTURE_TWILIO_AUTH_TOKEN": twilio.auth_token,
            "OVERTURE_TWILIO_BASE_URL": twilio_url,
            "OVERTURE_TWILIO_FROM_NUMBER": "+15005550006",
        }
        try:
            client = await dev_server.ready()
            worker = await start_worker(settings, log, providers)
            router = EventRouter(client, registry, settings.task_queue, EntryLedger(database))
            journey = registry.get("ping_lab")
            assert journey is not None
            spec = journey.spec
            hooked = await router.enter(spec, "hooked", {"channel": "webhook"})
            texted = await router.enter(spec, "texted", {"channel": "sms"})

            await eventually(lambda: _both_held(receiver, twilio), timeout=60)
            await sigkill(worker)  # both providers have the message; neither answered
            worker = await start_worker(settings, log, providers)

            outcomes = [
                await client.get_workflow_handle(workflow_id, result_type=Outcome).result()
                for workflow_id in (hooked, texted)
            ]
        finally:
            await stop(worker)

    # The SMS journey sent nothing it could vouch for, so it reached nobody.
    assert [outcome.status for outcome in outcomes] == ["completed", "failed_to_reach"], log.read_text()
    # The webhook provider passes the key (webhook-id): the retry went out and the receiver
    # recognised it. Twilio takes no key: the retry did not call it at all.
    assert receiver.requests == 2 and len(receiver.received) == 1
    assert receiver.received[0]["data"]["text"].strip() == "hooked did something"
    assert len(twilio.messages) == 1
    async with database.session() as session:
        rows = (await session.exec(select(Delivery))).all()
    assert Counter((row.customer_id, row.status) for row in rows) == {("hooked", "sent"): 1, ("texted", "failed"): 1}
    failed = next(row for row in rows if row.customer_id == "texted")
    assert failed.error is not None and failed.error.startswith("uncertain")
    await database.close()


async def _both_held(receiver: WebhookReceiver, twilio: FakeTwilio) -> bool:
    return len(receiver.received) == 1 and len(twilio.messages) == 1

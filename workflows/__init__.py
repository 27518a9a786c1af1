"""Overture's journey language: everything a journey author imports comes from here.

```python
from datetime import timedelta

from temporalio import workflow

from workflows import Email, Entry, Journey, Outcome, Sms, journey


@journey(trigger="signed_up", events={"activated"}, exit_on={"unsubscribed"})
class Welcome(Journey):
    @workflow.run
    async def run(self, entry: Entry) -> Outcome:
        await self.send(Email("welcome"), fallback=[Sms("welcome")])
        if await self.wait_for("activated", timeout=timedelta(days=2)) is None:
            await self.send(Email("welcome_reminder"))
        return self.completed()
```

The package is deterministic workflow code (standard library and temporalio only), so the
worker passes it through the workflow sandbox instead of re-importing it for every run. The
submodules (`workflows.types`, `workflows.spec`, ...) stay importable for the engine's own use;
`workflows.names` holds the activity, signal and query names and the workflow-id format.
"""

from workflows.experiments import HOLDOUT
from workflows.journey import Journey, journey
from workflows.messages import Chat, Email, InApp, Message, Push, Sms, Webhook, WhatsApp
from workflows.spec import JourneyDefinitionError, ReEntry
from workflows.timing import QuietHours, local_time
from workflows.types import Entry, JourneyEvent, JourneyState, Outcome, Profile, SendResult

__all__ = [
    "HOLDOUT",
    "Chat",
    "Email",
    "Entry",
    "InApp",
    "Journey",
    "JourneyDefinitionError",
    "JourneyEvent",
    "JourneyState",
    "Message",
    "Outcome",
    "Profile",
    "Push",
    "QuietHours",
    "ReEntry",
    "SendResult",
    "Sms",
    "Webhook",
    "WhatsApp",
    "journey",
    "local_time",
]

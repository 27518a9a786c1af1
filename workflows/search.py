"""Search attributes that let operators find journeys in the Temporal Web UI.

Query examples: `CustomerId = "c-42"`, `JourneyName = "welcome" AND JourneyStep = "wait_for:activated"`.
They must be registered on the server (`overture dev` does it; see README for production).
"""

from temporalio.common import SearchAttributeKey

CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
JOURNEY_NAME = SearchAttributeKey.for_keyword("JourneyName")
JOURNEY_STEP = SearchAttributeKey.for_keyword("JourneyStep")

ALL: tuple[SearchAttributeKey[str], ...] = (CUSTOMER_ID, JOURNEY_NAME, JOURNEY_STEP)

"""A Python client for the Overture HTTP API, for product systems (and the CLI).

```python
from starter.cli.client import OvertureClient

with OvertureClient("http://localhost:8000", api_key="...") as overture:
    overture.set_customer("c-42", email="ada@example.com", timezone="Europe/Berlin")
    overture.send_event("c-42", "signed_up", {"plan": "pro"}, idempotency_key="signup-c-42")
```
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any

import httpx


class OvertureError(Exception):
    """The API refused a request; `status` is the HTTP status, `detail` the API's explanation."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class OvertureClient:
    """Synchronous client; every method returns the API's JSON answer."""

    def __init__(
        self,
        base_url: str = "http://localhost:8000",
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout, transport=transport)

    def __enter__(self) -> OvertureClient:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def set_customer(self, customer_id: str, **profile: Any) -> dict[str, Any]:
        """Create or update a profile (email, phone, timezone, locale, push_tokens, attributes)."""
        return self._object("PUT", f"/v1/customers/{customer_id}", json=profile)

    def customer(self, customer_id: str) -> dict[str, Any]:
        """A profile with its running journeys and latest messages."""
        return self._object("GET", f"/v1/customers/{customer_id}")

    def send_event(
        self,
        customer_id: str,
        name: str,
        properties: dict[str, Any] | None = None,
        *,
        occurred_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Record an event; journeys it triggers start, running ones that wait for it hear it."""
        body: dict[str, Any] = {"customer_id": customer_id, "name": name, "properties": properties or {}}
        if occurred_at is not None:
            body["occurred_at"] = occurred_at.isoformat()
        if idempotency_key is not None:
            body["idempotency_key"] = idempotency_key
        return self._object("POST", "/v1/events", json=body)

    def enter_journey(
        self, journey: str, customer_id: str, data: dict[str, Any] | None = None, *, key: str | None = None
    ) -> dict[str, Any]:
        """Enter a customer into a journey directly."""
        body: dict[str, Any] = {"customer_id": customer_id, "data": data or {}}
        if key is not None:
            body["key"] = key
        return self._object("POST", f"/v1/journeys/{journey}/entries", json=body)

    def messages(self, customer_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The customer's deliveries, newest first."""
        return self._list("GET", f"/v1/customers/{customer_id}/messages", params={"limit": limit})

    def journeys(self) -> list[dict[str, Any]]:
        """Registered journeys."""
        return self._list("GET", "/v1/journeys")

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer = self._call(method, path, **kwargs)
        if not isinstance(answer, dict):
            raise OvertureError(200, f"expected a JSON object from {path}, got {type(answer).__name__}")
        return answer

    def _list(self, method: str, path: str, **kwargs: Any) -> list[dict[str, Any]]:
        answer = self._call(method, path, **kwargs)
        if not isinstance(answer, list):
            raise OvertureError(200, f"expected a JSON list from {path}, got {type(answer).__name__}")
        return answer

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.is_error:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise OvertureError(response.status_code, detail)
        return response.json()

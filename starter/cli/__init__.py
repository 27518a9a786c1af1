"""The `overture` command, and the Python client of the HTTP API it talks through.

```python
from starter.cli import OvertureClient

with OvertureClient("http://localhost:8000", api_key="...") as overture:
    overture.send_event("c-42", "signed_up", {"plan": "pro"}, idempotency_key="signup-c-42")
```
"""

from starter.cli.client import OvertureClient, OvertureError

__all__ = ["OvertureClient", "OvertureError"]

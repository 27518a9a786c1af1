"""The provider stand-in: a local HTTP endpoint that records when each message arrived.

    python -m bench.receiver --port 8765

Both sides POST to it: Overture's `webhook` provider (a Standard Webhooks JSON document, the
customer id in `data.customer_id`) and the bare activity (`{"id": customer_id}`). It answers 204
at once and keeps `customer id -> arrival time` (unix seconds, first arrival) in memory;
`GET /arrivals?prefix=P` returns those whose id starts with P. A process of its own, so that
recording does not share an event loop with the load it measures.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

PATH = "/hook"


class Arrivals:
    """Arrival times by customer id, shared by the server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, float] = {}
        self.requests = 0

    def record(self, customer_id: str, at: float) -> None:
        """Keep the first arrival of `customer_id`."""
        with self._lock:
            self.requests += 1
            self._times.setdefault(customer_id, at)

    def since(self, prefix: str) -> dict[str, float]:
        """Arrivals whose id starts with `prefix`."""
        with self._lock:
            return {key: value for key, value in self._times.items() if key.startswith(prefix)}


def customer_of(document: Any) -> str | None:
    """The customer id a message is for: `id` (bare) or `data.customer_id` (Overture's webhook)."""
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("id"), str):
        return str(document["id"])
    data = document.get("data")
    if isinstance(data, dict) and isinstance(data.get("customer_id"), str):
        return str(data["customer_id"])
    return None


def handler_for(arrivals: Arrivals) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to `arrivals`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            at = time.time()
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            try:
                customer_id = customer_of(json.loads(body))
            except ValueError:
                customer_id = None
            if customer_id is None:
                self._answer(400, b"no customer id in the body")
                return
            arrivals.record(customer_id, at)
            self._answer(204, b"")

        def do_GET(self) -> None:
            url = urlparse(self.path)
            prefix = parse_qs(url.query).get("prefix", [""])[0]
            body = json.dumps({"requests": arrivals.requests, "arrivals": arrivals.since(prefix)}).encode()
            self._answer(200, body, "application/json")

        def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            if body:
                self.send_header("content-type", content_type)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # one line per message would cost more than the request

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 would make bursts of 50 senders wait on SYN retries


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(description="The benchmarks' provider stand-in.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = _Server((args.host, args.port), handler_for(Arrivals()))
    print(f"receiver on http://{args.host}:{args.port}{PATH}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

"""The HTTP API over real HTTP, on the dev server."""

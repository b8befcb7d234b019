"""The HTTP API, through its ASGI app, against the real PostgreSQL and Redis."""

"""`bare_ingest`: the least an ingest endpoint can do on the service's stack: a plain Starlette
endpoint under the same uvicorn settings as `campaign-billing serve`, reading the body and
INSERTing it (one row, one commit) through a SQLAlchemy engine built like the service's, in a
worker thread as the service's endpoint does. No verification, no parsing, no broker.

`python -m bench.bare.ingest_app PORT` with DATABASE_URL in the environment; the table
`bench_bare_events` must exist (the benchmark creates it).
"""

from __future__ import annotations

import os
import sys

import uvicorn
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campaign_billing.adapters.database import make_engine

TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS bench_bare_events (id bigserial PRIMARY KEY, body jsonb NOT NULL)"
)
_INSERT = text("INSERT INTO bench_bare_events (body) VALUES (CAST(:body AS jsonb))")


def create_app(engine: Engine) -> Starlette:
    def store(body: str) -> None:
        with engine.begin() as conn:
            conn.execute(_INSERT, {"body": body})

    async def ingest(request: Request) -> Response:
        body = await request.body()
        await run_in_threadpool(store, body.decode())
        return Response(b'{"received":true}', media_type="application/json")

    return Starlette(routes=[Route("/webhooks/stripe", ingest, methods=["POST"])])


def main() -> None:
    app = create_app(make_engine(os.environ["DATABASE_URL"]))
    # As `campaign-billing serve` runs uvicorn (src/campaign_billing/cli/main.py).
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_config=None)


if __name__ == "__main__":
    main()

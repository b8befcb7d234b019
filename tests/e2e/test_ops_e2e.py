"""What operators see of a full run: Flower, the Prometheus metrics of the API and of a worker,
and the log files, which must never hold a card number or a secret.

One small run (a card saved through Stripe's webhooks, a charge retried after a Stripe 500, a
decline, a forged webhook, a wrong token) on a stack of its own whose secrets are distinctive
strings, so that finding none of them in the logs means something. Flower runs exactly as
docker-compose.yml runs it; so does the worker's healthcheck.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text

from campaign_billing.adapters.orm import Base
from campaign_billing.stripe_server import StripeServerSettings, StripeTestServer, WebhookTarget
from tests.conftest import TEST_REDIS_URL
from tests.e2e.harness import BIN, Api, Stack, Stream, free_port, iter_lines, wait_until
from tests.e2e.platform import OFFICE, Platform
from tests.integration.ops.compose_file import compose_model

# Distinctive values: each must be absent from every log line of the run.
API_KEY = "sk_test_OpsRunKey7f3a9c2e51"
WEBHOOK_SECRET = "whsec_OpsRunSecret4d8b1e6f"
TOKEN = "ops-run-token-b7e2c9d4a1"
WRONG_TOKEN = "ops-wrong-token-5c1f8a3e"
FORGING_SECRET = "whsec_OpsForger9a2c7e1b"
PAYING_CARD = "4242424242424242"
DECLINING_CARD = "4000000000000341"  # attaches, then declines when charged
FLOWER_AUTH = ("operator", "flower-pass-3e9d1a")
WORKER = "opsworker"
WORKER_NODE = f"{WORKER}@e2e"

_REDIS_BASE, _REDIS_DB = TEST_REDIS_URL.rsplit("/", 1)
# Databases of this module's own (the shared e2e stack uses +0 and +4).
REDIS_URL = f"{_REDIS_BASE}/{(int(_REDIS_DB) + 2) % 8 + 8}"
BROKER_URL = f"{_REDIS_BASE}/{(int(_REDIS_DB) + 6) % 8 + 8}"

SERVICE_LOGS = ("api.log", f"{WORKER}.log", "relay.log")


@dataclass
class Run:
    stack: Stack
    flower_url: str
    worker_metrics_url: str
    paid: dict[str, Any]
    declined: dict[str, Any]
    forged_signature: str

    def service_logs(self) -> dict[str, str]:
        return {
            name: (self.stack.log_dir / name).read_text(errors="replace") for name in SERVICE_LOGS
        }


def _empty_tables(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def _start_flower(stack: Stack, port: int) -> subprocess.Popen[bytes]:
    """Flower as docker-compose.yml runs it, on a free port of this machine."""
    program, *args = compose_model()["services"]["flower"]["command"]
    assert program == "celery"
    args = [a for a in args if not a.startswith("--port")]
    log_dir = stack.log_dir / "flower"
    log_dir.mkdir(exist_ok=True)
    with (log_dir / "flower.log").open("ab") as log:
        return subprocess.Popen(
            [str(BIN / "celery"), *args, f"--port={port}", "--address=127.0.0.1"],
            env={**stack.env(), "FLOWER_BASIC_AUTH": ":".join(FLOWER_AUTH)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _flower_get(flower_url: str, path: str, **params: str) -> Any:
    response = httpx.get(f"{flower_url}{path}", params=params, auth=FLOWER_AUTH, timeout=15)
    assert response.status_code == 200, response.text
    return response.json()


def _flower_up(flower_url: str) -> bool:
    try:
        return httpx.get(f"{flower_url}/healthcheck", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _forged_webhook(api_url: str) -> str:
    """A webhook signed with a secret we do not hold: refused, and its signature not logged."""
    body = b'{"id": "evt_forged", "type": "customer.updated", "created": 1, "data": {"object": {}}}'
    stamp = int(time.time())
    digest = hmac.new(FORGING_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    signature = f"t={stamp},v1={digest.hexdigest()}"
    response = httpx.post(
        f"{api_url}/webhooks/stripe", content=body, headers={"Stripe-Signature": signature}
    )
    assert response.status_code == 400, response.text
    return signature


def _play(stack: Stack, server: StripeTestServer) -> tuple[dict[str, Any], dict[str, Any]]:
    api = Api(stack.api_url, token=TOKEN)
    try:
        platform = Platform(api, server).office()
        platform.user("u_sam", "Sam Lee", "admin")
        platform.user("u_jane", "Jane Doe", consent=True)
        platform.account_with_card("office", OFFICE, card=PAYING_CARD)
        platform.account_with_card("agent", "u_jane", card=DECLINING_CARD)

        platform.campaign("cmp_paid", "u_jane")
        server.control.set_faults(error_500_share=1.0, calls=1, path_prefix="/v1/payment_intents")
        paid = platform.publish_and_wait("cmp_paid")
        platform.campaign("cmp_declined", "u_sam", {"type": "agent", "billing_user_id": "u_jane"})
        declined = platform.publish_and_wait("cmp_declined")

        refused = httpx.get(
            f"{stack.api_url}/v1/publish-requests/{paid['id']}",
            headers={"Authorization": f"Bearer {WRONG_TOKEN}"},
        )
        assert refused.status_code == 401
    finally:
        api.http.close()
    stream = Stream(stack.redis_url)
    stream.wait_for(paid["id"], "campaign.published")
    stream.wait_for(declined["id"], "campaign.publish_failed")
    return paid, declined


@pytest.fixture(scope="module")
def run(
    database_url: str, engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Run]:
    _empty_tables(engine)
    for url in (REDIS_URL, BROKER_URL):
        redis.Redis.from_url(url).flushdb()
    api_port, flower_port, metrics_port = free_port(), free_port(), free_port()
    server = StripeTestServer(
        settings=StripeServerSettings(
            webhook_targets=(
                WebhookTarget(f"http://127.0.0.1:{api_port}/webhooks/stripe", WEBHOOK_SECRET),
            ),
            webhook_retry_delays_s=(0.2, 0.5, 1.0),
        )
    ).start()
    stack = Stack(
        database_url=database_url,
        redis_url=REDIS_URL,
        broker_url=BROKER_URL,
        stripe_base=server.base_url,
        log_dir=Path(tmp_path_factory.mktemp("ops-logs")),
        stripe=server,
        api_port=api_port,
        extra_env={
            "STRIPE_API_KEY": API_KEY,
            "STRIPE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
            "API_TOKENS": TOKEN,
            # Every line the service can write, not only INFO ones.
            "LOG_LEVEL": "DEBUG",
            "METRICS_DB_REFRESH_SECONDS": "0",
        },
    )
    flower = _start_flower(stack, flower_port)
    flower_url = f"http://127.0.0.1:{flower_port}"
    try:
        stack.start_api()
        stack.start_worker(WORKER, env={"WORKER_METRICS_PORT": str(metrics_port)})
        stack.start_relay()
        wait_until(lambda: _flower_up(flower_url), timeout=30, what="Flower")
        # Flower is listening to task events before the first task runs.
        wait_until(
            lambda: WORKER_NODE in _flower_get(flower_url, "/api/workers", refresh="1"),
            timeout=30,
            what="Flower to see the worker",
        )
        paid, declined = _play(stack, server)
        forged = _forged_webhook(stack.api_url)
        yield Run(
            stack=stack,
            flower_url=flower_url,
            worker_metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
            paid=paid,
            declined=declined,
            forged_signature=forged,
        )
    finally:
        stack.stop()
        os.killpg(flower.pid, signal.SIGTERM)
        flower.wait(timeout=15)
        server.stop()
        _empty_tables(engine)


# -- what the run must have been ------------------------------------------------------------


def test_the_run_charged_one_campaign_and_declined_the_other(run: Run) -> None:
    assert run.paid["status"] == "succeeded"
    assert run.declined["failure"]["code"] == "card_declined"


# -- Flower ---------------------------------------------------------------------------------


def test_flower_shows_the_worker_and_the_publish_task_it_ran(run: Run) -> None:
    workers = _flower_get(run.flower_url, "/api/workers")
    assert WORKER_NODE in workers

    def publish_tasks() -> list[dict[str, Any]]:
        tasks = _flower_get(run.flower_url, "/api/tasks", taskname="campaign_billing.publish")
        return [
            task
            for task in tasks.values()
            if task["state"] == "SUCCESS" and run.paid["id"] in str(task.get("kwargs"))
        ]

    tasks = wait_until(publish_tasks, timeout=20, what="Flower to list the publish task")
    assert tasks[0]["name"] == "campaign_billing.publish"
    assert tasks[0]["worker"] == WORKER_NODE


def test_the_worker_healthcheck_of_the_compose_file_answers(run: Run) -> None:
    command = compose_model()["services"]["worker"]["healthcheck"]["test"][1]
    line = command.split(">")[0].replace("celery@$$HOSTNAME", WORKER_NODE)
    program, *args = shlex.split(line)
    result = subprocess.run(
        [str(BIN / program), *args],
        env=run.stack.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "pong" in result.stdout


# -- metrics --------------------------------------------------------------------------------

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _scrape(url: str) -> Samples:
    body = httpx.get(url, timeout=10).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def _value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_the_api_metrics_count_every_workers_publish_outcomes_and_the_queues(run: Run) -> None:
    url = f"{run.stack.api_url}/metrics"
    # The relay has sent everything it had; the backlog drains to nothing.
    found = wait_until(
        lambda: (s := _scrape(url)) and _value(s, "campaign_billing_outbox_backlog") == 0 and s,
        what="the outbox to drain",
    )

    requests = "campaign_billing_publish_requests"
    assert _value(found, requests, status="succeeded", code="") == 1
    assert _value(found, requests, status="failed", code="card_declined") == 1
    events = "campaign_billing_webhook_events"
    assert _value(found, events, status="processed") >= 2  # the two cards saved
    assert (events, frozenset({("status", "parked")})) in found
    assert _value(found, "campaign_billing_database_metrics_up") == 1
    # The API's own Stripe calls (a customer per billing account) count here too.
    stripe_calls = "campaign_billing_stripe_calls_total"
    assert _value(found, stripe_calls, operation="customers.create", result="ok") == 2


def test_a_worker_serves_charge_latency_stripe_calls_and_retries_and_webhook_lag(
    run: Run,
) -> None:
    found = _scrape(run.worker_metrics_url)

    # At least: a decline's webhook may arrive before the worker recorded it, and send the task
    # again, which asks Stripe once more under the same key (docs/webhooks.md).
    assert _value(found, "campaign_billing_charge_seconds_count") >= 2
    calls = "campaign_billing_stripe_calls_total"
    charge = "payment_intents.create"
    assert _value(found, calls, operation=charge, result="TransientStripeError") == 1  # retried
    assert _value(found, calls, operation=charge, result="ok") == 1
    assert _value(found, calls, operation=charge, result="CardError") >= 1
    assert _value(found, "campaign_billing_stripe_call_seconds_count", operation=charge) >= 3
    assert _value(found, "campaign_billing_webhook_lag_seconds_count", status="processed") >= 2
    outcomes = "campaign_billing_publish_outcomes_total"
    assert _value(found, outcomes, status="failed", code="card_declined") == 1


# -- logs -----------------------------------------------------------------------------------


def _non_json_lines(content: str) -> list[str]:
    lines = [line for line in content.splitlines() if line.strip()]
    entries = list(iter_lines(content))
    assert all({"event", "level", "timestamp"} <= set(entry) for entry in entries)
    return [line for line in lines if not line.lstrip().startswith("{")]


def test_the_api_and_the_relay_write_json_lines_only(run: Run) -> None:
    logs = run.service_logs()
    for name in ("api.log", "relay.log"):
        assert logs[name].strip(), f"{name} is empty"
        assert _non_json_lines(logs[name]) == [], name


def test_a_worker_writes_json_lines_only(run: Run) -> None:
    assert _non_json_lines(run.service_logs()[f"{WORKER}.log"]) == []


def test_log_lines_carry_the_ids_bound_to_their_request_or_task(run: Run) -> None:
    logs = run.service_logs()
    worker = list(iter_lines(logs[f"{WORKER}.log"]))
    charged = [e for e in worker if e["event"] == "stripe_charge_answered"]
    assert {e["publish_request_id"] for e in charged} == {run.paid["id"], run.declined["id"]}
    assert all(e["task"] == "campaign_billing.publish" and e["task_id"] for e in charged)
    handled = [e for e in worker if e["event"] == "stripe_event_handled"]
    assert handled
    assert all(
        e["stripe_event_id"] and e["task"] == "campaign_billing.stripe_event" for e in handled
    )
    api = list(iter_lines(logs["api.log"]))
    published = [e for e in api if e.get("route") == "/v1/campaigns/{campaign_id}/publish"]
    assert {e["campaign_id"] for e in published} == {"cmp_paid", "cmp_declined"}
    assert all(e["request_id"] for e in published)


# Shapes of a secret whatever its value: any Stripe key, signing secret or signature at all.
SECRET_SHAPES = {
    "a Stripe secret key": re.compile(r"[sr]k_(test|live)_[A-Za-z0-9]"),
    "a webhook signing secret": re.compile(r"whsec_[A-Za-z0-9]"),
    "a Stripe-Signature": re.compile(r"t=\d+,v1=|v1=[0-9a-f]{64}"),
}


def leaks(content: str, secrets: dict[str, str]) -> list[str]:
    """What of `secrets` (by name), or of SECRET_SHAPES, appears in `content`."""
    found = [what for what, secret in secrets.items() if secret in content]
    return found + [what for what, shape in SECRET_SHAPES.items() if shape.search(content)]


def test_the_leak_scan_finds_what_it_looks_for() -> None:
    line = (
        '{"event": "stripe_request", "key": "sk_test_abc", '
        '"header": "t=1,v1=00", "card": "4242424242424242"}'
    )
    assert leaks(line, {"card number": PAYING_CARD}) == [
        "card number",
        "a Stripe secret key",
        "a Stripe-Signature",
    ]
    assert leaks('{"event": "http_request", "status": 401}', {"token": TOKEN}) == []


def test_no_card_number_token_key_or_webhook_secret_or_signature_is_ever_logged(
    run: Run,
) -> None:
    secrets = {
        "paying card number": PAYING_CARD,
        "declining card number": DECLINING_CARD,
        "Stripe API key": API_KEY,
        "webhook signing secret": WEBHOOK_SECRET,
        "bearer token": TOKEN,
        "refused bearer token": WRONG_TOKEN,
        "forging secret": FORGING_SECRET,
        "forged signature": run.forged_signature,
    }
    logs = run.service_logs()
    # A run's worth of lines, at DEBUG: the scan reads a real run, not empty files.
    assert all(len(content.splitlines()) >= 3 for content in logs.values())
    assert sum(len(content.splitlines()) for content in logs.values()) > 100
    for name, content in logs.items():
        assert leaks(content, secrets) == [], name

"""The README's first command: the demo runs the whole product on embedded defaults (SQLite,
in-memory broker, fakeredis, in-process Stripe test server) and every situation ends as the
help-centre article says it should."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def test_the_demo_plays_every_situation_on_embedded_defaults_without_any_service() -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "BROKER_URL")
    }
    # Only one of the two URLs set keeps the demo embedded; pointing it at a closed port makes
    # any stray use of the machine's Redis fail the run.
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"
    env["COLUMNS"] = "120"
    done = subprocess.run(
        [str(BIN / "campaign-billing"), "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every one ended as expected" in done.stdout
    for code in (
        "delegation_not_allowed",
        "billing_account_missing",
        "billing_account_inactive",
        "agent_billing_unavailable_v1",
        "card_declined",
        "authentication_required",
    ):
        assert code in done.stdout
    assert "campaign.published" in done.stdout

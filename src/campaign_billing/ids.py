"""Ids of the rows this service creates: a short prefix naming the kind, then 24 random hex
digits (96 bits: collisions are not a concern at any volume this service will see)."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"

"""Decoding Stripe's form encoding into nested JSON-like values.

Stripe takes `application/x-www-form-urlencoded` bodies (and query strings for GET) with nested
keys in brackets: `metadata[key]=v`, `card[number]=...`, and arrays as indexed keys, which is how
stripe-python sends every list (`expand[0]=customer`, see its `_api_encode`). `key[]=v` (append)
is accepted too, as curl users write it.
"""

import re
from typing import Any
from urllib.parse import parse_qsl

from campaign_billing.stripe_server.errors import invalid_param
from campaign_billing.stripe_server.types import JsonObject

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def decode_form(raw: str) -> JsonObject:
    root: JsonObject = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        _insert(root, key, _split_key(key), value)
    converted = _arrays(root)
    assert isinstance(converted, dict)
    return converted


def _split_key(key: str) -> list[str]:
    match = _KEY.match(key)
    if match is None:
        return [key]
    return [match.group(1), *_PART.findall(match.group(2))]


def _insert(root: JsonObject, key: str, path: list[str], value: str) -> None:
    node = root
    for part in path[:-1]:
        name = part if part != "" else str(len(node))
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            raise invalid_param(f"Invalid parameter: {key} mixes a value and a hash.", key)
        node = child
    last = path[-1] if path[-1] != "" else str(len(node))
    if isinstance(node.get(last), dict):
        raise invalid_param(f"Invalid parameter: {key} mixes a value and a hash.", key)
    node[last] = value


def _arrays(value: Any) -> Any:
    """Turns `{"0": a, "1": b}` into `[a, b]`, recursively; other hashes stay hashes."""
    if not isinstance(value, dict):
        return value
    converted = {key: _arrays(child) for key, child in value.items()}
    if converted and all(key.isdigit() for key in converted):
        indices = sorted(int(key) for key in converted)
        if indices == list(range(len(indices))):
            return [converted[str(index)] for index in indices]
    return converted

"""Object ids shaped like Stripe's: a type prefix and random base62 characters."""

import os
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
# Maps each random byte to a base62 character. The slight bias (256 is not a multiple of 62)
# does not matter for ids that only need to be unique within a run; this is several times
# faster than choosing characters one by one, and every request makes a few ids.
_BYTE_TO_CHAR = bytes(_ALPHABET.encode()[byte % len(_ALPHABET)] for byte in range(256))


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + os.urandom(length).translate(_BYTE_TO_CHAR).decode()


def new_request_id() -> str:
    return new_id("req_", 14)


def new_client_secret(object_id: str) -> str:
    return f"{object_id}_secret_{new_id('', 25)}"


def new_webhook_secret() -> str:
    return "whsec_" + "".join(secrets.choice(_ALPHABET) for _ in range(32))

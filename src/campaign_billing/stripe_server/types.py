"""Names for the JSON shapes the test server passes around."""

from typing import Any

JsonObject = dict[str, Any]
"""A Stripe object (or any JSON object) as it goes over the wire."""

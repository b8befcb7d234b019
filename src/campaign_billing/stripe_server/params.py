"""Typed access to decoded request parameters, failing the way Stripe fails.

Form values arrive as strings; Stripe coerces them per parameter and answers 400
`invalid_request_error` naming the `param` when it cannot (https://docs.stripe.com/api/errors).
"""

from collections.abc import Collection

from campaign_billing.stripe_server.errors import (
    invalid_param,
    parameter_missing,
    parameter_unknown,
)
from campaign_billing.stripe_server.types import JsonObject

# https://docs.stripe.com/api/metadata: up to 50 keys, names up to 40 characters, values up to 500.
_METADATA_MAX_KEYS = 50
_METADATA_MAX_KEY_LENGTH = 40
_METADATA_MAX_VALUE_LENGTH = 500


class Params:
    """One level of a request's parameters, e.g. the whole body or its `card[...]` hash."""

    def __init__(self, values: JsonObject, prefix: str = "") -> None:
        self._values = values
        self._prefix = prefix

    @property
    def values(self) -> JsonObject:
        return self._values

    def path(self, name: str) -> str:
        return f"{self._prefix}[{name}]" if self._prefix else name

    def has(self, name: str) -> bool:
        return name in self._values

    def reject_unknown(self, accepted: Collection[str]) -> None:
        for name in self._values:
            if name not in accepted:
                raise parameter_unknown(self.path(name))

    def text(self, name: str) -> str | None:
        value = self._values.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise invalid_param(
                f"Invalid string: {self.path(name)} must be a string.", self.path(name)
            )
        return value

    def required_text(self, name: str) -> str:
        value = self.text(name)
        if value is None or value == "":
            raise parameter_missing(self.path(name))
        return value

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise invalid_param(
                f"Invalid integer: {value}", self.path(name), "parameter_invalid_integer"
            ) from None

    def required_integer(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise parameter_missing(self.path(name))
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.text(name)
        if value is None or value == "":
            return None
        if value not in ("true", "false"):
            raise invalid_param(f"Invalid boolean: {value}", self.path(name))
        return value == "true"

    def flag(self, name: str) -> bool:
        return self.boolean(name) is True

    def nested(self, name: str) -> "Params | None":
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, dict):
            raise invalid_param(f"Invalid hash: {self.path(name)} must be a hash.", self.path(name))
        return Params(value, self.path(name))

    def texts(self, name: str) -> list[str] | None:
        value = self._values.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return [value] if value else []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise invalid_param(
                f"Invalid array: {self.path(name)} must be an array.", self.path(name)
            )
        return list(value)

    def records(self, name: str) -> list["Params"] | None:
        value = self._values.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise invalid_param(
                f"Invalid array: {self.path(name)} must be an array of hashes.", self.path(name)
            )
        return [Params(item, f"{self.path(name)}[{index}]") for index, item in enumerate(value)]

    def strings(self, name: str) -> dict[str, str] | None:
        """A hash of strings such as `address`, flattened one level."""
        nested = self.nested(name)
        if nested is None:
            return None
        return {key: str(value) for key, value in nested.values.items()}

    def metadata(
        self, current: dict[str, str] | None = None, name: str = "metadata"
    ) -> dict[str, str]:
        """The metadata after applying this request: an empty value unsets a key, `metadata=""`
        unsets them all (https://docs.stripe.com/api/metadata)."""
        merged = dict(current or {})
        raw = self._values.get(name)
        if raw is None:
            return merged
        if raw == "":
            return {}
        if isinstance(raw, list):
            # The form decoder turns `metadata[0]=...&metadata[1]=...` into a list; those were
            # metadata keys "0" and "1".
            raw = {str(index): value for index, value in enumerate(raw)}
        if not isinstance(raw, dict):
            raise invalid_param("Invalid metadata: must be a hash of strings.", self.path(name))
        for key, value in raw.items():
            if not isinstance(value, str):
                raise invalid_param(
                    "Invalid metadata: values must be strings.", f"{self.path(name)}[{key}]"
                )
            if len(key) > _METADATA_MAX_KEY_LENGTH:
                raise invalid_param(
                    f"Metadata keys can be at most {_METADATA_MAX_KEY_LENGTH} characters long.",
                    f"{self.path(name)}[{key}]",
                )
            if len(value) > _METADATA_MAX_VALUE_LENGTH:
                raise invalid_param(
                    f"Metadata values can be at most {_METADATA_MAX_VALUE_LENGTH} characters long.",
                    f"{self.path(name)}[{key}]",
                )
            if value == "":
                merged.pop(key, None)
            else:
                merged[key] = value
        if len(merged) > _METADATA_MAX_KEYS:
            raise invalid_param(
                f"Metadata can have up to {_METADATA_MAX_KEYS} keys.", self.path(name)
            )
        return merged

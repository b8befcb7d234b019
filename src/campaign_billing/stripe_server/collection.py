"""An in-memory table of one kind of Stripe object, kept in creation order."""

from collections.abc import Iterator

from campaign_billing.stripe_server.errors import resource_missing
from campaign_billing.stripe_server.types import JsonObject


class Collection:
    """Objects by id. `label` is the name Stripe uses in "No such <label>: 'id'" errors."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._items: dict[str, JsonObject] = {}

    def add(self, obj: JsonObject) -> JsonObject:
        self._items[obj["id"]] = obj
        return obj

    def get(self, object_id: str) -> JsonObject | None:
        return self._items.get(object_id)

    def require(self, object_id: str, param: str = "id") -> JsonObject:
        obj = self._items.get(object_id)
        if obj is None:
            raise resource_missing(self.label, object_id, param)
        return obj

    def remove(self, object_id: str) -> None:
        self._items.pop(object_id, None)

    def trim(self, keep: int) -> None:
        """Drops the oldest objects beyond the newest `keep`."""
        while len(self._items) > keep:
            del self._items[next(iter(self._items))]

    def newest_first(self) -> list[JsonObject]:
        return list(reversed(self._items.values()))

    def __iter__(self) -> Iterator[JsonObject]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()

"""List endpoints: cursor pagination and `created` filters, as every Stripe list takes them.

https://docs.stripe.com/api/pagination: newest first, `limit` between 1 and 100 (default 10),
`starting_after` / `ending_before` object-id cursors, and an answer
`{"object": "list", "data": [...], "has_more": ..., "url": ...}`.
"""

from collections.abc import Callable, Sequence

from campaign_billing.stripe_server.collection import Collection
from campaign_billing.stripe_server.errors import invalid_param
from campaign_billing.stripe_server.params import Params
from campaign_billing.stripe_server.types import JsonObject

PAGINATION_PARAMS = frozenset({"limit", "starting_after", "ending_before"})
LIST_PARAMS = PAGINATION_PARAMS | {"created"}


def page_limit(params: Params, default: int = 10) -> int:
    limit = params.integer("limit")
    if limit is None:
        return default
    if not 1 <= limit <= 100:
        raise invalid_param(
            f"This value must be between 1 and 100 (it currently is {limit}).", "limit"
        )
    return limit


def list_page(
    newest_first: Sequence[JsonObject], params: Params, url: str, collection: Collection
) -> JsonObject:
    limit = page_limit(params)
    items = list(newest_first)
    starting_after = params.text("starting_after")
    ending_before = params.text("ending_before")
    if starting_after:
        index = _position(items, starting_after, collection, "starting_after")
        window = items[index + 1 :]
        page, has_more = window[:limit], len(window) > limit
    elif ending_before:
        index = _position(items, ending_before, collection, "ending_before")
        window = items[:index]
        page, has_more = window[-limit:], len(window) > limit
    else:
        page, has_more = items[:limit], len(items) > limit
    return {"object": "list", "data": page, "has_more": has_more, "url": url}


def _position(items: list[JsonObject], object_id: str, collection: Collection, param: str) -> int:
    for index, item in enumerate(items):
        if item["id"] == object_id:
            return index
    collection.require(object_id, param)
    raise invalid_param(f"{object_id} is not part of this list.", param)


def created_filter(params: Params, name: str = "created") -> Callable[[JsonObject], bool]:
    """`created=<ts>` or `created[gt|gte|lt|lte]=<ts>` (https://docs.stripe.com/api/events/list)."""
    exact = params.integer(name) if isinstance(params.values.get(name), str) else None
    bounds = params.nested(name)
    lower_exclusive = bounds.integer("gt") if bounds else None
    lower = bounds.integer("gte") if bounds else None
    upper_exclusive = bounds.integer("lt") if bounds else None
    upper = bounds.integer("lte") if bounds else None

    def accepts(obj: JsonObject) -> bool:
        created: int = obj["created"]
        return (
            (exact is None or created == exact)
            and (lower_exclusive is None or created > lower_exclusive)
            and (lower is None or created >= lower)
            and (upper_exclusive is None or created < upper_exclusive)
            and (upper is None or created <= upper)
        )

    return accepts

"""Matching a request's method and path to a handler, with the path's ids pulled out."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from campaign_billing.stripe_server.event_log import Origin
from campaign_billing.stripe_server.params import Params
from campaign_billing.stripe_server.state import AccountState
from campaign_billing.stripe_server.types import JsonObject


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    path_params: Mapping[str, str]
    params: Params
    origin: Origin
    base_url: str
    """Where the client reached this server, e.g. for a Checkout Session's `url`."""

    def path_param(self, name: str) -> str:
        return self.path_params[name]


Handler = Callable[[AccountState, ApiRequest], JsonObject]

# Parameters every endpoint takes (https://docs.stripe.com/api/expanding_objects).
COMMON_PARAMS = frozenset({"expand"})


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    accepts: frozenset[str] = field(default_factory=frozenset)
    """Top-level parameter names Stripe documents for the endpoint; others get 400
    `parameter_unknown`, as Stripe answers them."""

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.template.strip("/").split("/"))


@dataclass(frozen=True)
class Match:
    route: Route
    path_params: dict[str, str]


class Router:
    def __init__(self, routes: Iterable[Route]) -> None:
        self._by_shape: dict[tuple[str, int], list[Route]] = {}
        for route in routes:
            self._by_shape.setdefault((route.method, len(route.segments)), []).append(route)
        for candidates in self._by_shape.values():
            # Literal segments win over placeholders: /v1/payment_intents/search is not an id.
            candidates.sort(key=lambda r: sum(s.startswith("{") for s in r.segments))

    def match(self, method: str, path: str) -> Match | None:
        parts = path.strip("/").split("/")
        for route in self._by_shape.get((method, len(parts)), []):
            params = bind(route.segments, parts)
            if params is not None:
                return Match(route, params)
        return None


def bind(template: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    bound: dict[str, str] = {}
    for expected, actual in zip(template, parts, strict=True):
        if expected.startswith("{"):
            if not actual:
                return None
            bound[expected[1:-1]] = actual
        elif expected != actual:
            return None
    return bound

"""Stripe's search query language, for the `/search` endpoints.

https://docs.stripe.com/search#search-query-language: clauses `field:value` (exact, case
insensitive), `field~"sub"` (substring, at least 3 characters), `field>n` / `<` / `>=` / `<=` /
`=` on numbers, `metadata['key']:'value'`, `-` to negate, `null` for a missing value, joined by
`AND` or `OR` (not both), at most 10 clauses. Results come back as
`{"object": "search_result", "data": [...], "has_more": ..., "next_page": ..., "url": ...}`.

Real Stripe search is eventually consistent (objects become searchable within about a minute);
here an object is searchable as soon as it is written.
"""

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from campaign_billing.stripe_server.errors import invalid_param
from campaign_billing.stripe_server.listing import page_limit
from campaign_billing.stripe_server.params import Params
from campaign_billing.stripe_server.types import JsonObject

_MAX_CLAUSES = 10
_MIN_SUBSTRING = 3
_OPERATORS = (">=", "<=", ":", "~", ">", "<", "=")


class FieldKind(Enum):
    STRING = "string"
    NUMBER = "number"
    METADATA = "metadata"


@dataclass(frozen=True)
class Clause:
    field: str
    key: str | None
    operator: str
    value: str | None
    negated: bool


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...]
    any_of: bool


def _query_error(message: str) -> Exception:
    return invalid_param(message, "query")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def done(self) -> bool:
        self.skip_spaces()
        return self.pos >= len(self.text)

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def word(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] in "_."
        ):
            self.pos += 1
        return self.text[start : self.pos]

    def quoted(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                chars.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == quote:
                self.pos += 1
                return "".join(chars)
            chars.append(char)
            self.pos += 1
        raise _query_error(f"Unterminated string in query: {self.text!r}")

    def bare(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and not self.text[self.pos].isspace():
            self.pos += 1
        return self.text[start : self.pos]


def parse_query(text: str) -> Query:
    scanner = _Scanner(text)
    clauses: list[Clause] = []
    joiners: set[str] = set()
    while True:
        clauses.append(_clause(scanner))
        if scanner.done():
            break
        joiner = scanner.word()
        if joiner not in ("AND", "OR"):
            raise _query_error(f"Expected AND or OR at position {scanner.pos} in {text!r}")
        joiners.add(joiner)
    if len(joiners) > 1:
        raise _query_error("A query cannot combine AND and OR.")
    if len(clauses) > _MAX_CLAUSES:
        raise _query_error(f"A query can have at most {_MAX_CLAUSES} clauses.")
    return Query(tuple(clauses), any_of=joiners == {"OR"})


def _clause(scanner: _Scanner) -> Clause:
    scanner.skip_spaces()
    negated = scanner.peek("-")
    if negated:
        scanner.pos += 1
    field = scanner.word()
    if not field:
        raise _query_error(f"Expected a field at position {scanner.pos} in {scanner.text!r}")
    key = None
    if scanner.peek("["):
        scanner.pos += 1
        if not (scanner.peek("'") or scanner.peek('"')):
            raise _query_error(f"Expected a quoted key after {field}[ in {scanner.text!r}")
        key = scanner.quoted()
        if not scanner.peek("]"):
            raise _query_error(f"Expected ] after {field}['{key}' in {scanner.text!r}")
        scanner.pos += 1
    operator = next((op for op in _OPERATORS if scanner.peek(op)), None)
    if operator is None:
        raise _query_error(f"Expected an operator after {field} in {scanner.text!r}")
    scanner.pos += len(operator)
    if scanner.peek("'") or scanner.peek('"'):
        value: str | None = scanner.quoted()
    else:
        raw = scanner.bare()
        if not raw:
            raise _query_error(f"Expected a value after {field}{operator} in {scanner.text!r}")
        value = None if raw == "null" else raw
    return Clause(field, key, operator, value, negated)


def matches(query: Query, obj: JsonObject, fields: Mapping[str, FieldKind]) -> bool:
    results = (_clause_matches(clause, obj, fields) for clause in query.clauses)
    return any(results) if query.any_of else all(results)


def validate(query: Query, fields: Mapping[str, FieldKind]) -> None:
    for clause in query.clauses:
        kind = fields.get(clause.field)
        if kind is None:
            raise _query_error(
                f"Field '{clause.field}' is not a supported search field; "
                f"use one of {sorted(fields)}."
            )
        if (kind is FieldKind.METADATA) != (clause.key is not None):
            raise _query_error(f"Use metadata['key'] to search metadata, not {clause.field}.")
        if kind is FieldKind.NUMBER and clause.operator == "~":
            raise _query_error(f"Field '{clause.field}' is a number; '~' needs a string field.")
        if kind is not FieldKind.NUMBER and clause.operator in (">", "<", ">=", "<=", "="):
            raise _query_error(f"Field '{clause.field}' is not a number; use ':' or '~'.")
        if clause.operator == "~" and (clause.value is None or len(clause.value) < _MIN_SUBSTRING):
            raise _query_error(f"Substring search needs at least {_MIN_SUBSTRING} characters.")
        if kind is FieldKind.NUMBER and clause.value is not None:
            try:
                float(clause.value)
            except ValueError:
                raise _query_error(
                    f"Field '{clause.field}' needs a number, not {clause.value!r}."
                ) from None


def _clause_matches(clause: Clause, obj: JsonObject, fields: Mapping[str, FieldKind]) -> bool:
    kind = fields[clause.field]
    actual: Any = obj.get(clause.field)
    if kind is FieldKind.METADATA:
        actual = (actual or {}).get(clause.key)
    result = _compare(kind, clause.operator, actual, clause.value)
    return not result if clause.negated else result


def _compare(kind: FieldKind, operator: str, actual: Any, expected: str | None) -> bool:
    if expected is None:
        return actual is None
    if actual is None:
        return False
    if kind is FieldKind.NUMBER:
        number, target = float(actual), float(expected)
        return {
            ":": number == target,
            "=": number == target,
            ">": number > target,
            "<": number < target,
            ">=": number >= target,
            "<=": number <= target,
        }[operator]
    if operator == "~":
        return expected.lower() in str(actual).lower()
    return str(actual).lower() == expected.lower()


def search_page(
    newest_first: Sequence[JsonObject], params: Params, fields: Mapping[str, FieldKind], url: str
) -> JsonObject:
    query = parse_query(params.required_text("query"))
    validate(query, fields)
    limit = page_limit(params)
    offset = _decode_page(params.text("page"))
    found = [obj for obj in newest_first if matches(query, obj, fields)]
    page = found[offset : offset + limit]
    has_more = len(found) > offset + limit
    return {
        "object": "search_result",
        "data": page,
        "has_more": has_more,
        "next_page": _encode_page(offset + limit) if has_more else None,
        "url": url,
    }


def _encode_page(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_page(token: str | None) -> int:
    if not token:
        return 0
    try:
        label, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if label != "offset":
            raise ValueError(token)
        return int(number)
    except ValueError:
        raise invalid_param(f"Invalid page: {token}", "page") from None

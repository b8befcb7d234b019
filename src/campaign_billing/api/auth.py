"""Bearer tokens for the upstream apps, and which workspaces each one may touch.

`API_TOKENS` is a comma-separated list of entries. An entry is either

- `TOKEN`: the token may read and change every workspace, or
- `TOKEN=WS_A|WS_B`: the token is limited to the workspaces listed after the *last* `=`
  (so tokens may end in base64 padding: `abc==ws_a` is the token `abc=` limited to `ws_a`, and
  `abc==` alone is the unlimited token `abc==`).

For example `API_TOKENS="s3cr3t-backoffice,s3cr3t-acme=ws_acme,s3cr3t-two=ws_a|ws_b"`.
Whitespace around entries is ignored; tokens may not contain `,`. A malformed entry stops the
service at start-up rather than being guessed at; error messages name the entry by position,
never by its token.

A limited token is answered 404 for anything of another workspace, exactly as if it did not
exist, and 403 when an upsert names another workspace in its body.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field

ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
_WORKSPACE_ID = re.compile(ID_PATTERN)
_MAX_ID_LENGTH = 64


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, as far as authorisation cares: the workspaces the token may touch."""

    # None: every workspace.
    workspaces: frozenset[str] | None

    def may_access(self, workspace_id: str) -> bool:
        return self.workspaces is None or workspace_id in self.workspaces

    def visible(self, workspace_id: str | None) -> str | None:
        """The workspace when the caller may see it, else None: a row of a workspace the caller
        may not see is treated exactly like a row that does not exist."""
        if workspace_id is None or not self.may_access(workspace_id):
            return None
        return workspace_id


@dataclass(frozen=True, slots=True)
class _Grant:
    # repr=False: a grant printed in a traceback or a log must not show its token.
    token: bytes = field(repr=False)
    caller: Caller


class TokenVerifier:
    """Checks a presented bearer token against every configured one."""

    def __init__(self, grants: tuple[_Grant, ...]) -> None:
        self._grants = grants

    @classmethod
    def from_setting(cls, api_tokens: str) -> TokenVerifier:
        """Parses `API_TOKENS` (see the module docstring). Raises ValueError when malformed."""
        grants = []
        for position, entry in enumerate(api_tokens.split(","), start=1):
            entry = entry.strip()
            if entry:
                grants.append(_parse_entry(entry, position))
        return cls(tuple(grants))

    @property
    def configured(self) -> bool:
        return bool(self._grants)

    def authenticate(self, presented: str) -> Caller | None:
        """The caller the token belongs to, or None.

        Compares with `hmac.compare_digest` against *every* configured token, without stopping
        at a match, so the time taken says nothing about which token matched or how much of one.
        """
        # Starlette decodes header values as latin-1: that recovers the bytes that were sent,
        # which are compared with the UTF-8 bytes of the configured token.
        candidate = presented.encode("latin-1", errors="replace")
        found: Caller | None = None
        for grant in self._grants:
            if hmac.compare_digest(candidate, grant.token) and found is None:
                found = grant.caller
        return found


def _parse_entry(entry: str, position: int) -> _Grant:
    token, separator, scope = entry.rpartition("=")
    if not separator or not scope:
        # No `=`, or `=` only as trailing padding: an unlimited token.
        return _Grant(entry.encode(), Caller(workspaces=None))
    workspaces = frozenset(part.strip() for part in scope.split("|"))
    invalid = [
        ws for ws in workspaces if len(ws) > _MAX_ID_LENGTH or not _WORKSPACE_ID.fullmatch(ws)
    ]
    if not token or invalid:
        raise ValueError(
            f"API_TOKENS entry {position} is malformed: expected TOKEN or TOKEN=WS_A|WS_B, with "
            f"workspace ids of 1-{_MAX_ID_LENGTH} characters from {ID_PATTERN}"
        )
    return _Grant(token.encode(), Caller(workspaces=workspaces))

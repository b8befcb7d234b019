"""Cutting a client's connection mid-request, which ASGI itself cannot express.

An ASGI app can only answer; to make the client see a network error instead (a reset, or an
answer lost after the charge was made) the app needs the connection's transport. uvicorn accepts
a custom HTTP protocol class (`uvicorn.Config(http=...)`); the one made here records each
connection's transport under the client address that ASGI also reports as `scope["client"]`.
"""

import asyncio
import socket
import struct

from uvicorn.protocols.http.h11_impl import H11Protocol

ClientAddress = tuple[str, int]


class ConnectionRegistry:
    def __init__(self) -> None:
        self._transports: dict[ClientAddress, asyncio.BaseTransport] = {}

    def opened(self, client: ClientAddress | None, transport: asyncio.BaseTransport) -> None:
        if client is not None:
            self._transports[client] = transport

    def closed(self, client: ClientAddress | None) -> None:
        if client is not None:
            self._transports.pop(client, None)

    def cut(self, client: ClientAddress | None, *, reset: bool) -> bool:
        """Closes the client's connection without an answer; False if it is not tracked.

        `reset` sends a TCP RST (SO_LINGER 0), which the client reads as "connection reset by
        peer"; otherwise the socket is closed and the client reads "connection closed without
        response". Either way the HTTP client raises a connection error.
        """
        transport = self._transports.get(client) if client is not None else None
        if transport is None:
            return False
        sock = transport.get_extra_info("socket")
        if reset and sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if isinstance(transport, asyncio.WriteTransport):
            transport.abort()
        else:
            transport.close()
        return True


def tracking_protocol(registry: ConnectionRegistry) -> type[H11Protocol]:
    """uvicorn's h11 protocol, reporting each connection to `registry`."""

    class TrackingH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            registry.opened(self.client, transport)

        def connection_lost(self, exc: Exception | None) -> None:
            registry.closed(self.client)
            super().connection_lost(exc)

    return TrackingH11Protocol

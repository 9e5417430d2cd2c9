"""``kejie serve --workers N`` listens on a socket that gives accepted connections
TCP_NODELAY (uvicorn's own does not: every keep-alive request then waits ~40 ms)."""

from __future__ import annotations

import asyncio
import socket

from kejie.cli.serve import tcp_listener


async def _accepted_nodelay(listener: socket.socket) -> tuple[int, int]:
    seen: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
            sock = transport.get_extra_info("socket")
            seen.set_result((sock.proto, sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
    port = listener.getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await asyncio.wait_for(seen, 5)
    finally:
        writer.close()
        server.close()
        await server.wait_closed()


def test_accepted_connections_get_tcp_nodelay() -> None:
    proto, nodelay = asyncio.run(_accepted_nodelay(tcp_listener("127.0.0.1", 0)))
    assert proto == socket.IPPROTO_TCP
    assert nodelay != 0


def test_a_plain_socket_would_not() -> None:
    # what uvicorn's bind_socket makes: the reason for tcp_listener (if asyncio or
    # uvicorn change this, the workaround can go)
    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    plain.bind(("127.0.0.1", 0))
    proto, nodelay = asyncio.run(_accepted_nodelay(plain))
    assert (proto, nodelay) == (0, 0)

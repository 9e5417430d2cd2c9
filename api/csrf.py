"""Cross-site request refusal for browser (cookie) requests.

A request that changes something (POST, PUT, PATCH, DELETE) and does not carry a
bearer token may come from a browser holding our session cookie, so it must come
from our own pages: its ``Origin`` (or, without one, its ``Referer``) must be this
server's own origin or one of ``KEJIE_TRUSTED_ORIGINS``, and a browser's
``Sec-Fetch-Site: cross-site`` is refused. Requests with ``Authorization: Bearer``
are exempt (a browser never adds that header on its own). Page forms carry a
CSRF token on top of this (``api.pages.common.require_csrf``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": "80", "https": "443"}
REFUSED = "跨站请求被拒绝：请从本站页面提交 / cross-site request refused"


def normalise_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or None if unreadable."""
    try:
        parts = urlsplit(value.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is not None and str(port) != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def _own_origin(scope: Scope, headers: Headers) -> str | None:
    host = headers.get("host")
    if not host:
        server = scope.get("server")
        if not server:
            return None
        host = f"{server[0]}:{server[1]}"
    return normalise_origin(f"{scope.get('scheme', 'http')}://{host}")


def is_cross_site(scope: Scope, trusted: frozenset[str]) -> bool:
    if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
        return False
    headers = Headers(scope=scope)
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return False
    if headers.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    claimed = headers.get("origin") or headers.get("referer")
    if not claimed:
        return False  # not a browser (browsers send Origin on every cross-origin write)
    origin = normalise_origin(claimed)
    if origin is None:
        return True  # "null" (sandboxed frame, data: URL) or garbage
    return origin != _own_origin(scope, headers) and origin not in trusted


class CrossSiteGuard:
    """ASGI middleware: refuses cross-site unsafe requests with 403 before any handler runs."""

    def __init__(self, app: ASGIApp, trusted_origins: list[str] | tuple[str, ...] = ()) -> None:
        self.app = app
        self.trusted = frozenset(o for o in (normalise_origin(t) for t in trusted_origins) if o)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_cross_site(scope, self.trusted):
            await JSONResponse({"detail": REFUSED}, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)

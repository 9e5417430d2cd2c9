"""Response headers every answer carries, as plain ASGI middleware.

Starlette's ``@app.middleware("http")`` runs each request through a task group
and a memory stream; on a small index that cost as much event-loop time as the
ranking itself, so the headers are added to the ``http.response.start``
message instead.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
# pages and JSON may carry contact data for staff: never keep them in a browser
# or proxy cache (the back button after logout shows nothing)
NO_STORE = (b"cache-control", b"no-store")
CACHEABLE_PREFIXES = ("/static", "/docs-assets")


class SecurityHeaders:
    """Adds ``ALWAYS`` (and ``Cache-Control: no-store`` outside static files)
    unless the response already set that header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = ALWAYS if scope["path"].startswith(CACHEABLE_PREFIXES) else (*ALWAYS, NO_STORE)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in extra if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)

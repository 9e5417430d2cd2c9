"""Passwords and signed tokens, stdlib only.

Passwords: scrypt with a random per-user salt, stored as
``scrypt$n$r$p$salt_b64$hash_b64`` so the cost can be raised later.

Tokens: ``base64url(json payload) . base64url(HMAC-SHA256(payload, secret_key))``.
The payload carries the user id, role, expiry and the id of the server-side
session (``kejie.sessions``); the signature covers the exact bytes sent, and the
user and the session are re-read from the database on every request, so a
deactivated account or a revoked (logged-out) or idle session stops working at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64e(salt)}${_b64e(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode("utf-8"), salt=_b64d(salt), n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _b64d(expected))


class TokenError(Exception):
    """A token that is malformed, tampered with or expired."""


@dataclass(frozen=True)
class TokenPayload:
    user_id: int
    role: str
    expires_at: int
    session_id: str = ""


def _sign(secret_key: str, body: bytes) -> bytes:
    return hmac.new(secret_key.encode("utf-8"), body, hashlib.sha256).digest()


def create_token(secret_key: str, user_id: int, role: str, ttl_minutes: int, session_id: str = "") -> str:
    payload: dict[str, object] = {"sub": user_id, "role": role, "exp": int(time.time()) + ttl_minutes * 60}
    if session_id:
        payload["sid"] = session_id
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return f"{_b64e(body)}.{_b64e(_sign(secret_key, body))}"


def decode_token(secret_key: str, token: str) -> TokenPayload:
    try:
        body_part, sig_part = token.split(".")
        body = _b64d(body_part)
        sig = _b64d(sig_part)
    except (ValueError, TypeError) as exc:
        raise TokenError("malformed token") from exc
    if not hmac.compare_digest(sig, _sign(secret_key, body)):
        raise TokenError("bad signature")
    try:
        data = json.loads(body)
        payload = TokenPayload(
            user_id=int(data["sub"]),
            role=str(data["role"]),
            expires_at=int(data["exp"]),
            session_id=str(data.get("sid") or ""),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenError("malformed payload") from exc
    if payload.expires_at < time.time():
        raise TokenError("expired")
    return payload


def csrf_token(secret_key: str, session_token: str) -> str:
    """A per-session token for HTML forms, derived from the session cookie."""
    return _b64e(_sign(secret_key, b"csrf:" + session_token.encode("utf-8")))[:32]


def check_csrf(secret_key: str, session_token: str, submitted: str) -> bool:
    return hmac.compare_digest(csrf_token(secret_key, session_token), submitted or "")

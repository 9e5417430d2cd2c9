"""Domain errors of the use cases. They say what is wrong in words for the
user; the HTTP edge (``api/errors.py``) maps each class to one status code, the
pages to a message on the form, the CLI to a one-line error."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a use case raises on purpose."""


class RecordNotFound(DomainError):
    """A record named in the request does not exist (404)."""

    def __init__(self, what: str, ident: int | str) -> None:
        super().__init__(f"{what} {ident} 不存在 / not found")
        self.what, self.ident = what, ident


class FieldProblem(DomainError):
    """One input field is wrong (422, shaped like a validation error), or names a
    record that does not exist (``missing=True``: 404, same shape)."""

    def __init__(self, field: str, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.field, self.reason, self.missing = field, reason, missing


class NotAllowed(DomainError):
    """The user may not see or do this (403)."""

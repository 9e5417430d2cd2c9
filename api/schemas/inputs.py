"""Checks every request input shares: ids that fit the database's integer
columns, and text without control characters.

* :data:`MAX_ID` is the largest value of a 32-bit ``INTEGER`` primary key
  (PostgreSQL refuses anything larger with a 500 if it reaches the query).
  :data:`IdPath`, :data:`IdQuery` and :func:`id_field` bound ids to
  ``1..MAX_ID`` so a bigger one is a 422 naming the field.
* :class:`InputModel` is the base of every request body: a string anywhere in
  it (also inside lists) holding NUL or another control character (see
  :mod:`ingest.sanitize`) is a 422 naming the field.
* Query parameters get the same check for every route at once in
  :func:`api.errors.install_error_handlers`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, Field, field_validator

from ingest.sanitize import check_text

MAX_ID = 2**31 - 1


def id_field(description: str, default: Any = ..., **kw: Any) -> Any:
    """A body field holding a database id."""
    return Field(default, ge=1, le=MAX_ID, description=description, **kw)


IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="编号 / id")]


def id_query(description: str) -> Any:
    return Query(ge=1, le=MAX_ID, description=description)


class InputModel(BaseModel):
    """Base of request bodies: no control characters in any text."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return check_text(value)

"""What of a candidate an index keeps and how it tells a change: its cleaned
items, its whole-profile text and its content hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from matcher.types import Candidate, ProfileItem

ITEM_BITS = 12  # item i of the candidate with key k has vector id (k << ITEM_BITS) | i
MAX_ITEMS = (1 << ITEM_BITS) - 1


def profile_text(items: Iterable[ProfileItem]) -> str:
    return "；".join(i.text for i in items)


ITEM_MAX_CHARS = 3000  # what is encoded and segmented of one item (a demand's description ...)


def clean_items(items: Iterable[ProfileItem]) -> list[ProfileItem]:
    """Drop blanks and exact duplicates, keep order, cap the count and each item's length."""
    seen: set[tuple[str, str]] = set()
    out: list[ProfileItem] = []
    for it in items:
        text = " ".join(str(it.text or "").split())[:ITEM_MAX_CHARS]
        if not text or (it.field, text) in seen:
            continue
        seen.add((it.field, text))
        out.append(ProfileItem(it.field, text))
        if len(out) >= MAX_ITEMS:
            break
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def content_hash(c: Candidate) -> str:
    payload = json.dumps(
        [c.name, [[i.field, i.text] for i in c.items], _jsonable(c.attrs)],
        ensure_ascii=False, sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()

"""Hard filters on ``Candidate.attrs``: a candidate either passes or is dropped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from matcher.types import Filters


def _city_key(city: str) -> str:
    c = str(city or "").strip()
    for suffix in ("市", "地区", "区", "县"):
        if c.endswith(suffix) and len(c) > len(suffix):
            return c[: -len(suffix)]
    return c


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, Iterable):
        return list(value)
    return [value]


def passes(candidate_id: str, attrs: Mapping[str, Any], filters: Filters | None) -> bool:
    if filters is None:
        return True
    if candidate_id in filters.exclude_ids:
        return False
    if filters.cities:
        wanted = {_city_key(c) for c in filters.cities if c}
        if _city_key(attrs.get("city", "")) not in wanted:
            return False
    if filters.disciplines:
        have = [str(d) for d in _as_list(attrs.get("disciplines"))]
        wanted_d = [str(d) for d in filters.disciplines if d]
        # "材料" matches "材料科学与工程" and the other way round.
        if not any(w in h or h in w for w in wanted_d for h in have if h):
            return False
    if filters.academician_only and not attrs.get("is_academician", False):
        return False
    if filters.available_only and not attrs.get("available", True):
        return False
    for name, accepted in filters.attr_in.items():
        values = _as_list(attrs.get(name))
        ok = {str(a) for a in accepted}
        if not any(str(v) in ok for v in values):
            return False
    return True


def mask(ids: Sequence[str], attrs: Sequence[Mapping[str, Any]], filters: Filters | None) -> np.ndarray:
    """Boolean array: which candidates pass."""
    if filters is None:
        return np.ones(len(ids), dtype=bool)
    return np.fromiter((passes(i, a, filters) for i, a in zip(ids, attrs, strict=True)),
                       dtype=bool, count=len(ids))


def with_exclusions(filters: Filters | None, exclude_ids: Iterable[str] = (),
                    attr_in: Mapping[str, list[Any]] | None = None) -> Filters:
    """A copy of ``filters`` that also excludes ``exclude_ids`` and requires
    ``attr_in`` (the caller's own ``attr_in`` for the same attribute wins)."""
    base = filters or Filters()
    return Filters(
        cities=base.cities,
        disciplines=base.disciplines,
        academician_only=base.academician_only,
        available_only=base.available_only,
        exclude_ids=set(base.exclude_ids) | set(exclude_ids),
        attr_in={**(attr_in or {}), **base.attr_in},
    )

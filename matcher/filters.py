"""Hard filters on ``Candidate.attrs``: a candidate either passes or is dropped."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from matcher.rules import city_key as _city_key
from matcher.types import Filters


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
    return AttrTable(ids, attrs).mask(filters)


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


Values = Callable[[Mapping[str, Any]], list[str]]


def _city_values(attrs: Mapping[str, Any]) -> list[str]:
    return [_city_key(attrs.get("city", ""))]


def _discipline_values(attrs: Mapping[str, Any]) -> list[str]:
    return [str(d) for d in _as_list(attrs.get("disciplines"))]


class AttrTable:
    """Column view of the candidates' attrs for vectorised ``mask``.

    Built once per index snapshot; each column (city keys, discipline lists,
    flags, any ``attr_in`` attribute, normalised groupings) is derived on first
    use and kept, so a request costs O(distinct values + excluded ids), not a
    Python call per candidate. ``mask`` gives exactly what ``passes`` gives.
    """

    def __init__(self, ids: Sequence[str], attrs: Sequence[Mapping[str, Any]],
                 row_of: Mapping[str, int] | None = None) -> None:
        if len(ids) != len(attrs):
            raise ValueError("ids and attrs differ in length")
        self.ids = ids
        self.attrs = attrs
        self.n = len(ids)
        if row_of is None:
            row_of = {cid: r for r, cid in enumerate(ids)}
        self.row_of = row_of
        self._unique_ids = len(row_of) == self.n
        self._columns: dict[Any, Any] = {}

    # -- columns ------------------------------------------------------------
    def _multi(self, key: Any, values: Values) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(row of each entry, code of each entry, distinct values) of a
        multi-valued string column."""
        col = self._columns.get(key)
        if col is None:
            codes_of: dict[str, int] = {}
            rows: list[int] = []
            codes: list[int] = []
            for r, a in enumerate(self.attrs):
                for v in values(a):
                    rows.append(r)
                    codes.append(codes_of.setdefault(v, len(codes_of)))
            col = (np.asarray(rows, dtype=np.int64), np.asarray(codes, dtype=np.int64), list(codes_of))
            self._columns[key] = col
        return col  # type: ignore[no-any-return]

    def _flag(self, name: str, default: bool) -> np.ndarray:
        key = ("flag", name, default)
        col = self._columns.get(key)
        if col is None:
            col = np.fromiter((bool(a.get(name, default)) for a in self.attrs), dtype=bool, count=self.n)
            self._columns[key] = col
        return col  # type: ignore[no-any-return]

    def _any(self, key: Any, values: Values, hit: Callable[[str], bool]) -> np.ndarray:
        rows, codes, distinct = self._multi(key, values)
        hits = np.fromiter((hit(v) for v in distinct), dtype=bool, count=len(distinct))
        out = np.zeros(self.n, dtype=bool)
        if len(codes):
            out[rows[hits[codes]]] = True
        return out

    def groups(self, name: str, key: Callable[[Any], Any]) -> dict[Any, list[int]]:
        """Rows grouped by ``key(attrs.get(name, ""))``."""
        ck = ("groups", name, key)
        col = self._columns.get(ck)
        if col is None:
            col = {}
            for r, a in enumerate(self.attrs):
                col.setdefault(key(a.get(name, "")), []).append(r)
            self._columns[ck] = col
        return col  # type: ignore[no-any-return]

    # -- masks --------------------------------------------------------------
    def exclusion_mask(self, exclude_ids: Iterable[str]) -> np.ndarray:
        out = np.ones(self.n, dtype=bool)
        excl = set(exclude_ids)
        if not excl:
            return out
        if self._unique_ids:
            rows = [self.row_of[c] for c in excl if c in self.row_of]
            out[np.asarray(rows, dtype=np.int64)] = False
        else:
            out &= np.fromiter((c not in excl for c in self.ids), dtype=bool, count=self.n)
        return out

    def mask(self, filters: Filters | None) -> np.ndarray:
        """Boolean array: which candidates pass (same as ``passes`` per row)."""
        if filters is None:
            return np.ones(self.n, dtype=bool)
        out = self.exclusion_mask(filters.exclude_ids)
        if filters.cities:
            wanted = {_city_key(c) for c in filters.cities if c}
            out &= self._any("city", _city_values, wanted.__contains__)
        if filters.disciplines:
            wanted_d = [str(d) for d in filters.disciplines if d]
            out &= self._any("disciplines", _discipline_values,
                             lambda h: bool(h) and any(w in h or h in w for w in wanted_d))
        if filters.academician_only:
            out &= self._flag("is_academician", False)
        if filters.available_only:
            out &= self._flag("available", True)
        for name, accepted in filters.attr_in.items():
            ok = {str(a) for a in accepted}

            def values(a: Mapping[str, Any], name: str = name) -> list[str]:
                return [str(v) for v in _as_list(a.get(name))]

            out &= self._any(("attr_in", name), values, ok.__contains__)
        return out

"""Turn one :class:`SourceRow` into clean ORM field values, or into RowErrors.

A value of ``None`` (or ``""``/``[]``) in the output means "not given": the
importer never lets a blank cell erase a stored value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ingest import keys
from ingest.errors import RowError
from ingest.fields import DESCRIPTION_MAX, TITLE_MAX
from ingest.normalize import (
    cell_text,
    clean_code,
    clean_line,
    clean_text,
    guess_city,
    parse_bool,
    parse_date,
    parse_email,
    parse_int,
    parse_landline,
    parse_list,
    parse_mobile,
    parse_postcode,
    parse_region,
    parse_website,
    split_address_postcode,
)
from ingest.sanitize import ILLEGAL_CHARS, char_name, illegal_reason
from ingest.table import SourceRow, Table
from models import Demand, Enterprise, Expert, Society

_MULTI = re.compile(r"[/／、,，;；]|\s{2,}")


@dataclass
class CleanRow:
    row: int
    key: str
    label: str  # shown in reports: the demand title, the expert's name ...
    fields: dict[str, Any]
    enterprise_key: str = ""
    enterprise_fields: dict[str, Any] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)


class _Checker:
    """Collects every problem of one row instead of stopping at the first."""

    def __init__(self, table: Table, row: SourceRow) -> None:
        self.table = table
        self.row = row
        self.errors: list[RowError] = []
        self.warnings: list[dict[str, Any]] = []

    def raw(self, name: str) -> Any:
        return self.row.values.get(name)

    def fail(self, name: str, reason: str, value: Any = None) -> None:
        shown = cell_text(self.raw(name) if value is None else value).strip()
        self.errors.append(
            RowError(self.table.header_for(name), shown, reason, file=self.table.file, row=self.row.row)
        )

    def warn(self, name: str, reason: str) -> None:
        self.warnings.append(
            {
                "file": self.table.file,
                "row": self.row.row,
                "field": self.table.header_for(name),
                "value": cell_text(self.raw(name)).strip(),
                "reason": reason,
            }
        )

    def check(self, name: str, parse: Callable[[Any], Any], value: Any = None) -> Any:
        raw = self.raw(name) if value is None else value
        try:
            return parse(raw)
        except ValueError as exc:
            self.fail(name, str(exc), raw)
            return None

    def line(self, name: str, limit: int) -> str:
        text = clean_line(self.raw(name))
        if len(text) > limit:
            self.fail(name, f"内容过长（最多{limit}字，实际{len(text)}字）")
            return ""
        return text

    def text(self, name: str) -> str:
        return clean_text(self.raw(name))

    def first_valid(self, name: str, parse: Callable[[Any], str]) -> str:
        """One phone number or address; several in one cell keep the first valid one, with a warning."""
        raw = self.raw(name)
        code = clean_code(raw)
        if not code:
            return ""
        try:
            return parse(raw)
        except ValueError as exc:
            parts = [p for p in _MULTI.split(cell_text(raw)) if p.strip()]
            if len(parts) > 1:
                try:
                    parsed = [parse(p) for p in parts]
                except ValueError:
                    pass
                else:
                    self.warn(name, "填写了多个，只保留第一个")
                    return parsed[0]
            self.fail(name, str(exc))
            return ""

    def region(self) -> tuple[str, str]:
        raw = self.raw("region")
        if clean_code(raw):
            try:
                return parse_region(raw)
            except ValueError as exc:
                self.fail("region", str(exc))
        return "", ""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    return []


def illegal_characters(table: Table, row: SourceRow) -> list[RowError]:
    """One reject per field whose raw value holds NUL or another control character
    (nothing of such a row is stored; PostgreSQL would refuse the whole batch)."""
    errors = []
    for name, value in row.values.items():
        for text in _strings(value):
            reason = illegal_reason(text)
            if reason:
                shown = ILLEGAL_CHARS.sub(lambda m: f"[{char_name(m.group(0))}]", text)[:200]
                errors.append(RowError(table.header_for(name), shown, reason, file=table.file, row=row.row))
                break
    return errors


_LIMITS: dict[type[Any], dict[str, int]] = {}


def _enforce_lengths(c: _Checker, model: type[Any], fields: dict[str, Any], rename: dict[str, str] | None = None) -> None:
    """Reject values longer than their column (PostgreSQL would refuse the whole batch)."""
    limits = _LIMITS.get(model)
    if limits is None:
        limits = _LIMITS[model] = {
            c.name: c.type.length for c in model.__table__.columns if getattr(c.type, "length", None)
        }
    for name, value in fields.items():
        limit = limits.get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            source = (rename or {}).get(name, name)
            if not any(e.field == c.table.header_for(source) for e in c.errors):
                c.fail(source, f"内容过长（最多{limit}字，实际{len(value)}字）")


def _summary_title(description: str) -> str:
    first = re.split(r"[。；;！!？?\n]", description, maxsplit=1)[0].strip()
    return first if len(first) <= 60 else first[:60] + "…"


def clean_demand(table: Table, row: SourceRow) -> CleanRow | list[RowError]:
    c = _Checker(table, row)
    name = c.line("enterprise_name", 200)
    if not name and not c.errors:
        c.fail("enterprise_name", "单位名称不能为空")
    title = c.line("title", TITLE_MAX)
    description = c.text("description")
    if len(description) > DESCRIPTION_MAX:
        c.fail("description", f"具体的技术需求说明有 {len(description)} 字，超过 {DESCRIPTION_MAX} 字的上限；请精简后再导入",
               value=description[:60] + "…")
    if not title and not description:
        c.fail("description" if "description" in table.columns else "title", "技术需求名称和具体的技术需求说明至少要填写一项")

    address = c.line("address", 300)
    postcode = c.check("postcode", parse_postcode) or ""
    if clean_line(c.raw("address_postcode")):
        combined_address, combined_postcode = split_address_postcode(c.raw("address_postcode"))
        address = address or combined_address
        postcode = postcode or combined_postcode

    city, county = c.region()
    county = c.line("county", 40) or county
    submitted_by = c.line("submitted_by", 120) or table.submitted_by[:120]
    submitted_on: date | None = c.check("submitted_on", lambda v: parse_date(v, label="填报时间"))
    if submitted_on is None and not clean_code(c.raw("submitted_on")) and table.submitted_on:
        try:
            submitted_on = parse_date(table.submitted_on, label="填报时间")
        except ValueError:
            submitted_on = None
    if not city and not clean_code(c.raw("region")):
        city = guess_city(address, submitted_by)

    industry = c.line("industry", 60)
    enterprise = {
        "name": name,
        "main_business": c.text("main_business"),
        "profile": c.text("profile"),
        "website": c.check("website", parse_website) or "",
        "address": address,
        "postcode": postcode,
        "city": city,
        "county": county,
        "industry": industry,
    }
    demand = {
        "title": title or _summary_title(description),
        "description": description or title,
        "industry": industry,
        "keywords": parse_list(c.raw("keywords")),
        "contact_name": c.line("contact_name", 60),
        "mobile": c.first_valid("mobile", parse_mobile),
        "office_phone": c.first_valid("office_phone", lambda v: parse_landline(v, label="办公电话")),
        "fax": c.first_valid("fax", lambda v: parse_landline(v, label="传真")),
        "email": c.first_valid("email", parse_email),
        "submitted_by": submitted_by,
        "submitted_on": submitted_on,
    }
    _enforce_lengths(c, Enterprise, enterprise, {"name": "enterprise_name", "city": "region"})
    _enforce_lengths(c, Demand, demand)
    if c.errors:
        return c.errors
    return CleanRow(
        row=row.row,
        key=keys.demand_key(name, title),
        label=demand["title"],
        fields=demand,
        enterprise_key=keys.enterprise_key(name),
        enterprise_fields=enterprise,
        warnings=c.warnings,
    )


def clean_expert(table: Table, row: SourceRow) -> CleanRow | list[RowError]:
    c = _Checker(table, row)
    name = c.line("name", 60)
    if not name and not c.errors:
        c.fail("name", "姓名不能为空")
    external_id = clean_code(c.raw("external_id"))
    title = c.line("title", 60)
    affiliation = c.line("affiliation", 200)
    is_academician = c.check("is_academician", lambda v: parse_bool(v, label="是否院士"))
    if is_academician is None and "院士" in title:
        is_academician = True
    city, _county = c.region()
    fields = {
        "external_id": external_id,
        "name": name,
        "title": title,
        "is_academician": is_academician,
        "affiliation": affiliation,
        "disciplines": parse_list(c.raw("disciplines"), weak="，,"),
        "research_areas": parse_list(c.raw("research_areas")),
        "achievements": parse_list(c.raw("achievements"), weak=""),
        "keywords": parse_list(c.raw("keywords")),
        "societies": parse_list(c.raw("societies")),
        "city": city,
        "mobile": c.first_valid("mobile", parse_mobile),
        "email": c.first_valid("email", parse_email),
        "capacity": c.check("capacity", lambda v: parse_int(v, label="可接待次数", minimum=0, maximum=50)),
        "available": c.check("available", lambda v: parse_bool(v, label="是否可用")),
    }
    _enforce_lengths(c, Expert, fields, {"city": "region"})
    if c.errors:
        return c.errors
    return CleanRow(
        row=row.row,
        key=keys.expert_key(external_id, name, affiliation),
        label=name,
        fields=fields,
        warnings=c.warnings,
    )


def clean_society(table: Table, row: SourceRow) -> CleanRow | list[RowError]:
    c = _Checker(table, row)
    name = c.line("name", 200)
    if not name and not c.errors:
        c.fail("name", "学会名称不能为空")
    external_id = clean_code(c.raw("external_id"))
    city, _county = c.region()
    fields = {
        "external_id": external_id,
        "name": name,
        "category": c.line("category", 60),
        "disciplines": parse_list(c.raw("disciplines"), weak="，,"),
        "description": c.text("description"),
        "keywords": parse_list(c.raw("keywords")),
        "representative_works": parse_list(c.raw("representative_works"), weak=""),
        "city": city,
        "capacity": c.check("capacity", lambda v: parse_int(v, label="可接待次数", minimum=0, maximum=50)),
    }
    _enforce_lengths(c, Society, fields, {"city": "region"})
    if c.errors:
        return c.errors
    return CleanRow(
        row=row.row,
        key=keys.society_key(external_id, name),
        label=name,
        fields=fields,
        warnings=c.warnings,
    )


CLEANERS: dict[str, Callable[[Table, SourceRow], CleanRow | list[RowError]]] = {
    "demands": clean_demand,
    "experts": clean_expert,
    "societies": clean_society,
}

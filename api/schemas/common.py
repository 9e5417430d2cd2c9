"""Shared schema pieces: pagination, error bodies and input checks."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ingest.normalize import parse_email, parse_landline, parse_mobile, parse_region
from kejie.rules import redact_contacts as redact_contacts  # the one redaction rule

T = TypeVar("T")

class ORMModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """A page of results. 分页结果。"""

    items: list[T] = Field(description="本页记录 / records on this page")
    total: int = Field(description="符合条件的记录总数 / total matching records")
    limit: int = Field(description="每页条数 / page size")
    offset: int = Field(description="跳过的条数 / records skipped")


class FieldError(BaseModel):
    field: str = Field(description="出错的字段 / the offending field")
    reason: str = Field(description="原因（中文）/ reason in plain words")


class ErrorBody(BaseModel):
    detail: list[FieldError] | str


# Same rules as the spreadsheet importer, so a demand typed into the web form and
# one imported from a 征集表 are held to one standard.


def clean_mobile(value: str) -> str:
    return parse_mobile(value)


def clean_phone(value: str, label: str = "办公电话") -> str:
    return parse_landline(value, label=label)


def clean_email(value: str) -> str:
    return parse_email(value)


def clean_city(value: str) -> str:
    city, _county = parse_region(value)
    return city


def clean_terms(values: list[str]) -> list[str]:
    """Strip, drop empties and duplicates, keep order."""
    seen: dict[str, None] = {}
    for v in values:
        v = v.strip()
        if v:
            seen.setdefault(v, None)
    return list(seen)

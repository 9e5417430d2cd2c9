"""Plain data passed between the matcher and its callers (API, batch, CLI).

A candidate is anything that can be ranked: an expert, a society, or (in the
reverse direction) a demand. Its profile is a list of items so that scoring can
use the best-matching item rather than one long concatenated text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

CandidateKind = Literal["expert", "society", "demand"]


@dataclass(frozen=True)
class ProfileItem:
    field: str  # e.g. "research_area", "achievement", "keyword", "title", "description"
    text: str


@dataclass
class Candidate:
    id: str  # stable id: the record's external id or "<kind>:<db id>"
    kind: CandidateKind
    name: str
    items: list[ProfileItem]
    # Filterable attributes: city, disciplines (list), is_academician, available,
    # affiliation, enterprise_id, industry, status ...
    attrs: dict[str, Any] = field(default_factory=dict)

    def full_text(self) -> str:
        return "；".join([self.name, *(i.text for i in self.items)])


@dataclass
class Filters:
    cities: list[str] | None = None
    disciplines: list[str] | None = None
    academician_only: bool = False
    available_only: bool = False
    exclude_ids: set[str] = field(default_factory=set)
    # attribute name -> accepted values, for anything not covered above
    attr_in: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class Match:
    id: str
    kind: CandidateKind
    name: str
    score: float  # fused score, higher is better
    lexical: float
    semantic: float
    best_item: ProfileItem | None
    shared_terms: list[str]
    reasons: list[str]  # human-readable, Chinese
    probability: float | None = None  # calibrated P(relevant) where the kind has a fitted model
    grade: str | None = None  # 高 / 中 / 低 from that probability

"""Matching use cases: a demand's experts or societies, free text, an expert's or
a society's recommended demands, and keeping the index current after a write.

Reads never wait for writes: the match service answers queries from immutable
index snapshots while a writer encodes and builds the next one (see
``matcher/index.py``), and it serialises its writers itself, so use cases take
no lock of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from kejie.errors import RecordNotFound
from matcher.errors import IndexOutOfDate
from matcher.types import Filters, Match
from models import Demand, Expert, ExpertFeedback, Society

if TYPE_CHECKING:
    from kejie.match_service import MatchService

CandidateKind = Literal["expert", "society"]


PLURAL_TO_KIND: dict[str, CandidateKind] = {"experts": "expert", "societies": "society"}


def refresh_index(index: MatchService, session: Session, kind: str, ids: Iterable[int]) -> None:
    index.refresh(session, kind, list(ids))  # type: ignore[arg-type]


def match_demand(
    index: MatchService,
    session: Session,
    demand_id: int,
    kind: CandidateKind,
    top_k: int,
    filters: Filters | None,
) -> list[Match]:
    # the enterprise comes in the same query: the ranker reads its main business
    if session.get(Demand, demand_id, options=[joinedload(Demand.enterprise)]) is None:
        raise RecordNotFound("技术需求", demand_id)
    return index.match_demand(session, demand_id, kind, top_k=top_k, filters=filters)


def match_text(
    index: MatchService,
    session: Session,
    text: str,
    kind: Literal["expert", "society", "demand"],
    top_k: int,
    filters: Filters | None,
) -> list[Match]:
    try:
        return index.match_text(text, kind, top_k=top_k, filters=filters)
    except IndexOutOfDate:
        # never loaded in this process (e.g. the service was created without
        # the start-up sync): load this kind from the database once
        index.sync(session, kinds=[kind])
        return index.match_text(text, kind, top_k=top_k, filters=filters)


def declined_demand_ids(session: Session, expert_id: int) -> set[str]:
    rows = session.scalars(
        select(ExpertFeedback.demand_id).where(
            ExpertFeedback.expert_id == expert_id, ExpertFeedback.choice == "declined"
        )
    )
    return {str(r) for r in rows}


def recommend_for_expert(
    index: MatchService, session: Session, expert_id: int, top_k: int, include_declined: bool = False
) -> list[Match]:
    if session.get(Expert, expert_id) is None:
        raise RecordNotFound("专家", expert_id)
    exclude = set() if include_declined else declined_demand_ids(session, expert_id)
    return index.recommend_for_expert(session, expert_id, top_k=top_k, filters=Filters(exclude_ids=exclude))


def recommend_for_society(index: MatchService, session: Session, society_id: int, top_k: int) -> list[Match]:
    if session.get(Society, society_id) is None:
        raise RecordNotFound("学会", society_id)
    return index.recommend_for_society(session, society_id, top_k=top_k)

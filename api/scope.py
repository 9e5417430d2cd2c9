"""What an expert account may see: the demands recommended to that expert.

"Recommended" is the union of the expert's current recommendation list (the
top ``settings.expert_visible_demands``, declined ones left out), the demands
the expert marked as interesting, and the demands an event plan paired the
expert with. Staff see everything (``None``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import is_staff
from kejie import matching
from kejie.settings import Settings
from models import Demand, ExpertFeedback, MatchItem, User

if TYPE_CHECKING:
    from kejie.match_service import MatchService

NOT_RECOMMENDED = "只能查看推荐给您的技术需求 / only demands recommended to you"


def visible_demand_ids(
    session: Session, index: MatchService, settings: Settings, user: User
) -> set[int] | None:
    """Ids of the demands ``user`` may open; ``None`` means all (staff)."""
    if is_staff(user):
        return None
    if user.expert_id is None:
        return set()
    expert_id = user.expert_id
    recs = matching.recommend_for_expert(index, session, expert_id, settings.expert_visible_demands)
    ids = {int(m.id) for m in recs if str(m.id).isdigit()}
    ids |= set(
        session.scalars(
            select(ExpertFeedback.demand_id).where(
                ExpertFeedback.expert_id == expert_id, ExpertFeedback.choice == "interested"
            )
        )
    )
    ids |= set(session.scalars(select(MatchItem.demand_id).where(MatchItem.expert_id == expert_id)))
    return ids


def visible_enterprise_ids(
    session: Session, index: MatchService, settings: Settings, user: User
) -> set[int] | None:
    """Enterprises behind the demands ``user`` may open; ``None`` means all (staff)."""
    demand_ids = visible_demand_ids(session, index, settings, user)
    if demand_ids is None:
        return None
    if not demand_ids:
        return set()
    return set(session.scalars(select(Demand.enterprise_id).where(Demand.id.in_(demand_ids))))


def require_visible(ids: set[int] | None, ident: int, message: str = NOT_RECOMMENDED) -> None:
    if ids is not None and ident not in ids:
        raise HTTPException(status.HTTP_403_FORBIDDEN, message)

"""What an expert account may open: the rule, in one place.

An expert sees the demands recommended to them (their top
``settings.expert_visible_demands``), those they marked 感兴趣 and those an
event paired them with, and the enterprises behind those demands; staff see
everything. An expert answers (interested / declined) only a demand they may
see or answered before: a mark on any other id would make it visible. The
API's routers and pages ask these functions; a refusal is ``NotAllowed`` (403).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from kejie import matching
from kejie.errors import NotAllowed
from kejie.settings import Settings
from models import Demand, ExpertFeedback, MatchItem, Role, User

if TYPE_CHECKING:
    from kejie.match_service import MatchService

NOT_RECOMMENDED = "只能查看推荐给您的技术需求 / only demands recommended to you"


def sees_everything(user: User) -> bool:
    return user.role in (Role.staff, Role.admin)


def visible_demand_ids(session: Session, index: MatchService, settings: Settings, user: User) -> set[int] | None:
    """Ids of the demands ``user`` may open; ``None`` means all (staff)."""
    if sees_everything(user):
        return None
    if user.expert_id is None:
        return set()
    expert_id = user.expert_id
    recs = matching.recommend_for_expert(index, session, expert_id, settings.expert_visible_demands)
    ids = {int(m.id) for m in recs if str(m.id).isdigit()}
    ids |= set(session.scalars(select(ExpertFeedback.demand_id).where(
        ExpertFeedback.expert_id == expert_id, ExpertFeedback.choice == "interested")))
    ids |= set(session.scalars(select(MatchItem.demand_id).where(MatchItem.expert_id == expert_id)))
    return ids


def visible_enterprise_ids(session: Session, index: MatchService, settings: Settings,
                           user: User) -> set[int] | None:
    """Enterprises behind the demands ``user`` may open; ``None`` means all (staff)."""
    demand_ids = visible_demand_ids(session, index, settings, user)
    if demand_ids is None:
        return None
    if not demand_ids:
        return set()
    return set(session.scalars(select(Demand.enterprise_id).where(Demand.id.in_(demand_ids))))


def require_visible(ids: set[int] | None, ident: int, message: str = NOT_RECOMMENDED) -> None:
    if ids is not None and ident not in ids:
        raise NotAllowed(message)


def require_may_answer(session: Session, index: MatchService, settings: Settings, user: User,
                       demand_id: int) -> None:
    """An expert answers only a demand they may see, or one they answered before."""
    if sees_everything(user) or user.role != Role.expert or user.expert_id is None:
        return
    answered = session.scalar(select(ExpertFeedback.id).where(
        ExpertFeedback.expert_id == user.expert_id, ExpertFeedback.demand_id == demand_id))
    if answered is None:
        require_visible(visible_demand_ids(session, index, settings, user), demand_id)

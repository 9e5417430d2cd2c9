"""Outcomes of pairings (对接结果) and the quarterly report."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from api import presenters
from api.deps import PageDep, SessionDep, StaffUser
from api.schemas import OutcomeCreate, OutcomePublic, OutcomeReport, Page
from api.schemas.inputs import id_query
from api.scope import ScopeDep
from kejie import outcomes, queries
from models import Outcome, OutcomeStatus

router = APIRouter(tags=["outcomes 对接结果"])


@router.post(
    "/outcomes",
    response_model=OutcomePublic,
    status_code=status.HTTP_201_CREATED,
    summary="记录对接结果 / record an outcome",
)
def create_outcome(body: OutcomeCreate, session: SessionDep, user: StaffUser) -> OutcomePublic:
    return OutcomePublic.model_validate(outcomes.record_outcome(session, user, body))


@router.get("/outcomes", response_model=Page[OutcomePublic], summary="对接结果列表 / list outcomes")
def list_outcomes(
    session: SessionDep,
    _user: StaffUser,
    page: PageDep,
    demand_id: Annotated[int | None, id_query("技术需求编号 / demand id")] = None,
    expert_id: Annotated[int | None, id_query("专家编号 / expert id")] = None,
    society_id: Annotated[int | None, id_query("学会编号 / society id")] = None,
    status_: Annotated[OutcomeStatus | None, Query(alias="status", description="状态 / status")] = None,
    *,
    scope: ScopeDep,
) -> Page[OutcomePublic]:
    query = scope.outcomes(select(Outcome))
    if demand_id is not None:
        query = query.where(Outcome.demand_id == demand_id)
    if expert_id is not None:
        query = query.where(Outcome.expert_id == expert_id)
    if society_id is not None:
        query = query.where(Outcome.society_id == society_id)
    if status_ is not None:
        query = query.where(Outcome.status == status_)
    total, rows = queries.count_and_page(
        session, query, [Outcome.recorded_at.desc(), Outcome.id.desc()], page.limit, page.offset
    )
    return Page[OutcomePublic](
        items=[OutcomePublic.model_validate(o) for o in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get(
    "/reports/outcomes",
    response_model=OutcomeReport,
    summary="对接成效统计（按状态、季度、城市）/ outcome counts by status, quarter and city",
)
def outcomes_report(
    session: SessionDep,
    _user: StaffUser,
    date_from: Annotated[date | None, Query(alias="from", description="起始日期 YYYY-MM-DD / from")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="截止日期 YYYY-MM-DD / to")] = None,
    *,
    scope: ScopeDep,
) -> OutcomeReport:
    return presenters.outcome_report(outcomes.outcome_report(session, date_from, date_to, scope))

"""Outcome use cases: record what happened after a match, an expert's
interested / declined mark, and the outcome report by status, quarter and city."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from kejie.audit import audit
from kejie.errors import FieldProblem, RecordNotFound
from kejie.scope import Scope, scope_for
from models import (
    Demand,
    DemandStatus,
    Enterprise,
    Expert,
    ExpertFeedback,
    Outcome,
    OutcomeStatus,
    Society,
    User,
)

# an outcome moves its demand's status forward to at least this, never back; closed stays closed
STATUS_AFTER: dict[OutcomeStatus, DemandStatus] = {
    OutcomeStatus.contacted: DemandStatus.matched,
    OutcomeStatus.visited: DemandStatus.in_progress,
    OutcomeStatus.signed: DemandStatus.solved,
}
_PROGRESS = [DemandStatus.open, DemandStatus.matched, DemandStatus.in_progress, DemandStatus.solved]
DEMAND_STATUS_LABEL = {"open": "待对接", "matched": "已匹配", "in_progress": "对接中", "solved": "已解决", "closed": "已关闭"}


def advance_status(demand: Demand, outcome: OutcomeStatus) -> str:
    """Move ``demand.status`` forward for ``outcome``; returns what changed in words ("" if nothing)."""
    target = STATUS_AFTER.get(outcome)
    current = DemandStatus(demand.status)
    if target is None or current not in _PROGRESS or _PROGRESS.index(current) >= _PROGRESS.index(target):
        return ""
    demand.status = target
    return f"需求状态由“{DEMAND_STATUS_LABEL[current.value]}”变为“{DEMAND_STATUS_LABEL[target.value]}”"


class OutcomeInput(Protocol):
    demand_id: int
    expert_id: int | None
    society_id: int | None
    match_item_id: int | None
    status: OutcomeStatus
    notes: str | None


class FeedbackInput(Protocol):
    demand_id: int
    choice: str
    note: str | None


def record_outcome(session: Session, user: User, body: OutcomeInput) -> Outcome:
    scope = scope_for(session, user)
    scope.require_demand_writer()
    if not scope.everything and session.scalar(scope.demands(select(Demand.id).where(Demand.id == body.demand_id))) is None:
        raise FieldProblem("demand_id", f"技术需求 {body.demand_id} 不存在", missing=True)
    if (body.expert_id is None) == (body.society_id is None):
        raise FieldProblem("expert_id", "请在专家（expert_id）和学会（society_id）中选且只选一个")
    demand = session.get(Demand, body.demand_id)
    if demand is None:
        raise FieldProblem("demand_id", f"技术需求 {body.demand_id} 不存在", missing=True)
    if body.expert_id is not None and session.get(Expert, body.expert_id) is None:
        raise FieldProblem("expert_id", f"专家 {body.expert_id} 不存在", missing=True)
    if body.society_id is not None and session.get(Society, body.society_id) is None:
        raise FieldProblem("society_id", f"学会 {body.society_id} 不存在", missing=True)
    outcome = Outcome(
        demand_id=body.demand_id,
        expert_id=body.expert_id,
        society_id=body.society_id,
        match_item_id=body.match_item_id,
        status=body.status,
        notes=body.notes,
        recorded_by=user.id,
    )
    session.add(outcome)
    change = advance_status(demand, body.status)
    session.flush()
    outcome.status_change = change  # type: ignore[attr-defined]  # read by the edges, not stored
    audit(
        session,
        user,
        "create",
        "outcome",
        outcome.id,
        {
            "demand_id": body.demand_id,
            "expert_id": body.expert_id,
            "society_id": body.society_id,
            "status": body.status.value,
            "demand_status": str(demand.status),
        },
    )
    session.commit()
    return outcome


def record_feedback(
    session: Session, user: User, expert_id: int, body: FeedbackInput, scope: Scope | None = None
) -> ExpertFeedback:
    """A society's ``scope`` must carry its recommended demands (``scope_for`` with the index)."""
    scope = scope or scope_for(session, user)
    scope.require_expert(expert_id)
    if not scope.everything:  # a mark of interest would widen the society's own scope
        scope.require_demand(session, body.demand_id)
    if session.get(Expert, expert_id) is None:
        raise RecordNotFound("专家", expert_id)
    demand = session.get(Demand, body.demand_id)
    if demand is None:
        raise FieldProblem("demand_id", f"技术需求 {body.demand_id} 不存在", missing=True)
    row = session.scalar(
        select(ExpertFeedback).where(
            ExpertFeedback.expert_id == expert_id, ExpertFeedback.demand_id == body.demand_id
        )
    )
    if row is None:
        row = ExpertFeedback(expert_id=expert_id, demand_id=body.demand_id)
        session.add(row)
    row.choice = body.choice
    row.note = body.note
    row.at = datetime.now(UTC)
    session.flush()
    audit(session, user, "feedback", "expert_feedback", row.id, {
        "expert_id": expert_id, "demand_id": body.demand_id, "choice": body.choice
    })
    session.commit()
    return row


def quarter_of(d: datetime) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def outcome_report(
    session: Session, date_from: date | None, date_to: date | None, scope: Scope | None = None
) -> dict[str, Any]:
    """Counts by status, quarter and city (the shape of ``api.schemas.OutcomeReport``).
    A range that ends before it starts is a :class:`FieldProblem` on ``to``, never 0."""
    if date_from is not None and date_to is not None and date_to < date_from:
        raise FieldProblem("to", f"截止日期（{date_to}）不能早于起始日期（{date_from}）")
    query = select(Outcome.status, Outcome.recorded_at, Enterprise.city).join(
        Demand, Outcome.demand_id == Demand.id
    ).join(Enterprise, Demand.enterprise_id == Enterprise.id)
    if scope is not None:
        query = scope.outcomes(query)
    if date_from is not None:
        query = query.where(Outcome.recorded_at >= datetime.combine(date_from, time.min, tzinfo=UTC))
    if date_to is not None:
        query = query.where(Outcome.recorded_at <= datetime.combine(date_to, time.max, tzinfo=UTC))
    by_status: Counter[str] = Counter()
    by_quarter: dict[str, Counter[str]] = defaultdict(Counter)
    by_city: dict[str, Counter[str]] = defaultdict(Counter)
    for st, at, city in session.execute(query):
        key = OutcomeStatus(st).value
        by_status[key] += 1
        by_quarter[quarter_of(at)][key] += 1
        by_city[city or "未知"][key] += 1

    def rows(groups: dict[str, Counter[str]], order: Any) -> list[dict[str, Any]]:
        return [
            {"key": k, "total": sum(c.values()), "by_status": _all_statuses(c)}
            for k, c in sorted(groups.items(), key=order)
        ]

    return {
        "date_from": date_from,
        "date_to": date_to,
        "total": sum(by_status.values()),
        "by_status": _all_statuses(by_status),
        "by_quarter": rows(by_quarter, lambda kv: kv[0]),
        "by_city": rows(by_city, lambda kv: (-sum(kv[1].values()), kv[0])),
    }


def _all_statuses(counts: Counter[str]) -> dict[str, int]:
    return {s.value: counts.get(s.value, 0) for s in OutcomeStatus}

"""Demand use cases: post a demand (finding or creating its enterprise) and edit
one. Each write adds its AuditLog row in the same transaction, commits, then
tells the match index so rankings reflect it at once."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.keys import demand_key, enterprise_key
from kejie.audit import audit
from kejie.errors import FieldProblem, RecordNotFound
from kejie.matching import refresh_index
from kejie.scope import Scope, scope_for
from models import Demand, DemandStatus, Enterprise, User

if TYPE_CHECKING:
    from kejie.match_service import MatchService


class DemandInput(Protocol):
    """A new demand as validated by the edge (``api.schemas.DemandCreate`` is one)."""

    enterprise_id: int | None
    enterprise_name: str | None
    city: str | None
    county: str | None
    industry: str | None
    title: str
    description: str
    keywords: list[str]
    contact_name: str | None
    mobile: str | None
    office_phone: str | None
    fax: str | None
    email: str | None
    submitted_by: str | None
    submitted_on: date | None
    status: DemandStatus


def _resolve_enterprise(session: Session, body: DemandInput, scope: Scope) -> Enterprise:
    if body.enterprise_id is not None:
        ent = session.get(Enterprise, body.enterprise_id)
        if ent is None or (not scope.everything and ent.city != scope.city):
            raise FieldProblem("enterprise_id", f"企业 {body.enterprise_id} 不存在")
        return ent
    city = scope.write_city(body.city)
    name = (body.enterprise_name or "").strip()
    if not name:
        raise FieldProblem("enterprise_name", "请填写单位名称，或给出已有企业的编号 enterprise_id")
    key = enterprise_key(name)
    ent = session.scalar(select(Enterprise).where(Enterprise.dedup_key == key))
    if ent is not None and not scope.everything and ent.city != scope.city:
        raise FieldProblem("enterprise_name", f"“{name[:60]}”已登记在{ent.city or '其他设区市'}，{scope.name}不能为其填报")
    if ent is None:
        ent = Enterprise(
            dedup_key=key,
            name=name,
            city=city,
            county=body.county,
            industry=body.industry,
        )
        session.add(ent)
        session.flush()
    return ent


def create_demand(session: Session, index: MatchService, user: User, body: DemandInput) -> Demand:
    scope = scope_for(session, user)
    scope.require_demand_writer()
    ent = _resolve_enterprise(session, body, scope)
    key = demand_key(ent.name, body.title)
    if session.scalar(select(Demand.id).where(Demand.dedup_key == key)) is not None:
        raise FieldProblem("title", f"{ent.name} 已登记过同名的技术需求；要修改请打开该需求的“编辑”页")
    demand = Demand(
        dedup_key=key,
        enterprise_id=ent.id,
        title=body.title,
        description=body.description,
        industry=body.industry or ent.industry,
        keywords=body.keywords,
        contact_name=body.contact_name,
        mobile=body.mobile,
        office_phone=body.office_phone,
        fax=body.fax,
        email=body.email,
        submitted_by=body.submitted_by,
        submitted_on=body.submitted_on or date.today(),
        status=body.status,
        source_file="web",
    )
    session.add(demand)
    session.flush()
    audit(session, user, "create", "demand", demand.id, {"title": demand.title})
    session.commit()
    refresh_index(index, session, "demand", [demand.id])
    return demand


# fields of a demand's enterprise that the demand's edit may change too
ENTERPRISE_FIELDS = ("city", "county", "address")
_NULLABLE = {"submitted_on"}


def update_demand(
    session: Session, index: MatchService, user: User, demand_id: int, changes: dict[str, Any]
) -> Demand:
    """Apply ``changes`` (the fields the caller set, e.g. ``model_dump(exclude_unset=True)``).
    ``city``, ``county`` and ``address`` change the demand's enterprise; a new title
    moves the dedup key, so a later import of the sheet recognises the demand.
    A city account edits only its city's demands and cannot move one to another city."""
    scope = scope_for(session, user)
    scope.require_demand_writer()
    scope.require_demand(session, demand_id)
    if changes.get("city") is not None:
        changes = {**changes, "city": scope.write_city(changes["city"])}
    demand = session.get(Demand, demand_id)
    if demand is None:
        raise RecordNotFound("技术需求", demand_id)
    ent = demand.enterprise
    changed: list[str] = []
    for name, value in changes.items():
        if value is None and name not in _NULLABLE:
            raise FieldProblem(name, "不能设为空值；不修改请不要提供该字段")
        target: Any = ent if name in ENTERPRISE_FIELDS else demand
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed.append(f"enterprise.{name}" if target is ent else name)
    if "title" in changed:
        key = demand_key(ent.name, demand.title)
        other = session.scalar(select(Demand.id).where(Demand.dedup_key == key, Demand.id != demand.id))
        if other is not None:
            session.rollback()
            raise FieldProblem("title", f"{ent.name} 已有同名的技术需求（编号 {other}）")
        demand.dedup_key = key
    if changed:
        # contact fields are named, never their values: the audit log is not a contact list
        audit(session, user, "update", "demand", demand.id, {"fields": changed})
        session.commit()
        refresh_index(index, session, "demand", [demand.id])
    return demand

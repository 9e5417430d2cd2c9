"""Organisations (issue 12): the provincial association, the city associations
(设区市科协) and the societies (学会) whose staff have accounts. Admins create
them (``POST /organisations``, ``kejie orgs create``); what each sees is
``kejie.scope``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kejie.errors import FieldProblem
from matcher.rules import city_key
from models import Enterprise, Organisation, OrgKind, Society, User


def create_organisation(
    session: Session, kind: OrgKind | str, name: str, *, city: str = "", society_id: int | None = None
) -> Organisation:
    """Add an organisation (flushed, not committed); a :class:`FieldProblem` names a bad input."""
    try:
        kind = OrgKind(kind)
    except ValueError:
        raise FieldProblem("kind", f"未知的机构类型“{str(kind)[:20]}”，应为 province、city 或 society") from None
    name = name.strip()
    if not name:
        raise FieldProblem("name", "请填写机构名称")
    if session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None:
        raise FieldProblem("name", f"机构“{name}”已存在")
    city = city.strip()
    if kind == OrgKind.city:
        if not city:
            raise FieldProblem("city", "设区市科协须填写所在设区市（如 福州市）")
        city = canonical_city(session, city)
    elif city:
        raise FieldProblem("city", "只有设区市科协填写设区市")
    if kind == OrgKind.society:
        if society_id is None:
            raise FieldProblem("society_id", "学会须关联一个学会记录（society_id）")
        if session.get(Society, society_id) is None:
            raise FieldProblem("society_id", f"学会 {society_id} 不存在", missing=True)
    elif society_id is not None:
        raise FieldProblem("society_id", "只有学会关联学会记录")
    org = Organisation(kind=kind, name=name, city=city, society_id=society_id)
    session.add(org)
    session.flush()
    return org


def canonical_city(session: Session, city: str) -> str:
    """``泉州`` is ``泉州市`` when enterprises are stored as ``泉州市`` (the stored spelling wins)."""
    key = city_key(city)
    for stored in session.scalars(select(Enterprise.city).distinct()):
        if stored and city_key(stored) == key:
            return stored
    return city if city.endswith("市") else f"{city}市"


def list_organisations(session: Session) -> list[tuple[Organisation, int]]:
    """Every organisation with its number of accounts."""
    orgs = list(session.scalars(select(Organisation).order_by(Organisation.id)))
    counts: dict[int, int] = {}
    for org_id in session.scalars(select(User.organisation_id).where(User.organisation_id.is_not(None))):
        counts[org_id] = counts.get(org_id, 0) + 1
    return [(o, counts.get(o.id, 0)) for o in orgs]


def find_organisation(session: Session, ref: str) -> Organisation:
    """An organisation by id or by name (for the CLI's ``--org``)."""
    org = session.get(Organisation, int(ref)) if ref.isdigit() else None
    org = org or session.scalar(select(Organisation).where(Organisation.name == ref.strip()))
    if org is None:
        raise FieldProblem("org", f"机构“{ref[:60]}”不存在（kejie orgs list 列出全部）", missing=True)
    return org

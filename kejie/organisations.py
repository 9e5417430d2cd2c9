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


# the demo organisations and accounts `kejie serve --load-sample` and `kejie sample load`
# create (README account table); `kejie serve` refuses a non-loopback address while
# any of them still has its demo password (kejie.deployment)
DEMO_ORGANISATIONS = (
    # (name, kind, city, society name, username, password)
    ("福州市科协", OrgKind.city, "福州市", "", "fuzhou", "fuzhou123"),
    ("泉州市科协", OrgKind.city, "泉州市", "", "quanzhou", "quanzhou123"),
    ("福建省机械工程学会", OrgKind.society, "", "福建省机械工程学会", "jixie", "jixie123"),
)


def seed_demo_organisations(session: Session) -> list[str]:
    """Create the demo organisations and their staff accounts if missing (commits);
    returns the usernames created. A society whose record is missing is skipped."""
    from kejie.accounts import create_user
    from models import Role

    created: list[str] = []
    for name, kind, city, society_name, username, password in DEMO_ORGANISATIONS:
        org = session.scalar(select(Organisation).where(Organisation.name == name))
        if org is None:
            society_id = None
            if kind == OrgKind.society:
                society_id = session.scalar(select(Society.id).where(Society.name == society_name))
                if society_id is None:
                    continue
            org = create_organisation(session, kind, name, city=city, society_id=society_id)
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(session, username, password, Role.staff, display_name=name, organisation_id=org.id)
            created.append(username)
    session.commit()
    return created

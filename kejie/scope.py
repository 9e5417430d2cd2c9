"""Who sees what, per organisation (issue 12): the one rule every list, page,
export and write applies, as SQL filters on the query and checks on one record.

- the provincial association (and every account without an organisation, as
  before organisations existed) sees everything;
- a city association (设区市科协) sees and writes only its city's enterprises and
  demands (and the outcomes, matches and exports of those demands), reads the
  experts and societies it matches against, and imports demand sheets whose
  rows are its city's (rows without a 设区市 get its city);
- a society (学会) maintains its own experts (the experts whose 学会 list names
  it; imports add it to every row) and reads, with contacts redacted as experts
  see them, the demands recommended to it or to its experts.

Events, plans, quarterly 统计表, background jobs and accounts stay with the
provincial association (:attr:`Scope.everything`). Experts' own scope (the
demands recommended to them) is ``api.scope``; an expert account has no
organisation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kejie.errors import FieldProblem, NotAllowed, RecordNotFound
from matcher.rules import city_key
from models import (
    Demand,
    Enterprise,
    Expert,
    ExpertFeedback,
    ImportLog,
    MatchItem,
    Organisation,
    OrgKind,
    Outcome,
    Society,
    User,
)

if TYPE_CHECKING:
    from kejie.match_service import MatchService

PROVINCE_ONLY = "仅限省科协工作人员 / provincial association staff only"
IMPORT_KINDS = {OrgKind.city: ("demands",), OrgKind.society: ("experts",)}


@dataclass(frozen=True)
class Scope:
    kind: OrgKind = OrgKind.province
    organisation_id: int | None = None
    name: str = ""
    city: str = ""
    society_id: int | None = None
    society_name: str = ""
    expert_ids: frozenset[int] = field(default_factory=frozenset)  # society: its experts
    demand_ids: frozenset[int] = field(default_factory=frozenset)  # society: recommended demands

    @property
    def everything(self) -> bool:
        return self.kind == OrgKind.province

    @property
    def sees_contacts(self) -> bool:
        """Enterprise contacts: the associations that collected them (province, city)."""
        return self.kind != OrgKind.society

    # ---------------------------------------------------------------- SQL filters
    def city_enterprises(self) -> Select[Any]:
        return select(Enterprise.id).where(Enterprise.city == self.city)

    def demand_ids_query(self) -> Select[Any]:
        """Ids of the demands in scope (a subquery for ``IN``)."""
        query = select(Demand.id)
        return self.demands(query)

    def demands(self, query: Select[Any]) -> Select[Any]:
        """``query`` over ``Demand`` narrowed to the demands in scope."""
        if self.kind == OrgKind.city:
            return query.where(Demand.enterprise_id.in_(self.city_enterprises()))
        if self.kind == OrgKind.society:
            return query.where(Demand.id.in_(sorted(self.demand_ids)))
        return query

    def enterprises(self, query: Select[Any]) -> Select[Any]:
        if self.kind == OrgKind.city:
            return query.where(Enterprise.city == self.city)
        if self.kind == OrgKind.society:
            behind = select(Demand.enterprise_id).where(Demand.id.in_(sorted(self.demand_ids)))
            return query.where(Enterprise.id.in_(behind))
        return query

    def experts(self, query: Select[Any]) -> Select[Any]:
        if self.kind == OrgKind.society:
            return query.where(Expert.id.in_(sorted(self.expert_ids)))
        return query

    def outcomes(self, query: Select[Any]) -> Select[Any]:
        if self.everything:
            return query
        return query.where(Outcome.demand_id.in_(self.demand_ids_query()))

    def imports(self, query: Select[Any]) -> Select[Any]:
        """Import logs: an organisation sees the imports of its own accounts."""
        if self.everything:
            return query
        names = select(User.username).where(User.organisation_id == self.organisation_id)
        return query.where(ImportLog.imported_by.in_(names))

    # ---------------------------------------------------------------- one record
    def require_province(self) -> None:
        if not self.everything:
            raise NotAllowed(PROVINCE_ONLY)

    def require_demand(self, session: Session, demand_id: int) -> None:
        """404 for a demand out of scope, as for one that does not exist."""
        if self.everything:
            return
        if session.scalar(self.demands(select(Demand.id).where(Demand.id == demand_id))) is None:
            raise RecordNotFound("技术需求", demand_id)

    def require_enterprise(self, session: Session, enterprise_id: int) -> None:
        if self.everything:
            return
        if session.scalar(self.enterprises(select(Enterprise.id).where(Enterprise.id == enterprise_id))) is None:
            raise RecordNotFound("企业", enterprise_id)

    def require_import(self, session: Session, import_id: int) -> None:
        if self.everything:
            return
        if session.scalar(self.imports(select(ImportLog.id).where(ImportLog.id == import_id))) is None:
            raise RecordNotFound("导入记录", import_id)

    def require_expert(self, expert_id: int) -> None:
        if self.kind == OrgKind.society and expert_id not in self.expert_ids:
            raise RecordNotFound("专家", expert_id)

    def require_society(self, society_id: int) -> None:
        if self.kind == OrgKind.society and society_id != self.society_id:
            raise RecordNotFound("学会", society_id)

    def require_demand_writer(self) -> None:
        """Posting, editing, matching and recording outcomes: province and city staff."""
        if self.kind == OrgKind.society:
            raise NotAllowed("学会账号只能查看推荐给本学会及其专家的需求 / societies read their recommended demands only")

    def write_city(self, city: str | None, field_name: str = "city") -> str | None:
        """The 设区市 a city account writes: blank is its own city, another city is refused (422)."""
        if self.kind != OrgKind.city:
            return city
        value = (city or "").strip()
        if value and city_key(value) != city_key(self.city):
            raise FieldProblem(field_name, f"{self.name}只能填报本市（{self.city}）的企业和需求，不能填报“{value[:40]}”")
        return self.city

    def check_import_kind(self, kind: str) -> None:
        allowed = IMPORT_KINDS.get(self.kind)
        if allowed is not None and kind not in allowed:
            raise FieldProblem("kind", f"{self.name}只能导入 {'、'.join(allowed)}，不能导入 {kind}")


def require_job(scope: Scope, user: User, record: Mapping[str, Any]) -> None:
    """A city's or society's account follows only the jobs it started (its imports);
    another job is as unknown as a missing one. The province sees every job."""
    if not scope.everything and record.get("user") != user.username:
        raise RecordNotFound("后台任务", str(record.get("id", "")))


def unscoped(user: User | None) -> bool:
    """True when ``user``'s scope is the whole province's with nothing to look up
    (no organisation: the provincial staff, experts, or nobody logged in)."""
    return user is None or user.organisation_id is None


def scope_for(
    session: Session, user: User | None, index: MatchService | None = None, visible_per_expert: int = 10
) -> Scope:
    """The scope of ``user``. A society's recommended demands need the match
    ``index`` (its own and each of its experts' top ``visible_per_expert``)."""
    if unscoped(user):
        return Scope()
    org = session.get(Organisation, user.organisation_id)
    if org is None or org.kind == OrgKind.province:
        return Scope(organisation_id=user.organisation_id, name=org.name if org else "")
    if org.kind == OrgKind.city:
        return Scope(kind=OrgKind.city, organisation_id=org.id, name=org.name, city=org.city)
    society = session.get(Society, org.society_id) if org.society_id is not None else None
    society_name = society.name if society is not None else ""
    experts = society_experts(session, society_name)
    demands: set[int] = set()
    if index is not None and society is not None:
        demands = recommended_demands(session, index, society.id, experts, visible_per_expert)
    return Scope(
        kind=OrgKind.society, organisation_id=org.id, name=org.name, society_id=org.society_id,
        society_name=society_name, expert_ids=frozenset(experts), demand_ids=frozenset(demands),
    )


def society_experts(session: Session, society_name: str) -> set[int]:
    """Experts whose 学会 list names ``society_name`` exactly."""
    if not society_name:
        return set()
    from kejie.queries import json_list_contains

    rows = session.execute(
        select(Expert.id, Expert.societies).where(json_list_contains(Expert.societies, [society_name]))
    )
    return {eid for eid, names in rows if society_name in (names or [])}


def recommended_demands(
    session: Session, index: MatchService, society_id: int, experts: set[int], per_list: int
) -> set[int]:
    """The society's own recommendations and its experts', the demands an event
    plan paired it or them with, and those its experts marked as interesting."""
    from kejie import matching

    ids = {int(m.id) for m in matching.recommend_for_society(index, session, society_id, per_list)
           if str(m.id).isdigit()}
    for expert_id in sorted(experts):
        ids |= {int(m.id) for m in matching.recommend_for_expert(index, session, expert_id, per_list)
                if str(m.id).isdigit()}
    ids |= set(session.scalars(select(MatchItem.demand_id).where(MatchItem.society_id == society_id)))
    if experts:
        ids |= set(session.scalars(select(MatchItem.demand_id).where(MatchItem.expert_id.in_(sorted(experts)))))
        ids |= set(session.scalars(select(ExpertFeedback.demand_id).where(
            ExpertFeedback.expert_id.in_(sorted(experts)), ExpertFeedback.choice == "interested")))
    return ids


RowCheck = Callable[[Any, Any], list[Any] | None]


def import_row_check(session: Session, scope: Scope) -> RowCheck | None:
    """The per-row rule of an import by a city or society account (``None``: no rule).

    City: a row of another 设区市 is rejected with file, row, field 设区市 and
    reason; a row without one gets the account's city. Society: every expert row
    is added to the society; a row that would change an expert of another
    society is rejected."""
    from ingest.errors import RowError

    if scope.kind == OrgKind.city:
        def city_rule(table: Any, row: Any) -> list[Any] | None:
            city = str(row.enterprise_fields.get("city") or "").strip()
            if city and city_key(city) != city_key(scope.city):
                return [RowError("设区市", city, f"{scope.name}只能导入本市（{scope.city}）的需求",
                                 file=table.file, row=row.row)]
            row.enterprise_fields["city"] = scope.city
            return None

        return city_rule
    if scope.kind == OrgKind.society:
        def society_rule(table: Any, row: Any) -> list[Any] | None:
            existing = session.scalar(select(Expert).where(Expert.dedup_key == row.key))
            if existing is not None and existing.id not in scope.expert_ids:
                return [RowError("学会", row.label, f"该专家已属于其他学会，{scope.name}不能修改",
                                 file=table.file, row=row.row)]
            names = list(row.fields.get("societies") or [])
            if scope.society_name and scope.society_name not in names:
                row.fields["societies"] = [*names, scope.society_name]
            return None

        return society_rule
    return None

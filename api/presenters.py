"""The one place that turns records and matches into what a viewer is shown.

JSON routers and HTML pages both call these functions; for anyone who is not
staff every string that leaves here has gone through
:func:`kejie.rules.redact_contacts` (phones, fax, e-mail and QQ/WeChat ids typed
into free text are masked), and the schemas chosen for them cannot carry
contact fields at all. Staff get the full records.

Each presenter is a plain function of the record (or ``matcher.types.Match``)
and ``staff``; a new field on ``Match`` is added in :func:`match_view` once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import is_staff
from api.schemas import (
    DemandPublic,
    DemandStaff,
    EnterprisePublic,
    EnterpriseStaff,
    EventPublic,
    ExpertStaff,
    ImportReportPublic,
    MatchPublic,
    OutcomeReport,
    ProfileItemPublic,
    SocietyPublic,
)
from kejie.rules import redact_deep
from matcher.types import Match
from models import Demand, Enterprise, Event, Expert, ImportLog, OrgKind, Society, User

M = TypeVar("M", bound=BaseModel)


def staff_view(user: User | None) -> bool:
    """Whether ``user`` sees unredacted records (staff and admins; a society's
    staff see demands redacted like experts, ``kejie.scope``)."""
    if user is None or not is_staff(user):
        return False
    return user.organisation is None or user.organisation.kind != OrgKind.society


def _finish(model: M, staff: bool) -> M:
    return model if staff else redact_deep(model)


# ---------------------------------------------------------------- matches


def match_view(m: Match, *, staff: bool) -> MatchPublic:
    """One ranked candidate with its reasons."""
    best = m.best_item
    model = MatchPublic(
        id=str(m.id),
        kind=m.kind,
        name=m.name,
        score=round(float(m.score), 4),
        lexical=round(float(m.lexical), 4),
        semantic=round(float(m.semantic), 4),
        best_item=ProfileItemPublic(field=best.field, text=best.text) if best is not None else None,
        shared_terms=list(m.shared_terms),
        reasons=list(m.reasons),
        probability=None if m.probability is None else round(float(m.probability), 4),
        grade=m.grade,  # type: ignore[arg-type]
    )
    return _finish(model, staff)


def match_views(matches: Iterable[Match], *, staff: bool) -> list[MatchPublic]:
    return [match_view(m, staff=staff) for m in matches]


# ---------------------------------------------------------------- demands & enterprises


def demand_view(d: Demand, *, staff: bool) -> DemandStaff | DemandPublic:
    """A demand: with its contact person for staff, without (and redacted) for anyone else."""
    ent: Enterprise = d.enterprise
    public = DemandPublic(
        id=d.id,
        enterprise_id=d.enterprise_id,
        enterprise_name=ent.name,
        city=ent.city,
        title=d.title,
        description=d.description,
        industry=d.industry,
        keywords=list(d.keywords or []),
        status=d.status,
        submitted_by=d.submitted_by,
        submitted_on=d.submitted_on,
        created_at=d.created_at,
    )
    if not staff:
        return redact_deep(public)
    return DemandStaff(
        **public.model_dump(),
        contact_name=d.contact_name,
        mobile=d.mobile,
        office_phone=d.office_phone,
        fax=d.fax,
        email=d.email,
        source_file=d.source_file,
        source_row=d.source_row,
    )


def demand_staff(d: Demand) -> DemandStaff:
    view = demand_view(d, staff=True)
    assert isinstance(view, DemandStaff)
    return view


def demand_public(d: Demand) -> DemandPublic:
    return demand_view(d, staff=False)


def enterprise_view(session: Session, ent: Enterprise, *, staff: bool) -> EnterpriseStaff | EnterprisePublic:
    public = EnterprisePublic.model_validate(ent)
    if not staff:
        return redact_deep(public)
    count = session.scalar(select(func.count()).where(Demand.enterprise_id == ent.id)) or 0
    return EnterpriseStaff(**public.model_dump(), address=ent.address, postcode=ent.postcode, demand_count=count)


# ---------------------------------------------------------------- people, societies, events


def expert_view(e: Expert) -> ExpertStaff:
    """An expert's full profile; only staff and the expert themself are let this far."""
    return ExpertStaff.model_validate(e)


def society_view(s: Society, *, staff: bool) -> SocietyPublic:
    return _finish(SocietyPublic.model_validate(s), staff)


def event_view(ev: Event, *, staff: bool) -> EventPublic:
    return _finish(EventPublic.model_validate(ev), staff)


def redacted(value: Any, *, staff: bool) -> Any:
    """Anything else a page shows a viewer (dicts, lists, models): redacted unless staff."""
    return value if staff else redact_deep(value)


# ---------------------------------------------------------------- imports and reports


def import_report(data: dict[str, Any]) -> ImportReportPublic:
    """The report :func:`kejie.imports.run_import` returns, as sent to staff."""
    return ImportReportPublic.model_validate(data)


def import_log_report(log: ImportLog) -> ImportReportPublic:
    return ImportReportPublic(
        import_id=log.id,
        kind=log.kind,
        filename=log.filename,
        rows_total=log.rows_total,
        inserted=log.inserted,
        updated=log.updated,
        unchanged=log.unchanged,
        rejected=log.rejected,
        duplicates=log.duplicates or 0,
        rejects=log.rejects or [],  # type: ignore[arg-type]
        duplicate_rows=log.duplicate_rows or [],  # type: ignore[arg-type]
        changes=log.changes or [],  # type: ignore[arg-type]
        imported_by=log.imported_by,
        started_at=log.started_at,
        status=log.status,  # type: ignore[arg-type]
        finished_at=log.finished_at,
        error=log.error,
    )


def outcome_report(data: dict[str, Any]) -> OutcomeReport:
    """The counts of :func:`kejie.outcomes.outcome_report`, as sent to staff."""
    return OutcomeReport.model_validate(data)

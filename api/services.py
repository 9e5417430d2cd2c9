"""Operations shared by the JSON routers and the web pages.

Each write adds its AuditLog row in the same transaction, commits, then tells
the match index about the change so rankings reflect it at once.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from fastapi import HTTPException, status
from sqlalchemy import Select, String, cast, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from api.audit import audit
from api.deps import INDEX_LOCK
from api.errors import field_error
from api.schemas import (
    DemandCreate,
    DemandUpdate,
    FeedbackCreate,
    ImportReportPublic,
    OutcomeCreate,
    OutcomeReport,
    StatusCounts,
)
from ingest.keys import demand_key, enterprise_key
from matcher.types import Filters, Match
from models import (
    Demand,
    DemandStatus,
    Enterprise,
    Event,
    Expert,
    ExpertFeedback,
    ImportLog,
    MatchList,
    Outcome,
    OutcomeStatus,
    Society,
    User,
)

if TYPE_CHECKING:
    from kejie.match_service import MatchService

CandidateKind = Literal["expert", "society"]
PLURAL_TO_KIND: dict[str, CandidateKind] = {"experts": "expert", "societies": "society"}


def not_found(what: str, ident: int | str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} {ident} 不存在 / not found")


def split_terms(text: str | None) -> list[str]:
    """``福州市,厦门市`` or ``福州市；厦门市`` -> a list; blanks dropped."""
    if not text:
        return []
    for sep in "；;，、|":
        text = text.replace(sep, ",")
    return [t.strip() for t in text.split(",") if t.strip()]


def make_filters(
    region: str | None = None,
    discipline: str | None = None,
    academician_only: bool = False,
    available_only: bool = False,
    exclude_ids: Iterable[str] = (),
) -> Filters:
    return Filters(
        cities=split_terms(region) or None,
        disciplines=split_terms(discipline) or None,
        academician_only=academician_only,
        available_only=available_only,
        exclude_ids=set(exclude_ids),
    )


def like_escape(text: str) -> str:
    """``text`` with the LIKE wildcards ``%`` and ``_`` (and the escape ``!``) escaped, for ``escape="!"``."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def like_contains(text: str) -> str:
    """A LIKE pattern (``escape="!"``) matching values that contain ``text`` literally: ``q=%`` is a percent sign."""
    return f"%{like_escape(text)}%"


def json_list_contains(column: Any, values: list[str]) -> Any:
    """Rows whose JSON list of strings has an element matching any of ``values``.

    Portable across SQLite and PostgreSQL: a LIKE over the stored JSON text. The
    default serializer escapes non-ASCII (``\\u6750``), so the pattern is
    escaped the same way, with ``!`` as the LIKE escape (PostgreSQL would
    otherwise read the backslashes as escapes). A value starting with a Chinese
    character may sit anywhere in an element (``中药`` finds ``中药学``): its
    pattern starts with ``\\u`` and so lines up with whole escapes. Any other
    value must start an element (``"1`` ...), so ``1`` never matches the hex
    digits inside ``\\u6751``.
    """
    conditions = []
    for value in values:
        encoded = like_escape(json.dumps(value)[1:-1])
        pattern = f"%{encoded}%" if encoded.startswith("\\u") else f'%"{encoded}%'
        conditions.append(cast(column, String).like(pattern, escape="!"))
    return or_(*conditions) if conditions else false()


# ---------------------------------------------------------------- index


def refresh_index(index: MatchService, session: Session, kind: str, ids: Iterable[int]) -> None:
    with INDEX_LOCK:
        index.refresh(session, kind, list(ids))  # type: ignore[arg-type]


def match_demand(
    index: MatchService,
    session: Session,
    demand_id: int,
    kind: CandidateKind,
    top_k: int,
    filters: Filters | None,
) -> list[Match]:
    if session.get(Demand, demand_id) is None:
        raise not_found("技术需求", demand_id)
    with INDEX_LOCK:
        return index.match_demand(session, demand_id, kind, top_k=top_k, filters=filters)


def match_text(
    index: MatchService,
    session: Session,
    text: str,
    kind: Literal["expert", "society", "demand"],
    top_k: int,
    filters: Filters | None,
) -> list[Match]:
    from matcher.errors import IndexOutOfDate

    with INDEX_LOCK:
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
        raise not_found("专家", expert_id)
    exclude = set() if include_declined else declined_demand_ids(session, expert_id)
    with INDEX_LOCK:
        return index.recommend_for_expert(
            session, expert_id, top_k=top_k, filters=Filters(exclude_ids=exclude)
        )


def recommend_for_society(index: MatchService, session: Session, society_id: int, top_k: int) -> list[Match]:
    if session.get(Society, society_id) is None:
        raise not_found("学会", society_id)
    with INDEX_LOCK:
        return index.recommend_for_society(session, society_id, top_k=top_k)


# ---------------------------------------------------------------- demands


def demand_query(
    city: str | None = None,
    industry: str | None = None,
    status_: str | None = None,
    q: str | None = None,
    enterprise_id: int | None = None,
) -> Select[tuple[Demand]]:
    query = select(Demand).join(Demand.enterprise).options(selectinload(Demand.enterprise))
    if cities := split_terms(city):
        query = query.where(Enterprise.city.in_(cities))
    if industries := split_terms(industry):
        query = query.where(or_(Demand.industry.in_(industries), Enterprise.industry.in_(industries)))
    if statuses := split_terms(status_):
        allowed = [s.value for s in DemandStatus]
        unknown = [s for s in statuses if s not in allowed]
        if unknown:
            raise field_error("status", f"未知的状态“{unknown[0][:40]}”，应为以下之一：{', '.join(allowed)}")
        query = query.where(Demand.status.in_(statuses))
    if enterprise_id is not None:
        query = query.where(Demand.enterprise_id == enterprise_id)
    if q and q.strip():
        like = like_contains(q.strip())
        query = query.where(
            or_(
                Demand.title.ilike(like, escape="!"),
                Demand.description.ilike(like, escape="!"),
                Enterprise.name.ilike(like, escape="!"),
            )
        )
    return query


def count_and_page(
    session: Session, query: Select[Any], order_by: Any, limit: int, offset: int
) -> tuple[int, list[Any]]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.scalars(query.order_by(*order_by).limit(limit).offset(offset)).unique())
    return total, rows


def _resolve_enterprise(session: Session, body: DemandCreate) -> Enterprise:
    if body.enterprise_id is not None:
        ent = session.get(Enterprise, body.enterprise_id)
        if ent is None:
            raise field_error("enterprise_id", f"企业 {body.enterprise_id} 不存在")
        return ent
    name = (body.enterprise_name or "").strip()
    if not name:
        raise field_error("enterprise_name", "请填写单位名称，或给出已有企业的编号 enterprise_id")
    key = enterprise_key(name)
    ent = session.scalar(select(Enterprise).where(Enterprise.dedup_key == key))
    if ent is None:
        ent = Enterprise(
            dedup_key=key,
            name=name,
            city=body.city,
            county=body.county,
            industry=body.industry,
        )
        session.add(ent)
        session.flush()
    return ent


def create_demand(session: Session, index: MatchService, user: User, body: DemandCreate) -> Demand:
    ent = _resolve_enterprise(session, body)
    key = demand_key(ent.name, body.title, body.description)
    if session.scalar(select(Demand.id).where(Demand.dedup_key == key)) is not None:
        raise field_error("title", f"{ent.name} 已登记过同名同内容的技术需求")
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


def update_demand(
    session: Session, index: MatchService, user: User, demand_id: int, body: DemandUpdate
) -> Demand:
    demand = session.get(Demand, demand_id)
    if demand is None:
        raise not_found("技术需求", demand_id)
    changes = body.model_dump(exclude_unset=True)
    changed: list[str] = []
    for name, value in changes.items():
        if value is None and name not in {"submitted_on"}:
            raise field_error(name, "不能设为空值；不修改请不要提供该字段")
        if getattr(demand, name) != value:
            setattr(demand, name, value)
            changed.append(name)
    if changed:
        # contact fields are named, never their values: the audit log is not a contact list
        audit(session, user, "update", "demand", demand.id, {"fields": changed})
        session.commit()
        refresh_index(index, session, "demand", [demand.id])
    return demand


# ---------------------------------------------------------------- outcomes & feedback


def record_outcome(session: Session, user: User, body: OutcomeCreate) -> Outcome:
    if (body.expert_id is None) == (body.society_id is None):
        raise field_error("expert_id", "请在专家（expert_id）和学会（society_id）中选且只选一个")
    if session.get(Demand, body.demand_id) is None:
        raise field_error("demand_id", f"技术需求 {body.demand_id} 不存在", status.HTTP_404_NOT_FOUND)
    if body.expert_id is not None and session.get(Expert, body.expert_id) is None:
        raise field_error("expert_id", f"专家 {body.expert_id} 不存在", status.HTTP_404_NOT_FOUND)
    if body.society_id is not None and session.get(Society, body.society_id) is None:
        raise field_error("society_id", f"学会 {body.society_id} 不存在", status.HTTP_404_NOT_FOUND)
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
    session.flush()
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
        },
    )
    session.commit()
    return outcome


def record_feedback(session: Session, user: User, expert_id: int, body: FeedbackCreate) -> ExpertFeedback:
    if session.get(Expert, expert_id) is None:
        raise not_found("专家", expert_id)
    if session.get(Demand, body.demand_id) is None:
        raise field_error("demand_id", f"技术需求 {body.demand_id} 不存在", status.HTTP_404_NOT_FOUND)
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


# ---------------------------------------------------------------- imports

IMPORT_KINDS = ("demands", "experts", "societies")


MAX_FILENAME = 200


def upload_name(filename: str | None) -> str:
    """The uploaded file's own name (no directories), or a 422 naming ``file``."""
    from ingest.sanitize import illegal_reason

    raw = (filename or "").replace("\\", "/")
    name = raw.rsplit("/", 1)[-1].strip() or ("upload" if not raw.strip() else "")
    if reason := illegal_reason(name):
        raise field_error("file", f"文件名{reason}")
    if name in {"", ".", ".."}:
        raise field_error("file", f"文件名“{raw[:60]}”无效，请使用普通的文件名（如 技术需求.xlsx）")
    if len(name) > MAX_FILENAME or len(name.encode("utf-8")) > 240:
        raise field_error("file", f"文件名过长（{len(name)}个字符，最多{MAX_FILENAME}个），请改短后再上传")
    return name


def run_import(
    session: Session,
    index: MatchService,
    user: User,
    kind: str,
    filename: str,
    stream: BinaryIO,
    max_bytes: int,
) -> ImportReportPublic:
    """Save the upload under its own name in a temp dir (so messages name the file) and import it."""
    import ingest

    safe_name = upload_name(filename)
    with tempfile.TemporaryDirectory(prefix="kejie-upload-") as tmp:
        path = Path(tmp) / safe_name
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out)
        if path.stat().st_size > max_bytes:
            raise field_error("file", f"文件超过 {max_bytes // (1024 * 1024)} MB，请拆分后再上传")
        if path.stat().st_size == 0:
            raise field_error("file", f"{safe_name} 是空文件")
        report = ingest.import_file(session, path, kind, imported_by=user.username)
    data = report.to_dict()
    log_id = data.get("import_log_id")
    data["import_id"] = log_id
    audit(session, user, "import", "import_log", log_id, {
        "kind": kind, "filename": safe_name, "rejected": data.get("rejected", 0)
    })
    session.commit()
    with INDEX_LOCK:
        index.sync(session)
    data.setdefault("filename", safe_name)
    data.setdefault("kind", kind)
    data.setdefault("imported_by", user.username)
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
        rejects=log.rejects or [],  # type: ignore[arg-type]
        imported_by=log.imported_by,
        started_at=log.started_at,
        status=log.status,  # type: ignore[arg-type]
        finished_at=log.finished_at,
        error=log.error,
    )


# ---------------------------------------------------------------- events


def plan_event(session: Session, index: MatchService, user: User, event_id: int) -> tuple[MatchList, bool]:
    """Plan ``event_id`` with the shared index; returns (match list, whether a new version was written)."""
    from kejie.events import plan_event_outcome
    from matcher.errors import InfeasiblePlan

    if session.get(Event, event_id) is None:
        raise not_found("活动", event_id)

    def score_fn(s: Session, demand_ids: list[int], kind: Any, candidate_ids: list[int]) -> Any:
        with INDEX_LOCK:
            return index.score_matrix(s, demand_ids, kind, candidate_ids)

    try:
        outcome = plan_event_outcome(session, event_id, score_fn)
    except InfeasiblePlan as exc:
        if exc.match_list_id is not None:
            audit(session, user, "plan", "match_list", exc.match_list_id,
                  {"event_id": event_id, "status": "infeasible", "version": exc.version})
            session.commit()
        raise
    if outcome.created:
        ml = outcome.match_list
        audit(session, user, "plan", "match_list", ml.id,
              {"event_id": event_id, "status": ml.status, "version": ml.version})
        session.commit()
    return outcome.match_list, outcome.created


# ---------------------------------------------------------------- reports


def quarter_of(d: datetime) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def outcome_report(session: Session, date_from: date | None, date_to: date | None) -> OutcomeReport:
    query = select(Outcome.status, Outcome.recorded_at, Enterprise.city).join(
        Demand, Outcome.demand_id == Demand.id
    ).join(Enterprise, Demand.enterprise_id == Enterprise.id)
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

    def rows(groups: dict[str, Counter[str]], order: Any) -> list[StatusCounts]:
        return [
            StatusCounts(key=k, total=sum(c.values()), by_status=_all_statuses(c))
            for k, c in sorted(groups.items(), key=order)
        ]

    return OutcomeReport(
        date_from=date_from,
        date_to=date_to,
        total=sum(by_status.values()),
        by_status=_all_statuses(by_status),
        by_quarter=rows(by_quarter, lambda kv: kv[0]),
        by_city=rows(by_city, lambda kv: (-sum(kv[1].values()), kv[0])),
    )


def _all_statuses(counts: Counter[str]) -> dict[str, int]:
    return {s.value: counts.get(s.value, 0) for s in OutcomeStatus}

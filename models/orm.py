"""Typed SQLAlchemy 2.0 models.

Lists (disciplines, research areas, keywords ...) are JSON arrays of strings so
that the matcher can score a profile item by item.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.db import Base
from models.types import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class DemandStatus(enum.StrEnum):
    open = "open"
    matched = "matched"
    in_progress = "in_progress"
    solved = "solved"
    closed = "closed"


class OutcomeStatus(enum.StrEnum):
    contacted = "contacted"
    visited = "visited"
    signed = "signed"
    not_a_fit = "not_a_fit"


class Role(enum.StrEnum):
    admin = "admin"
    staff = "staff"
    expert = "expert"


class OrgKind(enum.StrEnum):
    """province: the provincial association (sees everything); city: a 设区市科协;
    society: a 学会 (its own experts)."""

    province = "province"
    city = "city"
    society = "society"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=20, validate_strings=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Enterprise(TimestampMixin, Base):
    """An enterprise (单位) that posts technical demands."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)  # 单位名称
    main_business: Mapped[str] = mapped_column(Text, default="")  # 主营业务
    profile: Mapped[str] = mapped_column(Text, default="")  # 企业概况
    website: Mapped[str] = mapped_column(String(300), default="")  # 网址
    address: Mapped[str] = mapped_column(String(300), default="")  # 联系地址
    postcode: Mapped[str] = mapped_column(String(10), default="")  # 邮编
    city: Mapped[str] = mapped_column(String(40), default="", index=True)  # 设区市
    county: Mapped[str] = mapped_column(String(40), default="")  # 区县
    industry: Mapped[str] = mapped_column(String(60), default="", index=True)

    demands: Mapped[list[Demand]] = relationship(back_populates="enterprise")


class Demand(TimestampMixin, Base):
    """A technical demand (技术需求) from the 技术需求征集表."""

    __tablename__ = "demands"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))  # 技术需求名称
    description: Mapped[str] = mapped_column(Text)  # 具体的技术需求说明
    industry: Mapped[str] = mapped_column(String(60), default="", index=True)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_name: Mapped[str] = mapped_column(String(60), default="")  # 联系人
    mobile: Mapped[str] = mapped_column(String(20), default="")  # 手机
    office_phone: Mapped[str] = mapped_column(String(40), default="")  # 办公电话
    fax: Mapped[str] = mapped_column(String(40), default="")  # 传真
    email: Mapped[str] = mapped_column(String(120), default="")  # E-mail
    submitted_by: Mapped[str] = mapped_column(String(120), default="")  # 填报单位, e.g. a city association
    submitted_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # 填报时间
    status: Mapped[DemandStatus] = mapped_column(_enum(DemandStatus, "demand_status"), default=DemandStatus.open, index=True)
    source_file: Mapped[str] = mapped_column(String(300), default="")
    source_row: Mapped[int | None] = mapped_column(Integer, nullable=True)

    enterprise: Mapped[Enterprise] = relationship(back_populates="demands")


class Expert(TimestampMixin, Base):
    """An expert or academician (院士) with a capability profile."""

    __tablename__ = "experts"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    external_id: Mapped[str] = mapped_column(String(60), default="", index=True)  # expert_id column of imports
    name: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(60), default="")  # 职称
    is_academician: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    affiliation: Mapped[str] = mapped_column(String(200), default="")
    disciplines: Mapped[list[str]] = mapped_column(JSON, default=list)
    research_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    achievements: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    societies: Mapped[list[str]] = mapped_column(JSON, default=list)
    city: Mapped[str] = mapped_column(String(40), default="", index=True)
    mobile: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=3)  # meetings per event
    available: Mapped[bool] = mapped_column(Boolean, default=True)


class Society(TimestampMixin, Base):
    """An academic society (学会) or discipline expert group."""

    __tablename__ = "societies"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    external_id: Mapped[str] = mapped_column(String(60), default="", index=True)  # society_id column
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(60), default="")
    disciplines: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")  # capability description
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    representative_works: Mapped[list[str]] = mapped_column(JSON, default=list)
    city: Mapped[str] = mapped_column(String(40), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=5)


class Station(TimestampMixin, Base):
    """学会服务站 or 院士工作站: a society or academician stationed at an enterprise."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # society_station | academician_workstation
    name: Mapped[str] = mapped_column(String(200), default="")
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    society_id: Mapped[int | None] = mapped_column(ForeignKey("societies.id"), nullable=True)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id"), nullable=True)
    established_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class Conflict(TimestampMixin, Base):
    """A recorded conflict of interest between an expert and an enterprise."""

    __tablename__ = "conflicts"
    __table_args__ = (UniqueConstraint("expert_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")


class Event(TimestampMixin, Base):
    """院士八闽行, 学会服务站 day, annual meeting, academic activity month ..."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(40), default="")
    starts_on: Mapped[date] = mapped_column(Date, index=True)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)  # 设区市 in scope
    invite_all: Mapped[bool] = mapped_column(Boolean, default=True)  # all available experts
    include_societies: Mapped[bool] = mapped_column(Boolean, default=False)
    demand_industries: Mapped[list[str]] = mapped_column(JSON, default=list)
    demand_statuses: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["open"])
    min_experts_per_demand: Mapped[int] = mapped_column(Integer, default=0)
    max_experts_per_demand: Mapped[int] = mapped_column(Integer, default=2)
    default_capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    # candidate pools: academicians only; experts/societies from these 设区市 (any when empty)
    academicians_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    candidate_regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # itinerary: half-day slots of every day (days: EventDay rows, else starts_on..ends_on)
    day_slots: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["上午", "下午"])
    expert_slot_limit: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    slot_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)  # visits per slot, all experts

    invitees: Mapped[list[EventInvitee]] = relationship(cascade="all, delete-orphan")
    days: Mapped[list[EventDay]] = relationship(cascade="all, delete-orphan", order_by="EventDay.day")
    pair_rules: Mapped[list[EventPairRule]] = relationship(cascade="all, delete-orphan")


class EventInvitee(Base):
    __tablename__ = "event_invitees"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id"), nullable=True)
    society_id: Mapped[int | None] = mapped_column(ForeignKey("societies.id"), nullable=True)
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)  # overrides the expert's
    available_days: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # ISO dates; None = every day


class EventDay(Base):
    """One day of an event with its own slots (else the event's ``day_slots``) and slot limit."""

    __tablename__ = "event_days"
    __table_args__ = (UniqueConstraint("event_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    slots: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    slot_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)


class EventPairRule(Base):
    __tablename__ = "event_pair_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(10))  # must | never
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"))
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id"), nullable=True)
    society_id: Mapped[int | None] = mapped_column(ForeignKey("societies.id"), nullable=True)


class MatchList(Base):
    """A versioned list of pairings, either from an event plan or an ad-hoc ranking."""

    __tablename__ = "match_lists"
    __table_args__ = (UniqueConstraint("event_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), nullable=True, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    input_hash: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(20), default="planned")  # planned | infeasible | failed
    total_score: Mapped[float] = mapped_column(Float, default=0.0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    items: Mapped[list[MatchItem]] = relationship(cascade="all, delete-orphan", order_by="MatchItem.id")


class MatchItem(Base):
    __tablename__ = "match_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_list_id: Mapped[int] = mapped_column(ForeignKey("match_lists.id", ondelete="CASCADE"), index=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id"), nullable=True, index=True)
    society_id: Mapped[int | None] = mapped_column(ForeignKey("societies.id"), nullable=True)
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    # itinerary: date, half-day slot and the candidate's visit order; unscheduled: why
    visit_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    slot: Mapped[str | None] = mapped_column(String(20), nullable=True)
    visit_order: Mapped[int | None] = mapped_column(Integer, nullable=True)
    schedule_note: Mapped[str] = mapped_column(String(300), default="", server_default="")
    interest: Mapped[str] = mapped_column(String(20), default="", server_default="")  # expert's feedback


class Outcome(Base):
    """What happened after a pairing: contacted, visited, signed or not a fit."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id"), nullable=True, index=True)
    society_id: Mapped[int | None] = mapped_column(ForeignKey("societies.id"), nullable=True)
    match_item_id: Mapped[int | None] = mapped_column(ForeignKey("match_items.id"), nullable=True)
    status: Mapped[OutcomeStatus] = mapped_column(_enum(OutcomeStatus, "outcome_status"))
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ExpertFeedback(Base):
    """An expert marks a recommended demand as interesting or declines it."""

    __tablename__ = "expert_feedback"
    __table_args__ = (UniqueConstraint("expert_id", "demand_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), index=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"))
    choice: Mapped[str] = mapped_column(String(20))  # interested | declined
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ImportLog(Base):
    """Who imported what, with counts and the rejected rows."""

    __tablename__ = "import_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(300))
    file_hash: Mapped[str] = mapped_column(String(64), default="")
    imported_by: Mapped[str] = mapped_column(String(60), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    rejects: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # written first as "running" (committed), then "done" or "failed": an import
    # that dies half-way still leaves its entry
    status: Mapped[str] = mapped_column(String(20), default="done", server_default="done")
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str] = mapped_column(Text, default="", server_default="")
    # in-file duplicates, changed fields, and the rejected rows as read (for the rejects XLSX)
    duplicates: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    duplicate_rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reject_header: Mapped[list[str]] = mapped_column(JSON, default=list)
    reject_rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class ReportNote(Base):
    """What staff wrote as 存在不足 for one row of a quarter's 统计表 (kept between visits)."""

    __tablename__ = "report_notes"
    __table_args__ = (UniqueConstraint("quarter", "form", "row_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(String(8))  # 2026Q4
    form: Mapped[str] = mapped_column(String(10))  # 附件2 | 附件3
    row_key: Mapped[str] = mapped_column(String(80))  # event:<id>, or the row's activity name
    text: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(60), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Organisation(TimestampMixin, Base):
    """The association or society an account works for (see ``kejie.scope``)."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrgKind] = mapped_column(_enum(OrgKind, "org_kind"))
    name: Mapped[str] = mapped_column(String(120), unique=True)
    city: Mapped[str] = mapped_column(String(40), default="")  # 设区市 of a city association
    society_id: Mapped[int | None] = mapped_column(ForeignKey("societies.id"), nullable=True)


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    display_name: Mapped[str] = mapped_column(String(60), default="")
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # None: the provincial association's own account (sees everything)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True, index=True)
    organisation: Mapped[Organisation | None] = relationship()


class UserSession(Base):
    """A login: the token names it, logout revokes it, idleness expires it."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # random, carried in the signed token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditLog(Base):
    """Every write, attributed."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

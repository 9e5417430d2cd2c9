"""Use case: set an event's candidate pools and itinerary settings.

Pools: all available experts (``invite_all``) or only the invited ones;
academicians only; experts and societies from some 设区市; societies too (all
or the invited ones). Itinerary: the half-day slots of a day, visits per
expert per slot, visits per slot over all experts, and each invited expert's
available days. Invitations keep their capacity overrides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kejie.errors import DomainError, RecordNotFound
from matcher.rules import city_key
from models import Event, EventInvitee, Expert, Society


class PoolError(DomainError):
    """The pool settings do not make sense (e.g. an unknown expert)."""


@dataclass
class PoolSettings:
    invite_all: bool = True
    academicians_only: bool = False
    candidate_regions: list[str] = field(default_factory=list)
    include_societies: bool = False
    expert_ids: list[int] = field(default_factory=list)
    society_ids: list[int] = field(default_factory=list)
    # expert id -> ISO dates; an expert left out is available every day
    available_days: Mapping[int, Iterable[str]] = field(default_factory=dict)
    day_slots: list[str] = field(default_factory=lambda: ["上午", "下午"])
    expert_slot_limit: int = 1
    slot_limit: int | None = None


def event_dates(event: Event) -> list[date]:
    if event.days:
        return [d.day for d in event.days]
    from datetime import timedelta

    end = event.ends_on or event.starts_on
    return [event.starts_on + timedelta(days=k) for k in range(max(0, min(31, (end - event.starts_on).days + 1)))]


def update_pools(session: Session, event_id: int, settings: PoolSettings) -> Event:
    """Apply ``settings`` to the event (flushed, not committed)."""
    event = session.get(Event, event_id)
    if event is None:
        raise RecordNotFound("活动", event_id)
    if not 1 <= settings.expert_slot_limit <= 10:
        raise PoolError("每位专家每个时段的对接数应在 1–10 之间")
    if settings.slot_limit is not None and not 1 <= settings.slot_limit <= 1000:
        raise PoolError("每个时段的对接总数应在 1–1000 之间")
    slots = [s.strip() for s in settings.day_slots if s and s.strip()]
    if not slots or len(slots) > 6 or any(len(s) > 20 for s in slots):
        raise PoolError("每天的时段应为 1–6 个，如 上午、下午")
    expert_ids = sorted(set(settings.expert_ids))
    society_ids = sorted(set(settings.society_ids))
    found = set(session.scalars(select(Expert.id).where(Expert.id.in_(expert_ids)))) if expert_ids else set()
    if missing := [i for i in expert_ids if i not in found]:
        raise PoolError(f"专家 #{', #'.join(map(str, missing))} 不存在")
    found = set(session.scalars(select(Society.id).where(Society.id.in_(society_ids)))) if society_ids else set()
    if missing := [i for i in society_ids if i not in found]:
        raise PoolError(f"学会 #{', #'.join(map(str, missing))} 不存在")
    valid_days = {d.isoformat() for d in event_dates(event)}
    days: dict[int, list[str]] = {}
    for expert_id, values in settings.available_days.items():
        chosen = sorted({str(v) for v in values})
        if bad := [v for v in chosen if v not in valid_days]:
            raise PoolError(f"专家 #{expert_id} 的可参加日期 {'、'.join(bad)} 不在活动日期内")
        days[int(expert_id)] = chosen

    event.invite_all = settings.invite_all
    event.academicians_only = settings.academicians_only
    event.candidate_regions = sorted({city_key(r) for r in settings.candidate_regions if r})
    event.include_societies = settings.include_societies
    event.day_slots = slots
    event.expert_slot_limit = settings.expert_slot_limit
    event.slot_limit = settings.slot_limit
    old = {(i.expert_id, i.society_id): i for i in event.invitees}
    keep: list[EventInvitee] = []
    for expert_id in sorted(set(expert_ids) | set(days)):
        inv = old.get((expert_id, None)) or EventInvitee(expert_id=expert_id)
        inv.available_days = days.get(expert_id)
        keep.append(inv)
    for society_id in society_ids:
        keep.append(old.get((None, society_id)) or EventInvitee(society_id=society_id))
    # an invitation with a capacity override stays while invite_all holds
    for inv in old.values():
        if inv not in keep and inv.capacity is not None and settings.invite_all:
            inv.available_days = None
            keep.append(inv)
    event.invitees = keep
    session.flush()
    return event

"""The itinerary of a plan, on the database side: the event's days and slots,
every invitee's available days, and the placement written onto the
:class:`~models.MatchItem` rows (``visit_date``, ``slot``, ``visit_order``, or
``schedule_note`` saying why a pair could not be placed).

Days are the event's :class:`~models.EventDay` rows, else every date from
``starts_on`` to ``ends_on`` (``starts_on`` alone: one day), each with the
event's ``day_slots`` (上午, 下午 by default). ``EventInvitee.available_days``
(ISO dates) limits a visitor to those days; ``None`` means every day. The model
itself is :mod:`matcher.itinerary`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.itinerary import (
    Day,
    ItineraryProblem,
    Visit,
    city_changes,
    naive_schedule,
    solve_itinerary,
)
from models import Enterprise, Event, EventDay, EventInvitee, MatchItem

DEFAULT_SLOTS = ("上午", "下午")
MAX_DAYS = 31


@dataclass(frozen=True)
class EventCalendar:
    dates: list[date]
    days: list[Day]
    availability: dict[str, set[int]]
    visitor_slot_limit: int
    problems: list[str]

    def payload(self) -> dict[str, Any]:
        """What goes into the plan's input hash and params."""
        return {
            "days": [[d.label, list(d.slots), d.slot_limit] for d in self.days],
            "availability": {k: sorted(v) for k, v in sorted(self.availability.items())},
            "visitor_slot_limit": self.visitor_slot_limit,
        }


def visitor_key(item: MatchItem) -> str:
    return f"expert:{item.expert_id}" if item.expert_id is not None else f"society:{item.society_id}"


def calendar(session: Session, event: Event) -> EventCalendar:
    problems: list[str] = []
    slots = tuple(s for s in (event.day_slots or DEFAULT_SLOTS) if s) or DEFAULT_SLOTS
    rows = list(session.scalars(select(EventDay).where(EventDay.event_id == event.id).order_by(EventDay.day)))
    if rows:
        dates = [r.day for r in rows]
        days = [
            Day(r.day.isoformat(), tuple(s for s in (r.slots or slots) if s) or slots, r.slot_limit or event.slot_limit)
            for r in rows
        ]
    else:
        end = event.ends_on or event.starts_on
        n = (end - event.starts_on).days + 1
        if n < 1:
            problems.append(f"活动结束日期 {end} 早于开始日期 {event.starts_on}：修正活动日期")
            n = 0
        elif n > MAX_DAYS:
            problems.append(f"活动跨 {n} 天，日程只排前 {MAX_DAYS} 天：设置活动日")
            n = MAX_DAYS
        dates = [event.starts_on + timedelta(days=k) for k in range(n)]
        days = [Day(d.isoformat(), slots, event.slot_limit) for d in dates]
    index = {d.isoformat(): n for n, d in enumerate(dates)}
    availability: dict[str, set[int]] = {}
    for inv in session.scalars(select(EventInvitee).where(EventInvitee.event_id == event.id)):
        if inv.available_days is None:
            continue
        key = f"expert:{inv.expert_id}" if inv.expert_id is not None else f"society:{inv.society_id}"
        availability[key] = {index[str(d)] for d in inv.available_days if str(d) in index}
    return EventCalendar(dates, days, availability, max(1, int(event.expert_slot_limit or 1)), problems)


def schedule(
    cal: EventCalendar,
    items: Sequence[MatchItem],
    demand_enterprise: dict[int, Enterprise],
    labels: dict[str, str],
) -> dict[str, Any]:
    """Place ``items`` (in place) and return the summary stored in the plan's params."""
    visits = []
    for n, it in enumerate(items):
        ent = demand_enterprise[it.demand_id]
        key = visitor_key(it)
        visits.append(Visit(n, key, ent.city or "（未填设区市）", ent.county or "", ent.name, labels.get(key, key)))
    problem = ItineraryProblem(visits, cal.days, cal.availability, cal.visitor_slot_limit)
    result = solve_itinerary(problem)
    for n, it in enumerate(items):
        p = result.placed.get(n)
        if p is None:
            it.visit_date = it.slot = it.visit_order = None
            it.schedule_note = result.unscheduled.get(n, "")[:300]
        else:
            it.visit_date = cal.dates[p.day]
            it.slot = cal.days[p.day].slots[p.slot]
            it.visit_order = p.order
            it.schedule_note = ""
    naive = city_changes(visits, naive_schedule(problem))
    mine = city_changes(visits, result.placed)
    return {
        **cal.payload(),
        "status": result.status,
        "seconds": result.seconds,
        "scheduled": len(result.placed),
        "unscheduled": [
            {
                "demand_id": items[k].demand_id,
                "expert_id": items[k].expert_id,
                "society_id": items[k].society_id,
                "reason": why,
            }
            for k, why in sorted(result.unscheduled.items())
        ],
        "city_changes": sum(mine.values()),
        "naive_city_changes": sum(naive.values()),
        "problems": cal.problems,
    }


def summary_text(summary: dict[str, Any]) -> str:
    if not summary:
        return ""
    text = (
        f"；日程：{len(summary['days'])} 天，已排 {summary['scheduled']} 场，"
        f"专家跨市 {summary['city_changes']} 次（按日期顺排为 {summary['naive_city_changes']} 次）"
    )
    if summary["unscheduled"]:
        text += f"，{len(summary['unscheduled'])} 场未能排入日程：{summary['unscheduled'][0]['reason']}"
    return text

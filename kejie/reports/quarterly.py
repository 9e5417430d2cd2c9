"""The quarterly 统计表 in the seeds' forms, filled from the quarter's events,
their plans and the outcomes recorded.

- 附件2 · 院士专家服务活动统计表: every event of the quarter except 学会服务站 days,
  plus one row for the outcomes of pairings made outside any event.
- 附件3 · 学会服务站活动统计表: the 学会服务站 events.

Columns 序号, 活动名称, 活动内容, 主要成效（含宣传工作情况）, 存在不足; 填报单位 and
填报时间 above the table. 存在不足 starts from what the figures show (pairs planned
but not yet visited) and staff may rewrite it before export. Due: 3月20日, 6月20日,
9月20日, 12月20日 for the first to fourth quarter.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kejie.errors import FieldProblem
from models import Event, MatchList, Outcome, OutcomeStatus

FORMS = {"附件2": "院士专家服务活动统计表", "附件3": "学会服务站活动统计表"}
COLUMNS = ("序号", "活动名称", "活动内容", "主要成效（含宣传工作情况）", "存在不足")
DUE_DAY = {1: (3, 20), 2: (6, 20), 3: (9, 20), 4: (12, 20)}
STATION = "学会服务站"
OUTSIDE_EVENTS = "日常供需对接（不属于活动）"


@dataclass
class Quarter:
    year: int
    q: int

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> date:
        nxt = date(self.year + 1, 1, 1) if self.q == 4 else date(self.year, 3 * self.q + 1, 1)
        return nxt - timedelta(days=1)

    @property
    def due(self) -> date:
        month, day = DUE_DAY[self.q]
        return date(self.year, month, day)

    @property
    def label(self) -> str:
        return f"{self.year}年第{'一二三四'[self.q - 1]}季度"

    @property
    def key(self) -> str:
        return f"{self.year}Q{self.q}"


def parse_quarter(text: str | None, today: date | None = None) -> Quarter:
    """``2026Q4`` (or ``2026-Q4``, ``2026年第4季度``); empty means the current quarter."""
    if not text or not text.strip():
        today = today or date.today()
        return Quarter(today.year, (today.month - 1) // 3 + 1)
    m = re.fullmatch(r"\s*(\d{4})\s*(?:-|年第|年)?\s*[Qq]?\s*([1-4一二三四])\s*(?:季度)?\s*", text)
    if not m or not 2000 <= int(m.group(1)) <= 2100:
        raise FieldProblem("quarter", "季度应写成 2026Q4 这样的形式（年份2000–2100，季度1–4）")
    q = m.group(2)
    return Quarter(int(m.group(1)), int(q) if q.isdigit() else "一二三四".index(q) + 1)


def check_form(form: str) -> str:
    if form not in FORMS:
        raise FieldProblem("form", "报表应为 附件2 或 附件3")
    return form


def due_dates(year: int) -> list[dict[str, Any]]:
    """The four quarters of ``year`` with their due dates (for the 报表 page)."""
    return [{"quarter": Quarter(year, q).key, "label": Quarter(year, q).label, "due": Quarter(year, q).due}
            for q in (1, 2, 3, 4)]


@dataclass
class ReportRow:
    """One activity row. ``shortfall`` is what is printed: the generated text, or
    what staff saved (:mod:`kejie.reports.notes`); ``generated`` keeps the former."""

    name: str
    content: str
    results: str
    shortfall: str
    event_id: int | None = None
    figures: dict[str, int] = field(default_factory=dict)
    generated: str = ""
    saved_by: str = ""
    saved_at: datetime | None = None

    def __post_init__(self) -> None:
        self.generated = self.generated or self.shortfall

    @property
    def key(self) -> str:
        """Stable across visits: ``event:<id>``, or the activity name for the row of
        outcomes outside events."""
        return f"event:{self.event_id}" if self.event_id is not None else self.name


def _in_form(event: Event, form: str) -> bool:
    station = STATION in (event.event_type or "") or STATION in (event.name or "")
    return station if form == "附件3" else not station


def _span(event: Event) -> str:
    from kejie.events.sheets import cn_date

    if event.ends_on and event.ends_on != event.starts_on:
        return f"{cn_date(event.starts_on)}至{cn_date(event.ends_on)}"
    return cn_date(event.starts_on)


def _outcomes(session: Session, quarter: Quarter) -> list[Outcome]:
    lo = datetime.combine(quarter.start, time.min, tzinfo=UTC)
    hi = datetime.combine(quarter.end, time.max, tzinfo=UTC)
    return list(session.scalars(select(Outcome).where(Outcome.recorded_at >= lo, Outcome.recorded_at <= hi)))


def _pair(demand_id: int, expert_id: int | None, society_id: int | None) -> tuple[int, str, int]:
    return (demand_id, "e", expert_id) if expert_id is not None else (demand_id, "s", society_id or 0)


def _results(figures: Counter[str]) -> str:
    text = (f"计划对接{figures['planned']}对，已联系{figures['contacted']}次，"
            f"走访{figures['visited']}次，签约{figures['signed']}项")
    if figures["not_a_fit"]:
        text += f"，{figures['not_a_fit']}对经沟通不合适"
    return text + "。"


def _shortfall(figures: Counter[str]) -> str:
    left = figures["planned"] - figures["visited_pairs"]
    if figures["planned"] and left > 0:
        return f"尚有{left}对计划对接未走访。"
    return ""


def quarterly_rows(session: Session, quarter: Quarter, form: str) -> list[ReportRow]:
    """One row per event of the quarter in ``form`` (by start date), in date order."""
    check_form(form)
    events = session.scalars(
        select(Event).where(Event.starts_on >= quarter.start, Event.starts_on <= quarter.end)
        .order_by(Event.starts_on, Event.id)
    ).all()
    outcomes = _outcomes(session, quarter)
    claimed: set[int] = set()
    rows: list[ReportRow] = []
    for event in events:
        if not _in_form(event, form):
            continue
        plan = session.scalar(
            select(MatchList).where(MatchList.event_id == event.id, MatchList.status == "planned")
            .options(selectinload(MatchList.items)).order_by(MatchList.version.desc()).limit(1)
        )
        items = list(plan.items) if plan is not None else []
        pairs = {_pair(i.demand_id, i.expert_id, i.society_id) for i in items}
        item_ids = {i.id for i in items}
        figures: Counter[str] = Counter(planned=len(items))
        visited_pairs: set[tuple[int, str, int]] = set()
        for o in outcomes:
            pair = _pair(o.demand_id, o.expert_id, o.society_id)
            if o.id in claimed or not (o.match_item_id in item_ids or pair in pairs):
                continue
            claimed.add(o.id)
            figures[OutcomeStatus(o.status).value] += 1
            if o.status in (OutcomeStatus.visited, OutcomeStatus.signed):
                visited_pairs.add(pair)
        figures["visited_pairs"] = len(visited_pairs)
        experts = len({i.expert_id for i in items if i.expert_id is not None})
        societies = len({i.society_id for i in items if i.society_id is not None})
        demands = len({i.demand_id for i in items})
        where = "、".join(event.regions or []) or "全省"
        content = f"{event.event_type or '对接活动'}，{_span(event)}，{where}。"
        if plan is not None:
            content += f"对接方案第{plan.version}版：{demands}项企业需求、{experts}位专家"
            content += f"、{societies}个学会。" if societies else "。"
        else:
            content += "尚未生成对接方案。"
        if event.notes:
            content += event.notes.strip()
        rows.append(ReportRow(event.name, content, _results(figures), _shortfall(figures), event.id, dict(figures)))
    rest = [o for o in outcomes if o.id not in claimed]
    if form == "附件2" and rest:
        figures = Counter(OutcomeStatus(o.status).value for o in rest)
        rows.append(ReportRow(
            OUTSIDE_EVENTS, f"{quarter.label}在活动之外为企业技术需求推荐专家、学会并跟进对接。",
            _results(figures).replace("计划对接0对，", ""), "", None, dict(figures),
        ))
    return rows

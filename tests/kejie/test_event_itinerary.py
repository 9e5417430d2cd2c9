"""Event itinerary, candidate pools and expert interest against a real database
(SQLite and PostgreSQL): tests that try to break each constraint."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy.orm import Session

from kejie.events import PlanOptions, plan_event
from models import Conflict, EventDay, EventInvitee, ExpertFeedback, MatchList
from tests.factories import make_demand, make_enterprise, make_expert
from tests.kejie.test_event_plan import TableScorer, make_event

D1, D2, D3 = date(2026, 12, 8), date(2026, 12, 9), date(2026, 12, 10)


def _world(session: Session, n_experts: int = 2, cities: tuple[str, ...] = ("泉州市", "莆田市")):
    """Two enterprises per city (different 区县), one demand each; experts fit everything."""
    ents, demands = [], []
    counties = {"泉州市": ("晋江市", "石狮市"), "莆田市": ("城厢区", "涵江区")}
    for city in cities:
        for county in counties[city]:
            e = make_enterprise(session, city=city, county=county, address=f"{city}{county}科技园1号")
            ents.append(e)
            demands.append(make_demand(session, e))
    experts = [make_expert(session, capacity=4) for _ in range(n_experts)]
    return ents, demands, experts


def _plan(session: Session, ev_id: int, scorer: TableScorer | None = None, **opts: object) -> MatchList:
    return plan_event(session, ev_id, scorer or TableScorer(0.6), options=PlanOptions(calibrate=False, **opts))  # type: ignore[arg-type]


def test_every_pair_gets_a_date_slot_and_order_one_city_a_day(session: Session) -> None:
    ents, demands, experts = _world(session)
    ev = make_event(session, starts_on=D1, ends_on=D3, max_experts_per_demand=2)
    ml = _plan(session, ev.id)
    assert len(ml.items) == 8
    ent_city = {d.id: e.city for d, e in zip(demands, ents, strict=True)}
    for ex in experts:
        mine = sorted((it for it in ml.items if it.expert_id == ex.id), key=lambda it: it.visit_order)
        assert [it.visit_order for it in mine] == [1, 2, 3, 4]
        assert all(it.visit_date in (D1, D2, D3) and it.slot in ("上午", "下午") for it in mine)
        by_day: dict[date, set[str]] = {}
        for it in mine:
            by_day.setdefault(it.visit_date, set()).add(ent_city[it.demand_id])  # type: ignore[arg-type]
        assert all(len(c) == 1 for c in by_day.values())
        assert len({(it.visit_date, it.slot) for it in mine}) == 4  # one visit per slot
    itin = ml.params["itinerary"]
    assert itin["scheduled"] == 8 and itin["unscheduled"] == []
    assert itin["city_changes"] == 2
    assert "日程：3 天，已排 8 场" in ml.message


def test_availability_by_day_is_respected_and_overflow_said(session: Session) -> None:
    _, _, experts = _world(session, n_experts=1)
    ev = make_event(session, starts_on=D1, ends_on=D3)
    session.add(EventInvitee(event_id=ev.id, expert_id=experts[0].id, available_days=[D2.isoformat()]))
    session.flush()
    ml = _plan(session, ev.id)
    assert len(ml.items) == 4
    placed = [it for it in ml.items if it.visit_date is not None]
    assert {it.visit_date for it in placed} == {D2} and len(placed) == 2
    unplaced = [it for it in ml.items if it.visit_date is None]
    assert len(unplaced) == 2
    assert all("只有 2 个可用时段" in it.schedule_note for it in unplaced)
    assert "2 场未能排入日程" in ml.message


def test_expert_with_no_day_in_the_event(session: Session) -> None:
    _, _, experts = _world(session, n_experts=1)
    ev = make_event(session, starts_on=D1, ends_on=D2)
    session.add(EventInvitee(event_id=ev.id, expert_id=experts[0].id, available_days=["2027-01-01"]))
    session.flush()
    ml = _plan(session, ev.id)
    assert ml.items and all(it.visit_date is None for it in ml.items)
    assert all("没有可参加的日期" in it.schedule_note for it in ml.items)


def test_event_days_and_per_slot_limits(session: Session) -> None:
    _world(session, n_experts=3)
    ev = make_event(session, starts_on=D1, ends_on=D3, max_experts_per_demand=3)
    session.add_all([EventDay(event_id=ev.id, day=D1, slots=["上午"], slot_limit=2), EventDay(event_id=ev.id, day=D3, slot_limit=1)])
    session.flush()
    ml = _plan(session, ev.id)
    placed = [it for it in ml.items if it.visit_date is not None]
    use = Counter((it.visit_date, it.slot) for it in placed)
    assert set(use) <= {(D1, "上午"), (D3, "上午"), (D3, "下午")}  # D2 is not an event day
    assert use[(D1, "上午")] <= 2 and use[(D3, "上午")] <= 1 and use[(D3, "下午")] <= 1
    assert len(placed) == 4 and len(ml.items) == 12
    assert all(it.schedule_note for it in ml.items if it.visit_date is None)


def test_capacity_and_conflicts_still_hold_with_the_itinerary(session: Session) -> None:
    ents, demands, experts = _world(session, n_experts=2)
    session.add(Conflict(expert_id=experts[0].id, enterprise_id=ents[0].id, reason="曾任顾问"))
    ev = make_event(session, starts_on=D1, ends_on=D3, default_capacity=2)
    session.flush()
    ml = _plan(session, ev.id)
    load = Counter(it.expert_id for it in ml.items)
    assert max(load.values()) <= 2
    assert (demands[0].id, experts[0].id) not in {(it.demand_id, it.expert_id) for it in ml.items}
    assert all(it.visit_date is not None for it in ml.items)


def test_replanning_with_changed_availability_makes_a_new_version(session: Session) -> None:
    _, _, experts = _world(session, n_experts=1)
    ev = make_event(session, starts_on=D1, ends_on=D3)
    first = _plan(session, ev.id)
    assert _plan(session, ev.id).id == first.id
    session.add(EventInvitee(event_id=ev.id, expert_id=experts[0].id, available_days=[D1.isoformat()]))
    session.flush()
    second = _plan(session, ev.id)
    assert second.version == first.version + 1


def test_academicians_only_and_candidate_regions(session: Session) -> None:
    _world(session, n_experts=0)
    acad = make_expert(session, is_academician=True, city="厦门市")
    local = make_expert(session, is_academician=True, city="泉州市")
    plain = make_expert(session, city="泉州市")
    ev = make_event(session, starts_on=D1, ends_on=D3, academicians_only=True)
    ml = _plan(session, ev.id)
    assert {it.expert_id for it in ml.items} == {acad.id, local.id}
    ev.candidate_regions = ["泉州"]
    session.flush()
    ml = _plan(session, ev.id)
    assert {it.expert_id for it in ml.items} == {local.id}
    assert plain.id not in ml.params["expert_ids"]


def test_invited_candidates_only_when_not_invite_all(session: Session) -> None:
    _world(session, n_experts=0)
    a, b = make_expert(session), make_expert(session)
    ev = make_event(session, starts_on=D1, ends_on=D3, invite_all=False)
    session.add(EventInvitee(event_id=ev.id, expert_id=b.id))
    session.flush()
    ml = _plan(session, ev.id)
    assert {it.expert_id for it in ml.items} == {b.id}
    assert a.id not in ml.params["expert_ids"]


def test_interest_is_a_bounded_bid_and_decline_a_never_pair(session: Session) -> None:
    ent = make_enterprise(session, city="泉州市", county="晋江市")
    d = make_demand(session, ent)
    strong, keen, gone = make_expert(session), make_expert(session), make_expert(session)
    scorer = TableScorer(0.0)
    scorer.set(d.id, strong.id, 0.70)
    scorer.set(d.id, keen.id, 0.65)
    scorer.set(d.id, gone.id, 0.90)
    session.add_all([
        ExpertFeedback(expert_id=keen.id, demand_id=d.id, choice="interested"),
        ExpertFeedback(expert_id=gone.id, demand_id=d.id, choice="declined"),
    ])
    ev = make_event(session, starts_on=D1, ends_on=D1, max_experts_per_demand=1)
    session.flush()
    ml = _plan(session, ev.id, scorer)
    assert [(it.expert_id, it.interest) for it in ml.items] == [(keen.id, "interested")]
    assert ml.items[0].reasons[0].startswith("专家表示有意向")
    assert ml.params["declined"] == [{"demand_id": d.id, "expert_id": gone.id}]
    # the bid is bounded: a 0.2 lead beats it
    scorer.set(d.id, strong.id, 0.86)
    ml = _plan(session, ev.id, scorer)
    assert [it.expert_id for it in ml.items] == [strong.id]
    # and it never brings in a pair under min_score
    scorer.set(d.id, strong.id, 0.0)
    scorer.set(d.id, keen.id, 0.30)
    ml = _plan(session, ev.id, scorer)
    assert ml.items == []
    with pytest.raises(ValueError):
        PlanOptions(interest_bonus=0.5)


# ----------------------------------------------------------------------------
# the printable exports


def _exported(session: Session, tmp_path, contacts: bool):  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    from kejie.events.export import export_match_list

    ents, demands, experts = _world(session)
    ents[0].name = "=HYPERLINK(\"http://x\")泉州公司"
    session.add(ExpertFeedback(expert_id=experts[0].id, demand_id=demands[1].id, choice="interested"))
    ev = make_event(session, name="院士八闽行·泉州站", starts_on=D1, ends_on=D3)
    session.flush()
    ml = _plan(session, ev.id)
    xlsx, csv_path = export_match_list(session, ml, tmp_path, ["xlsx", "csv"], include_contacts=contacts)
    return ml, experts, load_workbook(xlsx), csv_path


def test_schedule_sheet_for_staff_print(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ml, experts, wb, csv_path = _exported(session, tmp_path, contacts=True)
    ws = wb["日程"]
    headers = [c.value for c in ws[2]]
    assert headers[:8] == ["序号", "日期", "时段", "专家", "企业", "设区市", "区县", "地址"]
    assert "联系人" in headers and "联系人手机" in headers
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    assert len(rows) == len(ml.items) == 8
    assert rows[0][1] == "2026年12月8日" and rows[0][2] in ("上午", "下午")
    days = [r[1] for r in rows]
    assert days == sorted(days, key=lambda t: int(t.split("月")[1].rstrip("日")))
    assert all(not str(v).startswith("=") for r in rows for v in r if v is not None)
    for sheet in wb.worksheets:
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$2"
    # one sheet per expert, in visit order, with the Chinese date and slot
    mine = wb[f"专家-{experts[0].name}"]
    assert mine.print_title_rows == "$1:$2"
    when = [r[1] for r in mine.iter_rows(min_row=3, values_only=True)]
    ordered = sorted((it for it in ml.items if it.expert_id == experts[0].id), key=lambda it: it.visit_order)
    assert when == [f"2026年12月{it.visit_date.day}日 {it.slot}" for it in ordered]  # type: ignore[union-attr]
    interest = [c.value for c in mine[2]].index("专家意向")
    assert "有意向" in [r[interest] for r in mine.iter_rows(min_row=3, values_only=True)]
    assert any(name.startswith("企业-") for name in wb.sheetnames)
    text = csv_path.read_text(encoding="utf-8-sig")
    assert "日程" in text.splitlines()[0] and "2026年12月8日" in text and "有意向" in text
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_schedule_sheet_without_contacts(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, _, wb, _ = _exported(session, tmp_path, contacts=False)
    headers = [c.value for c in wb["日程"][2]]
    assert "联系人" not in headers and "联系人手机" not in headers

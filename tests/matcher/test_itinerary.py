"""The pure itinerary model: hard constraints hold, cities stay together, and
what cannot be placed comes back with a reason."""

from __future__ import annotations

from collections import Counter

import pytest

from matcher.itinerary import (
    Day,
    ItineraryProblem,
    Visit,
    city_changes,
    naive_schedule,
    solve_itinerary,
)

DAYS = [Day("2026-12-08"), Day("2026-12-09"), Day("2026-12-10")]


def _alternating(n_visitors: int = 4) -> list[Visit]:
    out = []
    k = 0
    for e in range(n_visitors):
        for city, county in (("泉州市", "晋江市"), ("莆田市", "城厢区"), ("泉州市", "石狮市"), ("莆田市", "涵江区")):
            out.append(Visit(k, f"expert:{e}", city, county, f"企业{k}", f"专家{e}"))
            k += 1
    return out


def test_one_city_per_day_and_fewer_changes_than_naive() -> None:
    visits = _alternating()
    problem = ItineraryProblem(visits, DAYS)
    result = solve_itinerary(problem)
    assert not result.unscheduled
    for e in range(4):
        days = {}
        for v in visits:
            if v.visitor == f"expert:{e}":
                p = result.placed[v.key]
                days.setdefault(p.day, set()).add(v.city)
        assert all(len(c) == 1 for c in days.values())
    naive = sum(city_changes(visits, naive_schedule(problem)).values())
    assert naive == 12 and result.city_changes == 4
    assert result.city_changes <= naive / 2


def test_orders_are_a_sequence_in_time() -> None:
    visits = _alternating(1)
    result = solve_itinerary(ItineraryProblem(visits, DAYS))
    ps = sorted(result.placed.values(), key=lambda p: p.order)
    assert [p.order for p in ps] == [1, 2, 3, 4]
    assert [(p.day, p.slot) for p in ps] == sorted((p.day, p.slot) for p in ps)


def test_availability_is_respected_and_overflow_explained() -> None:
    visits = _alternating(1)
    problem = ItineraryProblem(visits, DAYS, availability={"expert:0": {2}})
    result = solve_itinerary(problem)
    assert {p.day for p in result.placed.values()} == {2}
    assert len(result.placed) == 2 and len(result.unscheduled) == 2
    assert all("只有 2 个可用时段" in why for why in result.unscheduled.values())
    # the two kept are in one city
    assert len({visits[k].city for k in result.placed}) == 1


def test_no_available_day_is_said_plainly() -> None:
    visits = _alternating(1)
    result = solve_itinerary(ItineraryProblem(visits, DAYS, availability={"expert:0": set()}))
    assert not result.placed
    assert all("没有可参加的日期" in why for why in result.unscheduled.values())


@pytest.mark.parametrize("limit", [1, 2])
def test_slot_limits_hold(limit: int) -> None:
    visits = _alternating(4)
    days = [Day(d.label, d.slots, slot_limit=limit) for d in DAYS]
    result = solve_itinerary(ItineraryProblem(visits, days))
    use = Counter((p.day, p.slot) for p in result.placed.values())
    assert max(use.values()) <= limit
    assert len(result.placed) == 6 * limit
    assert all("名额已满" in why for why in result.unscheduled.values())
    per_visitor_slot = Counter((visits[k].visitor, p.day, p.slot) for k, p in result.placed.items())
    assert max(per_visitor_slot.values()) == 1


def test_visitor_slot_limit_allows_two_a_slot() -> None:
    visits = [Visit(k, "expert:0", "泉州市", "晋江市", f"企业{k}") for k in range(4)]
    result = solve_itinerary(ItineraryProblem(visits, DAYS[:1], visitor_slot_limit=2))
    assert len(result.placed) == 4
    assert Counter((p.day, p.slot) for p in result.placed.values()) == {(0, 0): 2, (0, 1): 2}


def test_counties_kept_together_within_a_day() -> None:
    visits = [
        Visit(0, "e", "泉州市", "晋江市"),
        Visit(1, "e", "泉州市", "石狮市"),
        Visit(2, "e", "泉州市", "晋江市"),
        Visit(3, "e", "泉州市", "石狮市"),
    ]
    result = solve_itinerary(ItineraryProblem(visits, DAYS[:2]))
    by_day: dict[int, set[str]] = {}
    for k, p in result.placed.items():
        by_day.setdefault(p.day, set()).add(visits[k].county)
    assert all(len(c) == 1 for c in by_day.values())


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        solve_itinerary(ItineraryProblem([Visit(1, "a", "x"), Visit(1, "b", "y")], DAYS))
    with pytest.raises(ValueError):
        solve_itinerary(ItineraryProblem([Visit(1, "a", "x")], DAYS, visitor_slot_limit=0))
    empty = solve_itinerary(ItineraryProblem([Visit(1, "a", "x")], []))
    assert "没有日期" in empty.unscheduled[1]

"""Timestamps are timezone-aware UTC on SQLite and PostgreSQL alike (issue 12:
SQLite used to drop the offset and hand back naive datetimes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Demand, ImportLog
from tests.factories import make_demand

CST = timezone(timedelta(hours=8))


def test_round_trip_is_aware_utc(session: Session) -> None:
    demand = make_demand(session)
    demand.created_at = datetime(2026, 10, 1, 9, 30, tzinfo=CST)  # 01:30 UTC
    session.commit()
    session.expire_all()
    stored = session.get(Demand, demand.id)
    assert stored is not None
    assert stored.created_at.tzinfo is not None and stored.created_at.utcoffset() == timedelta(0)
    assert stored.created_at == datetime(2026, 10, 1, 1, 30, tzinfo=UTC)
    assert stored.updated_at.tzinfo is not None  # the defaults too
    # comparisons across offsets select the same instant on both backends
    hits = session.scalars(
        select(Demand.id).where(Demand.created_at >= datetime(2026, 10, 1, 9, 0, tzinfo=CST),
                                Demand.created_at < datetime(2026, 10, 1, 2, 0, tzinfo=UTC))
    ).all()
    assert hits == [demand.id]
    # a naive value is taken as UTC
    demand.created_at = datetime(2026, 10, 1, 1, 30)
    session.commit()
    session.expire_all()
    assert session.get(Demand, demand.id).created_at == datetime(2026, 10, 1, 1, 30, tzinfo=UTC)  # type: ignore[union-attr]


def test_api_timestamps_carry_an_offset(client: TestClient, staff: dict[str, str], session_factory) -> None:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        s.add(ImportLog(filename="x.csv", kind="experts", started_at=datetime(2026, 10, 1, 8, 0, tzinfo=CST)))
        s.commit()
    [item] = client.get("/imports", headers=staff).json()["items"]
    assert item["started_at"] in ("2026-10-01T00:00:00Z", "2026-10-01T00:00:00+00:00")
    demand = client.get("/demands", headers=staff).json()["items"][0]
    assert demand["created_at"].endswith(("Z", "+00:00"))

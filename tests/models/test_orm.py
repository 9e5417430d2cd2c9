from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import Demand, DemandStatus, Enterprise
from tests.factories import make_demand, make_enterprise


def test_demand_round_trip_keeps_lists_and_enum(session):
    ent = make_enterprise(session, name="厦门海洋生物科技有限公司", city="厦门市")
    make_demand(session, ent, keywords=["海藻多糖", "提取工艺"])
    session.commit()
    got = session.scalars(select(Demand)).one()
    assert got.keywords == ["海藻多糖", "提取工艺"]
    assert got.status is DemandStatus.open
    assert got.enterprise.city == "厦门市"


def test_dedup_key_is_unique(session):
    make_enterprise(session, dedup_key="same")
    session.commit()
    session.add(Enterprise(dedup_key="same", name="重复单位"))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
    else:
        raise AssertionError("a second enterprise with the same dedup key was accepted")
    assert session.query(Enterprise).count() == 1

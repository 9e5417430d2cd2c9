"""The bundled sample: files up to date, realistic shape, idempotent loading."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.sample import SAMPLE_DIR, load_sample
from models import Conflict, Demand, Enterprise, Event, Expert, ImportLog, Society, Station

TABLES = (Demand, Enterprise, Expert, Society, Station, Conflict, Event)


def _counts(session: Session) -> dict[str, int]:
    return {m.__name__: session.scalar(select(func.count()).select_from(m)) or 0 for m in TABLES}


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_sample", SAMPLE_DIR / "make_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sheet_values(path: Path) -> list[list[object]]:
    wb = load_workbook(path, read_only=True)
    try:
        return [list(r) for r in wb.active.iter_rows(values_only=True)]
    finally:
        wb.close()


def test_committed_sample_files_match_the_generator(tmp_path: Path) -> None:
    _generator().write_all(tmp_path)
    for name in ("demands.csv", "experts.csv", "societies.csv", "stations.csv", "conflicts.csv", "events.json"):
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), f"re-run make_sample.py ({name})"
    assert _sheet_values(tmp_path / "demands.xlsx") == _sheet_values(SAMPLE_DIR / "demands.xlsx")


def test_sample_shape() -> None:
    gen = _generator()
    assert 35 <= len(gen.DEMANDS) <= 45
    assert 25 <= len(gen.ENTERPRISES) <= 35
    assert 55 <= len(gen.EXPERTS) <= 65
    assert 10 <= sum(1 for e in gen.EXPERTS if e[3] == "是") <= 14
    assert 12 <= len(gen.SOCIETIES) <= 18
    cities = {e[1][:3] for e in gen.ENTERPRISES.values()}
    assert cities >= {"福州市", "厦门市", "泉州市", "漳州市", "莆田市", "三明市", "南平市", "龙岩市", "宁德市"}
    # no templated filler: every demand text is distinct and of varied length
    descriptions = [d[3] for d in gen.DEMANDS]
    assert len(set(descriptions)) == len(descriptions)
    assert max(map(len, descriptions)) > 2 * min(map(len, descriptions))
    # invented contacts only
    for e in gen.ENTERPRISES.values():
        assert e[4].startswith(("1380000", "1990000"))
        assert e[7].endswith(("example.com", "example.cn"))
    for x in gen.EXPERTS:
        assert x[11].startswith(("1380000", "1990000")) and x[12].endswith(("example.com", "example.cn"))


def test_load_sample_is_idempotent(session: Session) -> None:
    first = load_sample(session)
    counts = _counts(session)
    assert counts == {
        "Demand": 40, "Enterprise": 31, "Expert": 61, "Society": 16, "Station": 6, "Conflict": 3, "Event": 1,
    }
    assert all(r.rejected == 0 for r in first.imports)
    assert (first.stations_created, first.conflicts_created, first.events_created) == (6, 3, 1)

    demand_stamps = {d.id: d.updated_at for d in session.scalars(select(Demand))}
    second = load_sample(session)
    assert _counts(session) == counts
    assert [(r.inserted, r.updated) for r in second.imports] == [(0, 0)] * 3
    assert [r.unchanged for r in second.imports] == [16, 61, 40]
    assert (second.stations_created, second.conflicts_created, second.events_created) == (0, 0, 0)
    session.expire_all()
    assert {d.id: d.updated_at for d in session.scalars(select(Demand))} == demand_stamps
    assert session.scalar(select(func.count()).select_from(ImportLog)) == 6

    event = session.scalars(select(Event)).one()
    assert event.name == "2026年院士八闽行（泉州站）"
    assert event.starts_on.year == 2026 and event.starts_on.month == 12
    assert sorted(event.regions) == ["泉州市", "莆田市"]
    assert (event.default_capacity, event.max_experts_per_demand) == (3, 2)
    in_scope = session.scalars(
        select(Demand).join(Enterprise).where(Enterprise.city.in_(["泉州市", "莆田市"]))
    ).all()
    assert len(in_scope) >= 10
    academicians = session.scalars(select(Expert).where(Expert.is_academician.is_(True))).all()
    assert len(academicians) == 13


def test_sample_csv_matches_xlsx_records(session: Session) -> None:
    load_sample(session)
    from ingest import import_file

    report = import_file(session, SAMPLE_DIR / "demands.csv", "demands")
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 40)
    with (SAMPLE_DIR / "demands.csv").open(encoding="utf-8-sig") as fh:
        first_lines = [next(csv.reader(fh)) for _ in range(2)]
    assert first_lines[0][0] == "福建省企事业单位技术需求征集表"
    assert first_lines[1][0].startswith("填报单位：")

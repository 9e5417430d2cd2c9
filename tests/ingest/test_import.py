"""Importing into the database (runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from ingest import import_file
from ingest.keys import enterprise_key
from models import Demand, Enterprise, Expert, ImportLog, Society
from tests.ingest.conftest import (
    ENT_A,
    ENT_C,
    ENT_D,
    MESSY_DUPLICATES,
    MESSY_GOOD_ROWS,
    MESSY_REJECTS,
    write_csv,
)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("fixture", ["messy_xlsx", "messy_csv_gbk"])
def test_messy_sheet_lands_every_good_row_once_and_reports_every_bad_row(
    session: Session, fixture: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(fixture)
    report = import_file(session, path, "demands", imported_by="测试员")

    assert report.rows_total == 12
    assert report.inserted == len(MESSY_GOOD_ROWS) == 4
    assert report.duplicates == 1
    assert [(d["row"], d["duplicate_of"]) for d in report.duplicate_rows] == MESSY_DUPLICATES
    assert report.rejected == len(MESSY_REJECTS)
    got = [(r["row"], r["field"], r["reason"]) for r in report.rejects]
    assert len(got) == len(MESSY_REJECTS)
    for (row, field, fragment), (g_row, g_field, g_reason) in zip(MESSY_REJECTS, got, strict=True):
        assert (g_row, g_field) == (row, field)
        assert fragment in g_reason
        assert all(r["file"] == path.name for r in report.rejects)
    assert {r["row"]: r["value"] for r in report.rejects}[8] == "1380000"

    assert _count(session, Demand) == 4
    assert _count(session, Enterprise) == 3
    assert report.enterprises is not None and report.enterprises.inserted == 3
    rows = {d.source_row: d for d in session.scalars(select(Demand))}
    assert sorted(rows) == MESSY_GOOD_ROWS

    a1 = rows[5]
    assert a1.mobile == "13800000501"  # full-width digits folded
    assert a1.email == "WANG@example.com"
    assert a1.office_phone == "0595-22880011"
    assert a1.submitted_by == "泉州市科协"  # from the 填报单位 line
    assert a1.submitted_on == date(2026, 3, 15)  # from the 填报时间 line
    assert rows[6].submitted_on == date(2026, 3, 20)  # the row's own column wins
    assert a1.enterprise_id == rows[6].enterprise_id
    ent_a = session.get(Enterprise, a1.enterprise_id)
    assert ent_a is not None
    assert (ent_a.name, ent_a.city, ent_a.county, ent_a.address, ent_a.postcode) == (
        ENT_A, "泉州市", "", "泉州市晋江市示例路1号", "362200"
    )
    c = rows[15]
    assert (c.mobile, c.office_phone, c.fax) == ("13800000509", "0594-2233445-806", "0594-22334456")
    ent_c = session.get(Enterprise, c.enterprise_id)
    assert ent_c is not None and (ent_c.name, ent_c.postcode, ent_c.city) == (ENT_C, "351100", "莆田市")
    d = rows[17]
    ent_d = session.get(Enterprise, d.enterprise_id)
    assert ent_d is not None and (ent_d.name, ent_d.city) == (ENT_D, "厦门市")  # guessed from the address
    assert d.title == "客流数据需要预测模型"  # no title given: first sentence of the description

    log = session.scalars(select(ImportLog)).one()
    assert (log.kind, log.filename, log.imported_by) == ("demands", path.name, "测试员")
    assert (log.rows_total, log.inserted, log.updated, log.unchanged, log.rejected) == (12, 4, 0, 0, 7)
    assert len(log.file_hash) == 64
    assert [r["row"] for r in log.rejects] == [r[0] for r in MESSY_REJECTS]
    assert report.import_log_id == log.id
    json.dumps(report.to_dict(), ensure_ascii=False)  # the API returns it as JSON


def test_reimport_is_a_no_op(session: Session, messy_xlsx: Path, messy_csv_gbk: Path) -> None:
    import_file(session, messy_xlsx, "demands")
    before = {d.id: d.updated_at for d in session.scalars(select(Demand))}
    ent_before = {e.id: e.updated_at for e in session.scalars(select(Enterprise))}
    session.expire_all()

    again = import_file(session, messy_xlsx, "demands")
    assert (again.inserted, again.updated, again.unchanged, again.duplicates, again.rejected) == (0, 0, 4, 1, 7)
    assert again.enterprises is not None
    assert (again.enterprises.inserted, again.enterprises.updated, again.enterprises.unchanged) == (0, 0, 3)
    assert again.changes == []
    # the same records as a GBK CSV are the same records
    as_csv = import_file(session, messy_csv_gbk, "demands")
    assert (as_csv.inserted, as_csv.updated, as_csv.unchanged) == (0, 0, 4)

    session.expire_all()
    assert {d.id: d.updated_at for d in session.scalars(select(Demand))} == before
    assert {e.id: e.updated_at for e in session.scalars(select(Enterprise))} == ent_before
    assert _count(session, ImportLog) == 3


def test_changed_field_is_counted_as_updated(session: Session, make_csv) -> None:  # type: ignore[no-untyped-def]
    header = ["单位名称", "技术需求名称", "具体的技术需求说明", "联系人", "手机", "所属行业", "企业概况"]
    row = ["福州示例材料有限公司", "正极包覆", "高镍正极循环衰减快。", "王工", "13800000601", "新材料", "高新技术企业"]
    first = import_file(session, make_csv("v1.csv", [header, row]), "demands")
    assert first.inserted == 1
    demand = session.scalars(select(Demand)).one()
    stamp = demand.updated_at

    changed = list(row)
    changed[4] = "13900000602"  # new mobile
    changed[6] = "国家高新技术企业，专精特新"  # new profile
    second = import_file(session, make_csv("v2.csv", [header, changed]), "demands")
    assert (second.inserted, second.updated, second.unchanged) == (0, 1, 0)
    assert second.enterprises is not None and second.enterprises.updated == 1
    by_entity = {c["entity"]: c for c in second.changes}
    assert by_entity["demand"]["fields"] == ["mobile"]
    assert by_entity["demand"]["row"] == 2
    assert by_entity["enterprise"]["fields"] == ["profile"]
    session.expire_all()
    demand = session.scalars(select(Demand)).one()
    assert demand.mobile == "13900000602"
    assert demand.updated_at > stamp

    # a blank cell never erases a stored value
    blanked = list(changed)
    blanked[4] = ""
    third = import_file(session, make_csv("v3.csv", [header, blanked]), "demands")
    assert (third.updated, third.unchanged) == (0, 1)
    session.expire_all()
    assert session.scalars(select(Demand)).one().mobile == "13900000602"


def test_enterprise_across_batches_is_one_record(session: Session, make_csv) -> None:  # type: ignore[no-untyped-def]
    header = ["单位名称", "所在地区", "技术需求名称", "具体的技术需求说明", "企业概况", "网址"]
    rows = [
        ["龙岩示例机械有限公司", "龙岩市", f"需求{i}", f"第{i}项需求说明。", "" if i else "装载机企业", "" if i < 3 else "lyjx.example.com"]
        for i in range(7)
    ]
    path = make_csv("batches.csv", [header, *rows])
    report = import_file(session, path, "demands", batch_size=2)
    assert report.inserted == 7
    assert report.enterprises is not None and report.enterprises.inserted == 1
    ent = session.scalars(select(Enterprise)).one()
    assert (ent.profile, ent.website, ent.city) == ("装载机企业", "lyjx.example.com", "龙岩市")
    again = import_file(session, path, "demands", batch_size=2)
    assert (again.unchanged, again.enterprises.unchanged, again.enterprises.updated) == (7, 1, 0)  # type: ignore[union-attr]


def test_lookups_are_batched_not_per_row(session: Session, make_csv) -> None:  # type: ignore[no-untyped-def]
    header = ["单位名称", "技术需求名称", "具体的技术需求说明"]
    rows = [[f"示例企业{i % 500}", f"需求{i}", "说明"] for i in range(3000)]
    path = make_csv("many.csv", [header, *rows])
    selects: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    try:
        report = import_file(session, path, "demands", batch_size=1000)
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert report.inserted == 3000
    assert _count(session, Enterprise) == 500
    # two IN-lookups per batch (enterprises, demands) plus a handful of bookkeeping selects
    assert len(selects) <= 12, selects[:20]


def test_experts_validation_and_upsert(session: Session, tmp_path: Path) -> None:
    header = ["专家编号", "姓名", "职称", "是否院士", "工作单位", "学科", "研究方向", "所在地区", "手机", "E-mail", "容量", "是否可用"]
    rows = [
        header,
        ["T001", "甲专家", "教授", "否", "福州大学", "材料科学与工程", "锂电正极；表面包覆", "福州", "13800000701", "jia@example.cn", "3", "是"],
        ["T002", "乙专家", "中国工程院院士", "", "厦门大学", "化学", "电化学、界面", "厦门市", "", "", "", ""],
        ["T003", "丙专家", "教授", "也许", "华侨大学", "机械工程", "焊接", "泉州市", "", "", "三次", "是"],
        ["T004", "", "教授", "否", "集美大学", "水产", "育种", "厦门市", "", "", "3", "是"],
        ["T005", "丁专家", "研究员", "否", "某研究所", "海洋科学", "海藻", "上海市", "", "", "2", "否"],
        ["t001", "甲专家", "教授", "否", "福州大学", "材料科学与工程", "锂电正极；表面包覆", "福州", "13800000701", "jia@example.cn", "3", "是"],
    ]
    path = write_csv(tmp_path / "experts.csv", rows, encoding="gbk")
    report = import_file(session, path, "experts")
    assert (report.inserted, report.rejected, report.duplicates) == (2, 3, 1)
    reasons = {(r["row"], r["field"]): r["reason"] for r in report.rejects}
    assert reasons[(4, "是否院士")] == "是否院士应填写“是”或“否”"
    assert reasons[(4, "容量")] == "可接待次数应为整数"
    assert reasons[(5, "姓名")] == "姓名不能为空"
    assert reasons[(6, "所在地区")].startswith("所在地区应为福建省设区市")
    experts = {e.external_id: e for e in session.scalars(select(Expert))}
    assert experts["T001"].research_areas == ["锂电正极", "表面包覆"]
    assert experts["T001"].city == "福州市" and experts["T001"].capacity == 3
    assert experts["T002"].is_academician is True  # inferred from 职称
    assert experts["T002"].research_areas == ["电化学", "界面"]
    assert experts["T002"].capacity == 3 and experts["T002"].available is True  # model defaults

    # is_academician explicitly changed -> updated with the field named
    rows[2][3] = "否"
    report2 = import_file(session, write_csv(tmp_path / "experts2.csv", rows[:3]), "experts")
    assert (report2.updated, report2.unchanged) == (1, 1)
    assert report2.changes[0]["fields"] == ["is_academician"]


def test_shared_societies_csv_imports_all_67(session: Session, shared_data: Path) -> None:
    report = import_file(session, shared_data / "societies.csv", "societies")
    assert (report.rows_total, report.inserted, report.rejected) == (67, 67, 0)
    assert _count(session, Society) == 67
    s01 = session.scalars(select(Society).where(Society.external_id == "S01")).one()
    assert s01.name == "中医学/中药学学科专家组"
    assert s01.category == "医学"
    assert s01.disciplines == ["中医学/中药学"]
    assert s01.keywords[:3] == ["脑梗死", "中医药疗法", "血液流变学"]
    assert len(s01.representative_works) == 8
    again = import_file(session, shared_data / "societies.csv", "societies")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 67)


def test_enterprise_key_matches_importer(session: Session, make_csv) -> None:  # type: ignore[no-untyped-def]
    path = make_csv("k.csv", [["单位名称", "具体的技术需求说明"], ["Ｆｕｊｉａｎ 示例 有限公司", "说明。"]])
    import_file(session, path, "demands")
    ent = session.scalars(select(Enterprise)).one()
    assert ent.name == "Fujian 示例 有限公司"
    assert ent.dedup_key == enterprise_key("fujian示例有限公司")


def test_json_and_jsonl_land_like_csv(session: Session, tmp_path: Path) -> None:
    societies = [
        {"society_id": "J1", "name": "福建省示例学会", "disciplines": ["化学", "材料科学与工程"],
         "keywords": "催化；电化学", "capacity": 4},
        {"society_id": "J2", "name": "", "keywords": []},
    ]
    path = tmp_path / "societies.json"
    path.write_text(json.dumps(societies, ensure_ascii=False), encoding="utf-8")
    report = import_file(session, path, "societies")
    assert (report.format, report.inserted, report.rejected) == ("json", 1, 1)
    assert report.rejects[0] == {"file": "societies.json", "row": 2, "field": "name", "value": "", "reason": "学会名称不能为空"}
    soc = session.scalars(select(Society)).one()
    assert (soc.disciplines, soc.keywords, soc.capacity) == (["化学", "材料科学与工程"], ["催化", "电化学"], 4)

    lines = tmp_path / "experts.jsonl"
    lines.write_text(
        json.dumps({"expert_id": "J9", "name": "某专家", "is_academician": True, "capacity": 2}, ensure_ascii=False)
        + "\n{broken\n",
        encoding="utf-8",
    )
    report = import_file(session, lines, "experts")
    assert (report.format, report.inserted, report.rejected) == ("jsonl", 1, 1)
    assert report.rejects[0]["row"] == 2 and report.rejects[0]["reason"] == "该行不是合法的JSON"
    expert = session.scalars(select(Expert)).one()
    assert (expert.is_academician, expert.capacity) == (True, 2)

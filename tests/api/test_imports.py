"""Spreadsheet uploads: good rows are stored, bad rows come back named."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import select

from models import AuditLog, Expert
from tests.api.conftest import World

EXPERTS_CSV = (
    "专家编号,姓名,职称,工作单位,学科,研究方向,所在地区,手机,E-mail\n"
    "X001,陈海洋,研究员,自然资源部第三海洋研究所,海洋科学,海洋生物资源开发；海藻多糖提取,厦门,13511112222,chen@tio.example.cn\n"
    "X002,林错号,教授,集美大学,水产,水产养殖,厦门,12345,lin@jmu.example.cn\n"
)


def test_upload_csv_with_rejects(
    client: TestClient, staff: dict[str, str], world: World, session_factory
) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/imports?wait=true",
        headers=staff,
        data={"kind": "experts"},
        files={"file": ("2024年专家库.csv", EXPERTS_CSV.encode("utf-8"), "text/csv")},
    )
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["filename"] == "2024年专家库.csv"
    assert (report["rows_total"], report["inserted"], report["rejected"]) == (2, 1, 1)
    [reject] = report["rejects"]
    assert reject["file"] == "2024年专家库.csv" and reject["row"] == 3
    assert reject["field"] in ("mobile", "手机") and "手机号码" in reject["reason"]
    assert report["import_id"]

    with session_factory() as s:
        assert s.scalar(select(Expert).where(Expert.name == "陈海洋")) is not None
        assert s.scalar(select(Expert).where(Expert.name == "林错号")) is None
        log = s.scalar(select(AuditLog).where(AuditLog.action == "import"))
        assert log is not None and log.user_id == world.staff_id and log.entity_id == report["import_id"]

    # the index was refreshed: the new expert can be matched at once
    found = client.get("/search", headers=staff, params={"q": "海藻多糖提取", "kind": "experts", "top_k": 1})
    assert found.json()["items"][0]["name"] == "陈海洋"

    history = client.get("/imports", headers=staff).json()
    assert history["total"] == 1 and history["items"][0]["rejected"] == 1
    one = client.get(f"/imports/{report['import_id']}", headers=staff).json()
    assert one["rejects"][0]["row"] == 3


def test_upload_xlsx_demands(client: TestClient, staff: dict[str, str]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["单位名称", "所在地区", "技术需求名称", "具体的技术需求说明", "联系人", "手机"])
    ws.append(["泉州纺织科技有限公司", "泉州", "功能性纤维开发", "开发抗菌功能性涤纶纤维及其纺纱工艺。", "黄工", "13655556666"])
    ws.append(["", "泉州", "缺单位的需求", "这一行没有单位名称。", "", ""])
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post(
        "/imports?wait=true",
        headers=staff,
        data={"kind": "demands"},
        files={"file": ("泉州需求.xlsx", buf.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
    )
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["inserted"] == 1 and report["rejected"] == 1
    assert report["rejects"][0]["row"] == 3
    listed = client.get("/demands?q=功能性纤维", headers=staff).json()
    assert listed["total"] == 1 and listed["items"][0]["city"] == "泉州市"


def test_upload_errors(client: TestClient, staff: dict[str, str], expert: dict[str, str]) -> None:
    r = client.post("/imports?wait=true", headers=staff, data={"kind": "experts"},
                    files={"file": ("notes.txt", b"hello", "text/plain")})
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["field"] == "file" and "notes.txt" in err["reason"]
    r = client.post("/imports?wait=true", headers=staff, data={"kind": "experts"},
                    files={"file": ("empty.csv", b"", "text/csv")})
    assert r.status_code == 422 and "空文件" in r.json()["detail"][0]["reason"]
    r = client.post("/imports?wait=true", headers=staff, data={"kind": "planets"},
                    files={"file": ("a.csv", b"x", "text/csv")})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "kind"
    r = client.post("/imports?wait=true", headers=staff, data={"kind": "experts"})
    assert r.json()["detail"] == [{"field": "file", "reason": "必填项，不能缺少"}]
    r = client.post("/imports?wait=true", headers=expert, data={"kind": "experts"},
                    files={"file": ("a.csv", EXPERTS_CSV.encode(), "text/csv")})
    assert r.status_code == 403

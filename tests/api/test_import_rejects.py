"""The import report lists in-file duplicates and updated fields; rejects download
as XLSX (staff only) from the JSON API and the imports page (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from urllib.parse import unquote

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.api.conftest import World
from tests.api.test_jobs import wait_page
from tests.api.test_web_pages import csrf_of, web_login

HEADER = "单位名称,所在地区,技术需求名称,具体的技术需求说明,手机,备注"
SHEET = (
    f"{HEADER}\n"
    "福州示例光电有限公司,福州市,激光焊接质量,焊缝气孔多,13800000001,甲\n"
    "福州示例光电有限公司,福州市,激光焊接质量,焊缝气孔多,13800000001,甲\n"
    "福州示例食品有限公司,杭州市,保鲜工艺,货架期短,13800000002,乙\n"
    "福州示例茶业有限公司,福州市,做青控制,做青全凭经验,12345,=1+2\n"
)


def _upload(client: TestClient, headers: dict[str, str], text: str, name: str = "福州市需求.csv") -> dict:  # type: ignore[type-arg]
    r = client.post("/imports?wait=true", headers=headers, data={"kind": "demands"},
                    files={"file": (name, text.encode("utf-8"), "text/csv")})
    assert r.status_code == 201, r.text
    return r.json()


def test_report_adds_up_and_rejects_download(client: TestClient, staff: dict[str, str], world: World) -> None:
    report = _upload(client, staff, SHEET)
    assert (report["rows_total"], report["inserted"], report["rejected"], report["duplicates"]) == (4, 1, 2, 1)
    assert report["duplicate_rows"][0]["row"] == 3 and report["duplicate_rows"][0]["duplicate_of"] == 2
    r = client.get(f"/imports/{report['import_id']}/rejects.xlsx", headers=staff)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "福州市需求_被拒绝的行.xlsx" in unquote(r.headers["content-disposition"])
    ws = load_workbook(io.BytesIO(r.content)).active
    assert [c.value for c in ws[1]] == [*HEADER.split(","), "原因"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert rows[0][:6] == ["福州示例食品有限公司", "杭州市", "保鲜工艺", "货架期短", "13800000002", "乙"]
    assert rows[0][6].startswith("第4行：所在地区")
    assert rows[1][5] == "'=1+2" and rows[1][6].startswith("第5行：")
    # the stored log reports the same, later
    one = client.get(f"/imports/{report['import_id']}", headers=staff).json()
    assert (one["duplicates"], one["rejected"]) == (1, 2)


def test_corrected_description_is_listed_as_an_update(client: TestClient, staff: dict[str, str], world: World) -> None:
    _upload(client, staff, SHEET)
    corrected = SHEET.replace("焊缝气孔多,13800000001,甲\n", "焊缝气孔率高于3%，需降到1%以下,13800000001,甲\n", 1)
    report = _upload(client, staff, corrected)
    assert (report["inserted"], report["updated"], report["duplicates"]) == (0, 1, 1)
    [change] = [c for c in report["changes"] if c["entity"] == "demand"]
    assert change["fields"] == ["description"] and change["label"] == "激光焊接质量"
    assert client.get("/demands", headers=staff, params={"q": "激光焊接质量"}).json()["total"] == 1


def test_rejects_download_is_for_staff_and_on_the_page(
    client: TestClient, staff: dict[str, str], expert: dict[str, str], world: World, worker: None
) -> None:
    report = _upload(client, staff, SHEET)
    assert client.get(f"/imports/{report['import_id']}/rejects.xlsx", headers=expert).status_code == 403
    assert client.get("/imports/999999/rejects.xlsx", headers=staff).status_code == 404
    web_login(client, "staff", "staff123")
    page = client.get(f"/web/imports/{report['import_id']}")
    assert f"/imports/{report['import_id']}/rejects.xlsx" in page.text
    assert 'id="duplicates"' in page.text and "文件内重复" in page.text
    assert "读取 4 行 = 新增 1 + 更新 0 + 未变化 0 + 被拒绝 2 + 文件内重复 1" in page.text
    token = csrf_of(client.get("/web/imports").text)
    corrected = SHEET.replace("焊缝气孔多,13800000001,甲\n", "焊缝气孔率高,13800000001,甲\n", 1)
    up = client.post("/web/imports", data={"csrf": token, "kind": "demands"},
                     files={"file": ("福州市需求.csv", corrected.encode("utf-8"), "text/csv")}, follow_redirects=False)
    assert up.status_code == 303 and up.headers["location"].startswith("/web/jobs/")
    done = wait_page(client, up.headers["location"])  # the upload page goes on to the job's page
    assert 'id="changes"' in done and "具体的技术需求说明" in done
    assert client.get(f"/imports/{report['import_id']}/rejects.xlsx").status_code == 200

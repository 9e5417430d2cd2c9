"""The staff web pages, driven through the test client (the browser test is in tests/web)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from models import Demand, Outcome
from tests.api.conftest import World

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def web_login(client: TestClient, username: str, password: str) -> None:
    r = client.post("/login", data={"username": username, "password": password}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "kejie_session" in r.cookies or client.cookies.get("kejie_session")


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def test_login_flow_and_redirects(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2F"
    r = client.get("/web/demands?city=福州市", follow_redirects=False)
    assert r.headers["location"].startswith("/login?next=%2Fweb%2Fdemands")
    bad = client.post("/login", data={"username": "staff", "password": "wrong"})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    r = client.post("/login", data={"username": "staff", "password": "staff123", "next": "//evil.example"},
                    follow_redirects=False)
    assert r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = client.get("/")
    assert page.status_code == 200 and "工作台" in page.text
    # the same cookie works for the JSON API
    assert client.get("/auth/me").json()["username"] == "staff"
    client.post("/logout", follow_redirects=False)
    client.cookies.clear()
    assert client.get("/", follow_redirects=False).status_code == 303


def test_demand_page_shows_ranked_matches(client: TestClient, world: World) -> None:
    web_login(client, "staff", "staff123")
    page = client.get(f"/web/demands/{world.battery_demand}")
    assert page.status_code == 200
    html = page.text
    assert html.index("李电池") < html.index("张院士")  # ranked
    assert "共同关键词" in html and "福建省材料学会" in html
    assert "13912345678" in html  # staff see the contact person
    filtered = client.get(f"/web/demands/{world.battery_demand}?academician_only=true&region=厦门市")
    assert "张院士" in filtered.text and "李电池" not in filtered.text
    assert client.get("/web/demands/9999").status_code == 404
    listing = client.get("/web/demands?city=宁德市")
    assert "高镍三元" in listing.text and "中药注射液" not in listing.text


def test_post_demand_from_web_then_record_outcome(client: TestClient, world: World, session_factory) -> None:  # type: ignore[no-untyped-def]
    web_login(client, "staff", "staff123")
    form_page = client.get("/web/demands/new")
    token = csrf_of(form_page.text)
    fields = {"enterprise_name": "福州闽江制药有限公司", "city": "福州市", "title": "中药指纹图谱检测",
              "description": "建立中药注射液指纹图谱检测方法。", "mobile": "12345"}
    bad = client.post("/web/demands/new", data={**fields, "csrf": token})
    assert bad.status_code == 422
    assert "手机号码应为11位数字" in bad.text and "中药指纹图谱检测" in bad.text  # input kept
    no_csrf = client.post("/web/demands/new", data={**fields, "mobile": "13800001234"})
    assert no_csrf.status_code == 403
    ok = client.post("/web/demands/new", data={**fields, "mobile": "13800001234", "csrf": token},
                     follow_redirects=False)
    assert ok.status_code == 303
    location = ok.headers["location"]
    demand_id = int(re.search(r"/web/demands/(\d+)", location).group(1))  # type: ignore[union-attr]
    page = client.get(location)
    assert "技术需求已保存" in page.text and "王中药" in page.text

    r = client.post("/web/outcomes", data={"csrf": token, "demand_id": demand_id,
                                           "expert_id": world.tcm_expert, "status": "contacted", "notes": "电话沟通"},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "对接结果已记录" in page.text and "电话沟通" in page.text
    with session_factory() as s:
        assert s.scalar(select(Demand).where(Demand.id == demand_id)).title == "中药指纹图谱检测"  # type: ignore[union-attr]
        assert s.scalar(select(Outcome.status).where(Outcome.demand_id == demand_id)) == "contacted"


def test_search_without_saving(client: TestClient, world: World, session_factory) -> None:  # type: ignore[no-untyped-def]
    web_login(client, "staff", "staff123")
    token = csrf_of(client.get("/web/demands/new").text)
    r = client.post("/web/search", data={"csrf": token, "title": "振动信号", "description": "设备故障诊断算法"})
    assert r.status_code == 200 and "赵算法" in r.text
    r = client.get("/web/search", params={"q": "中药注射液指纹图谱"})
    assert "王中药" in r.text
    with session_factory() as s:
        assert len(s.scalars(select(Demand)).all()) == 3  # nothing saved


def test_upload_page_shows_rejects(client: TestClient, worker: None) -> None:
    from tests.api.test_jobs import wait_page

    web_login(client, "staff", "staff123")
    token = csrf_of(client.get("/web/imports").text)
    csv_text = "姓名,工作单位,研究方向,手机\n周好,福州大学,光催化,13512345678\n吴坏,福州大学,催化,999\n"
    r = client.post("/web/imports", data={"csrf": token, "kind": "experts"},
                    files={"file": ("专家补充.csv", csv_text.encode("utf-8"), "text/csv")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = wait_page(client, r.headers["location"])
    assert 'id="rejects"' in page and "专家补充.csv" in page and "手机号码" in page
    bad = client.post("/web/imports", data={"csrf": token, "kind": "experts"},
                      files={"file": ("x.txt", b"abc", "text/plain")})
    assert bad.status_code == 422 and "x.txt" in bad.text


def test_expert_web_sees_own_recommendations_only(client: TestClient, world: World) -> None:
    r = client.post("/login", data={"username": "expert", "password": "expert123"}, follow_redirects=False)
    assert r.headers["location"] == "/web/me"
    page = client.get("/web/me")
    assert page.status_code == 200
    assert "高镍三元正极材料循环寿命提升" in page.text
    for secret in ("13912345678", "chen@ndxny.example.com", "陈工", "0593-2345678"):
        assert secret not in page.text
    for path in ("/web/demands", f"/web/demands/{world.battery_demand}", "/web/imports", "/web/events",
                 f"/web/experts/{world.tcm_expert}", "/web/reports"):
        denied = client.get(path)
        assert denied.status_code == 403, path
        assert "没有权限" in denied.text
    assert client.get(f"/web/experts/{world.battery_expert}").status_code == 200
    token = csrf_of(page.text)
    r = client.post("/web/me/feedback", data={"csrf": token, "demand_id": world.battery_demand,
                                               "choice": "declined"}, follow_redirects=False)
    assert r.status_code == 303
    after = client.get(r.headers["location"])
    assert "婉拒" in after.text and "高镍三元正极材料循环寿命提升" not in after.text


def test_events_and_reports_pages(client: TestClient, world: World) -> None:
    web_login(client, "staff", "staff123")
    from datetime import date

    r = client.post("/events", json={"name": "学会服务站活动日", "starts_on": date.today().isoformat()})
    assert r.status_code == 201
    event_id = r.json()["id"]
    assert "学会服务站活动日" in client.get("/web/events").text
    page = client.get(f"/web/events/{event_id}")
    assert "还没有对接方案" in page.text
    r = client.post(f"/web/events/{event_id}/plan", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "第1版" in page.text and "李电池" in page.text and "XLSX" in page.text
    assert "成效统计" in client.get("/web/reports").text


def test_create_event_from_web(client: TestClient, world: World) -> None:
    web_login(client, "staff", "staff123")
    token = csrf_of(client.get("/web/events").text)
    bad = client.post("/web/events", data={"csrf": token, "name": "学术年会", "starts_on": "2030-06-02",
                                           "ends_on": "2030-06-01"})
    assert bad.status_code == 422 and "结束日期不能早于开始日期" in bad.text
    r = client.post("/web/events", data={"csrf": token, "name": "学术年会对接", "event_type": "学术年会",
                                         "starts_on": "2030-06-01", "regions": ["福州市", "厦门市"],
                                         "max_experts_per_demand": "3"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "学术年会对接" in page.text and "福州市、厦门市" in page.text


def test_demand_page_lists_expert_feedback(client: TestClient, world: World) -> None:
    web_login(client, "expert", "expert123")
    token = csrf_of(client.get("/web/me").text)
    client.post("/web/me/feedback", data={"csrf": token, "demand_id": world.battery_demand, "choice": "interested"})
    client.cookies.clear()
    web_login(client, "staff", "staff123")
    page = client.get(f"/web/demands/{world.battery_demand}")
    assert 'id="feedback"' in page.text and "感兴趣" in page.text


def test_user_text_is_escaped(client: TestClient, staff: dict[str, str]) -> None:
    r = client.post("/demands", headers=staff, json={
        "enterprise_name": "<b>某公司</b>", "title": "<script>alert(1)</script>", "description": "a<img src=x>"})
    assert r.status_code == 201
    web_login(client, "staff", "staff123")
    page = client.get(f"/web/demands/{r.json()['id']}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x>" not in page and "<b>某公司</b>" not in page

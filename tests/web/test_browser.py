"""A real headless Chromium against a real uvicorn server on a loopback port.

The server runs the app exactly as ``kejie serve`` does (lifespan: migrate,
seed accounts, sync the index) over a SQLite file loaded with the bundled
sample; the only substitution is the tiny local encoder instead of e5
(fixtures in ``tests/web/conftest.py``).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MOBILE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _distinct_colours(page: Any, png: bytes) -> tuple[int, float]:
    """Decode the screenshot in the browser itself (canvas) and return the number of
    distinct colours in a sample grid and the share of pixels that are not background."""
    data_url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return tuple(  # type: ignore[return-value]
        page.evaluate(
            """async (src) => {
                const img = new Image();
                img.src = src;
                await img.decode();
                const c = document.createElement('canvas');
                c.width = img.width; c.height = img.height;
                const ctx = c.getContext('2d');
                ctx.drawImage(img, 0, 0);
                const d = ctx.getImageData(0, 0, c.width, c.height).data;
                const bg = [d[0], d[1], d[2]];
                const seen = new Set();
                let ink = 0, n = 0;
                for (let y = 0; y < c.height; y += 3) {
                  for (let x = 0; x < c.width; x += 3) {
                    const i = (y * c.width + x) * 4;
                    seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
                    if (Math.abs(d[i] - bg[0]) + Math.abs(d[i + 1] - bg[1]) + Math.abs(d[i + 2] - bg[2]) > 30) ink++;
                    n++;
                  }
                }
                return [seen.size, ink / n];
            }""",
            data_url,
        )
    )


def test_staff_posts_demand_and_sees_ranked_experts(server: str, browser: Any, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    login(page, server, "staff", "staff123")
    assert page.locator("h1").first.inner_text() == "工作台"

    page.goto(server + "/web/demands/new")
    page.fill("input[name=title]", "高镍三元正极材料循环寿命提升")
    page.fill(
        "textarea[name=description]",
        "我公司生产锂离子电池高镍三元正极材料，高温循环容量衰减快，希望与专家合作开发表面包覆与掺杂改性工艺。",
    )
    page.fill("input[name=enterprise_name]", "宁德示范锂电材料有限公司")
    page.select_option("select[name=city]", "宁德市")
    page.fill("input[name=contact_name]", "陈工")

    # a bad phone number is refused in plain words and the form keeps its input
    page.fill("input[name=mobile]", "12345")
    with page.expect_navigation():
        page.click("button:has-text('保存并匹配')")
    assert "手机号码应为11位数字" in page.locator(".err[data-field=mobile]").inner_text()
    assert page.input_value("input[name=title]") == "高镍三元正极材料循环寿命提升"

    page.fill("input[name=mobile]", "13912345678")
    with page.expect_navigation():
        page.click("button:has-text('保存并匹配')")
    assert re.search(r"/web/demands/\d+", page.url), page.url
    assert "技术需求已保存" in page.locator(".notice").inner_text()

    experts = page.locator("#expert-results li.match")
    assert experts.count() >= 5
    first = experts.first
    assert first.locator("a.name").inner_text().strip()
    reasons = first.locator(".reasons li").all_inner_texts()
    assert reasons and any("相似度" in r or "关键词" in r for r in reasons)
    scores = [float(s) for s in page.locator("#expert-results .score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    assert page.locator("#society-results li.match").count() >= 1
    assert "13912345678" in page.locator(".contact").inner_text()  # staff see the contact

    shot = tmp_path / "demand_matches.png"
    png = page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 30_000
    colours, ink = _distinct_colours(page, png)
    assert colours > 50 and ink > 0.05, (colours, ink)

    # filters: academicians only
    page.check("input[name=academician_only]")
    with page.expect_navigation():
        page.click("button:has-text('重新匹配')")
    shown = page.locator("#expert-results li.match")
    assert shown.count() >= 1
    for i in range(shown.count()):
        assert shown.nth(i).locator(".badge.gold").count() == 1

    # record an outcome for the top expert
    first = page.locator("#expert-results li.match").first
    name = first.locator("a.name").inner_text().strip()
    first.locator("summary").click()
    first.locator("select[name=status]").select_option("contacted")
    first.locator("input[name=notes]").fill("已电话联系，约定下周走访")
    with page.expect_navigation():
        first.locator("button[type=submit]").click()
    assert "对接结果已记录" in page.locator(".notice").inner_text()
    history = page.locator("table").last.inner_text()
    assert name in history and "已电话联系" in history

    # open the expert's profile from the ranking
    with page.expect_navigation():
        page.locator("#expert-results a.name").first.click()
    assert "/web/experts/" in page.url and "研究方向" in page.content()
    context.close()


def test_staff_uploads_spreadsheet_and_reads_rejects(server: str, browser: Any, tmp_path: Path) -> None:
    upload = tmp_path / "补充专家.csv"
    upload.write_text(
        "姓名,工作单位,研究方向,所在地区,手机\n"
        "魏光伏,福州大学,钙钛矿太阳能电池,福州,13511112222\n"
        "缺手机,福州大学,光伏组件,福州,1234\n",
        encoding="utf-8",
    )
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    login(page, server, "staff", "staff123")
    page.goto(server + "/web/imports")
    page.select_option("select[name=kind]", "experts")
    page.set_input_files("input[name=file]", str(upload))
    with page.expect_navigation():
        page.click("button:has-text('上传并导入')")
    page.locator("#import-report").wait_for(timeout=60_000)  # the job page refreshes itself until done
    report = page.locator("#import-report").inner_text()
    assert "补充专家.csv" in report
    rows = page.locator("#rejects tbody tr")
    assert rows.count() == 1
    assert "手机号码" in rows.first.inner_text() and "3" in rows.first.inner_text()
    context.close()


def test_expert_sees_only_own_recommendations(server: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    login(page, server, "expert", "expert123")
    assert page.url.endswith("/web/me")
    items = page.locator("li.match")
    assert items.count() >= 1
    text = page.locator("main").inner_text()
    assert not MOBILE_RE.search(text), MOBILE_RE.search(text)
    assert "@" not in text
    page.goto(server + "/web/demands")
    assert "没有权限" in page.content()
    context.close()


def test_api_docs_render_offline(server: str, browser: Any) -> None:
    """/docs (Swagger UI 5 on OpenAPI 3.1) and /redoc render with every request kept on the server."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(server) else None)
    page.goto(server + "/docs")
    page.wait_for_selector(".opblock-tag", timeout=20_000)
    body = page.locator("body").inner_text()
    assert "Unable to render this definition" not in body
    assert "demands" in body
    page.goto(server + "/redoc")
    page.wait_for_selector("[role=menuitem], .menu-content", timeout=20_000)
    assert "kejie" in page.locator("body").inner_text()
    assert not [u for u in foreign if not u.startswith(("data:", "blob:"))], foreign
    context.close()

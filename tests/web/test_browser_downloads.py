"""In headless Chromium, staff download the sample event's plan (XLSX link on the
plan page) and export the 附件2 quarterly 统计表 from the 报表 page with a
存在不足 typed into the form; the files land in a download directory and are
opened with openpyxl. The typed 存在不足 is still on the page at the next visit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.web.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EVENT = "2026年院士八闽行（泉州站）"  # data/sample/events.json, 2026-12-08 to 12-10
QUARTER = "2026Q4"
SHORTFALL = "莆田站两家企业因设备检修，走访改到一月上旬。"
SCHEDULE_HEADER = ["序号", "日期", "时段", "专家", "企业", "设区市", "区县", "地址", "技术需求名称", "第几站", "专家意向"]


def _download(page: Any, click: Any, into: Path) -> Path:
    with page.expect_download(timeout=60_000) as info:
        click()
    download = info.value
    assert download.failure() is None, download.failure()
    target = into / download.suggested_filename
    download.save_as(target)  # waits until the file is complete
    return target


def test_staff_download_plan_and_quarterly_report(server: str, browser: Any, tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    login(page, server, "staff", "staff123")

    # the sample event's page: plan it, then the XLSX link
    page.goto(server + "/web/events")
    with page.expect_navigation():
        page.get_by_role("link", name=EVENT).click()
    with page.expect_navigation():
        page.click("button:has-text('生成对接方案')")
    assert "对接方案 第1版" in page.locator("#plan h2").inner_text()
    first = page.locator("#plan tbody tr").first
    expert_name = first.locator("td").nth(3).inner_text().strip()
    enterprise = first.locator("td").nth(2).inner_text().strip()
    plan_file = _download(page, lambda: page.locator("#plan a.btn", has_text="XLSX").first.click(), downloads)
    assert plan_file.parent == downloads and plan_file.suffix == ".xlsx" and plan_file.stat().st_size > 5_000

    wb = load_workbook(plan_file)
    schedule = wb["日程"]
    assert str(schedule["A1"].value).startswith(f"{EVENT} 日程：")
    assert [c.value for c in schedule[2]] == SCHEDULE_HEADER
    placed = [[c.value for c in row] for row in schedule.iter_rows(min_row=3) if row[3].value]
    mine = [r for r in placed if r[3] == expert_name]
    assert mine and any(r[4] == enterprise for r in mine), (expert_name, enterprise, placed[:3])
    assert all(str(r[1]).startswith("2026年12月") and r[2] in ("上午", "下午") for r in mine)
    sheet = wb[f"专家-{expert_name}"]
    assert str(sheet["A1"].value).startswith(f"专家 {expert_name}") and f"共 {len(mine)} 场" in sheet["A1"].value
    headers = [c.value for c in sheet[2]]
    assert headers[:3] == ["序号", "日程", "企业名称"] and "联系人手机" not in headers  # no contacts in this copy
    visits = [[c.value for c in row] for row in sheet.iter_rows(min_row=3) if row[0].value]
    assert len(visits) == len(mine) and enterprise in {v[2] for v in visits}
    assert sheet.page_setup.orientation == "landscape"

    # 报表: 附件2 of the event's quarter with a 存在不足 typed in
    page.goto(f"{server}/web/reports?quarter={QUARTER}&form=附件2")
    page.fill("input[name=unit]", "泉州市科协")
    row = page.locator("#quarterly-rows tbody tr", has_text=EVENT)
    assert row.count() == 1
    row.locator("textarea").fill(SHORTFALL)
    report_file = _download(page, lambda: page.click("button:has-text('导出 附件2')"), downloads)
    assert report_file.name.startswith("附件2_2026年第四季度") and report_file.suffix == ".xlsx"

    ws = load_workbook(report_file).active
    assert ws["A1"].value == "附件2"
    assert ws["A2"].value == "2026年第四季度院士专家服务活动统计表"
    assert ws["A3"].value == "填报单位：泉州市科协" and str(ws["D3"].value).startswith("填报时间：")
    assert [c.value for c in ws[4]] == ["序号", "活动名称", "活动内容", "主要成效（含宣传工作情况）", "存在不足"]
    activity = next(r for r in ws.iter_rows(min_row=5, values_only=True) if r[1] == EVENT)
    assert activity[0] == 1 and "对接方案第1版" in activity[2] and activity[3].startswith("计划对接")
    assert activity[4] == SHORTFALL

    # the export stored what it exported: the next visit shows it
    page.goto(f"{server}/web/reports?quarter={QUARTER}&form=附件2")
    row = page.locator("#quarterly-rows tbody tr", has_text=EVENT)
    assert row.locator("textarea").input_value() == SHORTFALL
    assert "staff 保存于" in row.inner_text()
    context.close()

"""XLSX specifics: the sheet holding the header, merged cells (no database)."""

from __future__ import annotations

from pathlib import Path

from ingest import open_table
from tests.ingest.conftest import SIMPLE, write_xlsx


def test_header_sits_below_other_sheets(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["请按模板填写，每行一项需求"])
    ws = wb.create_sheet("需求表")
    for row in SIMPLE:
        ws.append(row)
    path = tmp_path / "two-sheets.xlsx"
    wb.save(path)
    with open_table(path, "demands") as table:
        assert table.sheet == "需求表"
        assert len(list(table.rows())) == 1


def test_two_level_header_and_merged_enterprise_cells(tmp_path: Path) -> None:
    rows = [
        ["单位名称", "联系人", None, None, "技术需求名称", "具体的技术需求说明"],
        [None, "姓名", "手机", "E-mail", None, None],
        ["宁德示例材料有限公司", "孙工", "13800000901", "sun@example.cn", "电解液产气", "高温存储产气。"],
        [None, None, None, None, "低温性能", "低温放电容量低。"],
    ]
    path = write_xlsx(tmp_path / "merged.xlsx", rows, merges=["A1:A2", "B1:D1", "A3:A4", "B3:B4", "C3:C4", "D3:D4"])
    with open_table(path, "demands") as table:
        got = list(table.rows())
    assert table.header_row == 1
    assert table.columns["contact_name"] == "姓名"
    assert [r.row for r in got] == [3, 4]
    assert [r.values["enterprise_name"] for r in got] == ["宁德示例材料有限公司"] * 2
    assert got[1].values["mobile"] == "13800000901"
    assert got[1].values["title"] == "低温性能"

"""Header detection: title rows, 填报单位 preambles, footnotes, messy headers (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import open_table
from tests.ingest.conftest import MESSY_HEADER, MESSY_ROWS, SIMPLE, write_csv


def test_xlsx_with_title_row_and_preamble(messy_xlsx: Path) -> None:
    with open_table(messy_xlsx, "demands") as table:
        rows = list(table.rows())
    assert table.format == "xlsx"
    assert table.sheet == "泉州市"
    assert table.header_row == 4
    assert table.submitted_by == "泉州市科协"
    assert table.submitted_on == "2026年3月15日"
    assert table.columns["description"] == "具体的技术需求说明（包括技术难点、预期目标等）"
    assert table.unmapped == ["备用列"]
    # blank row 12 and the 注：footnote are skipped; numbering follows the sheet
    assert [r.row for r in rows] == [5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17]


@pytest.mark.parametrize(
    "line",
    [
        ["填报单位：三明市科协      填报时间：2026年4月"],
        ["填报单位（盖章）:三明市科协", "", "填报日期： 2026年4月"],
        ["填报单位：", "三明市科协", "填报时间：", "2026年4月"],
    ],
)
def test_preamble_variants(tmp_path: Path, line: list[str]) -> None:
    rows = [["技术需求征集表"], line, *SIMPLE]
    with open_table(write_csv(tmp_path / "d.csv", rows), "demands") as table:
        assert (table.submitted_by, table.submitted_on) == ("三明市科协", "2026年4月")
        assert table.header_row == 3


def test_messy_header_is_mapped(messy_csv_gbk: Path) -> None:
    with open_table(messy_csv_gbk, "demands") as table:
        assert table.encoding == "gb18030"
        assert table.header_row == 4
        assert set(table.columns) >= {"enterprise_name", "title", "description", "region", "address_postcode"}
        first = next(table.rows())
    assert first.values["mobile"] == MESSY_ROWS[4][6]
    assert len(MESSY_HEADER) == 16

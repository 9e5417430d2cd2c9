"""Format detection, header-row detection and lazy reading (no database)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ingest import HeaderNotFound, UnreadableFile, UnsupportedFormat, open_table, read_rows
from tests.ingest.conftest import MESSY_HEADER, MESSY_ROWS, write_csv, write_xlsx

SIMPLE = [
    ["单位名称", "技术需求名称", "具体的技术需求说明", "手机"],
    ["福州示例科技有限公司", "正极包覆", "高镍正极循环衰减快，需要包覆改性。", "13800000601"],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_encodings(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "d.csv", SIMPLE, encoding=encoding)
    with open_table(path, "demands") as table:
        rows = list(table.rows())
        assert table.format == "csv"
    expected = {"gbk": "gb18030"}.get(encoding, encoding)
    assert table.encoding == expected
    assert [r.row for r in rows] == [2]
    assert rows[0].values["enterprise_name"] == "福州示例科技有限公司"
    assert rows[0].values["description"].startswith("高镍正极")


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_delimiters(tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path / "d.txt", SIMPLE, delimiter=delimiter)
    rows = list(read_rows(path, "demands"))
    assert rows[0].values["mobile"] == "13800000601"


def test_undecodable_csv_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes("单位名称,技术需求名称\n".encode() + b"\xff\xfe\xfa\x80\x81,x\n" * 3)
    with pytest.raises(UnreadableFile, match="编码无法识别"), open_table(path, "demands"):
        pass


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


def test_json_array_and_wrapped(tmp_path: Path) -> None:
    data = [
        {"name": "福建省化学会", "society_id": "X1", "keywords": ["电化学", "催化"], "extra": 1},
        {"name": "福建省海洋学会", "society_id": "X2", "keywords": "海洋；养殖"},
        "not an object",
    ]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with open_table(path, "societies") as table:
        rows = list(table.rows())
    assert table.format == "json"
    assert [r.row for r in rows] == [1, 2, 3]
    assert rows[0].values["keywords"] == ["电化学", "催化"]
    assert rows[2].problem
    assert table.unmapped == ["extra"]
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"societies": data[:2]}, ensure_ascii=False), encoding="utf-8")
    assert len(list(read_rows(wrapped, "societies"))) == 2


def test_jsonl_with_a_broken_line(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    lines = [
        json.dumps({"姓名": "甲专家", "expert_id": "T1"}, ensure_ascii=False),
        "",
        "{not json",
        json.dumps({"姓名": "乙专家", "expert_id": "T2"}, ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = list(read_rows(path, "experts"))
    assert [r.row for r in rows] == [1, 3, 4]
    assert rows[1].problem == "该行不是合法的JSON"
    assert rows[2].values["name"] == "乙专家"


def test_content_beats_extension(tmp_path: Path, messy_xlsx: Path) -> None:
    disguised = tmp_path / "upload.csv"
    disguised.write_bytes(messy_xlsx.read_bytes())
    with open_table(disguised, "demands") as table:
        assert table.format == "xlsx"
    nameless = tmp_path / "upload.bin"
    nameless.write_text(json.dumps([{"姓名": "丙专家"}], ensure_ascii=False), encoding="utf-8")
    with open_table(nameless, "experts") as table:
        assert table.format == "json"


def test_binary_file_objects_are_accepted(messy_xlsx: Path) -> None:
    buffer = io.BytesIO(messy_xlsx.read_bytes())
    with open_table(buffer, "demands", filename="上传.xlsx") as table:
        assert table.file == "上传.xlsx"
        assert len(list(table.rows())) == 12
    assert not buffer.closed


def test_unsupported_and_missing_headers(tmp_path: Path) -> None:
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(UnsupportedFormat, match="另存为.xlsx"), open_table(xls, "demands"):
        pass
    pdf = tmp_path / "demands.pdf"
    pdf.write_bytes(b"%PDF-1.7 ...")
    with pytest.raises(UnsupportedFormat), open_table(pdf, "demands"):
        pass
    no_header = write_csv(tmp_path / "n.csv", [["甲", "乙", "丙"], ["1", "2", "3"]])
    with pytest.raises(HeaderNotFound) as info, open_table(no_header, "demands"):
        pass
    assert info.value.file == "n.csv"
    assert "单位名称" in info.value.expected
    # known headers, but not the required ones
    partial = write_csv(tmp_path / "p.csv", [["联系人", "手机", "E-mail", "所在地区"], ["王工", "13800000001", "", ""]])
    with pytest.raises(HeaderNotFound, match="缺少必需的列"), open_table(partial, "demands"):
        pass
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(UnreadableFile, match="空"), open_table(empty, "demands"):
        pass


def test_rows_are_read_lazily(tmp_path: Path) -> None:
    body = [["福州示例有限公司", f"需求{i}", "说明" * 20, "13800000601"] for i in range(20000)]
    path = write_csv(tmp_path / "big.csv", [SIMPLE[0], *body])
    with open_table(path, "demands") as table:
        rows = table.rows()
        first = next(rows)
        assert first.row == 2
        assert 0 < table.position() < table.total_units / 2
        remaining = sum(1 for _ in rows)
        assert remaining == 19999
        assert table.position() == table.total_units


def test_messy_header_is_mapped(messy_csv_gbk: Path) -> None:
    with open_table(messy_csv_gbk, "demands") as table:
        assert table.encoding == "gb18030"
        assert table.header_row == 4
        assert set(table.columns) >= {"enterprise_name", "title", "description", "region", "address_postcode"}
        first = next(table.rows())
    assert first.values["mobile"] == MESSY_ROWS[4][6]
    assert len(MESSY_HEADER) == 16

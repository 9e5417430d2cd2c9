"""open_table / read_rows: CSV delimiters, whole-file errors, lazy reading (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import HeaderNotFound, UnreadableFile, UnsupportedFormat, open_table, read_rows
from tests.ingest.conftest import SIMPLE, write_csv


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_delimiters(tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path / "d.txt", SIMPLE, delimiter=delimiter)
    rows = list(read_rows(path, "demands"))
    assert rows[0].values["mobile"] == "13800000601"


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

"""The byte source: encodings, content over extension, file objects (no database)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ingest import UnreadableFile, open_table
from tests.ingest.conftest import SIMPLE, write_csv


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


def test_undecodable_csv_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes("单位名称,技术需求名称\n".encode() + b"\xff\xfe\xfa\x80\x81,x\n" * 3)
    with pytest.raises(UnreadableFile, match="编码无法识别"), open_table(path, "demands"):
        pass


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

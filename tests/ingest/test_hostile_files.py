"""Hostile import files: formulas in the rejects report, control characters,
zip bombs, deep JSON, and the import log of an import that dies half-way."""

from __future__ import annotations

import csv
import json
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import UnreadableFile, import_file
from ingest.limits import MIB, XlsxLimits
from kejie.cli import main
from kejie.settings import get_settings
from models import Demand, ImportLog, upgrade_database
from tests.ingest.conftest import write_xlsx

HEADER = ["单位名称", "所在地区", "联系人", "手机", "E-mail", "技术需求名称", "具体的技术需求说明"]


def demand_row(n: int, **kw: str) -> list[str]:
    values = {
        "单位名称": f"福州示例{n}号科技有限公司",
        "所在地区": "福州市",
        "联系人": "王工",
        "手机": f"138000000{n:02d}",
        "E-mail": f"rd{n}@example.com",
        "技术需求名称": f"需求{n}：电池材料改性",
        "具体的技术需求说明": f"第{n}项需求的说明。",
    }
    values.update(kw)
    return [values[h] for h in HEADER]


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("KEJIE_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade_database(url)
    yield url
    get_settings.cache_clear()


def test_rejects_report_neutralises_formulas(db_url: str, make_csv: Callable[..., Path], tmp_path: Path) -> None:
    rows = [
        HEADER,
        demand_row(1, 手机="=HYPERLINK(\"http://evil.example\",\"x\")"),
        demand_row(2, **{"E-mail": "@SUM(A1:A9)"}),
        demand_row(3, 所在地区="-2+3"),
        demand_row(4),
    ]
    src = make_csv("=cmd|' calc'!A0.csv", rows)
    out = tmp_path / "rejects.csv"
    result = CliRunner().invoke(main, ["ingest", str(src), "--kind", "demands", "--rejects", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rejects = list(csv.reader(fh))[1:]
    assert len(rejects) == 3
    cells = [c for r in rejects for c in r]
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells), cells
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in cells
    assert "'=cmd|' calc'!A0.csv" in cells


# ------------------------------------------------------------ control characters


def _demands_json(tmp_path: Path, bad: str) -> Path:
    rows = [dict(zip(HEADER, demand_row(n), strict=True)) for n in range(1, 7)]
    rows[2]["技术需求名称"] = f"需求3{bad}改性"
    path = tmp_path / "需求.json"
    path.write_text(json.dumps(rows), encoding="utf-8")  # ASCII escapes carry a lone surrogate
    return path


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x0b", "\ud800"])
def test_control_character_row_costs_only_itself(session: Session, tmp_path: Path, bad: str) -> None:
    report = import_file(session, _demands_json(tmp_path, bad), "demands")
    assert (report.inserted, report.rejected) == (5, 1)
    [reject] = report.rejects
    assert reject["file"] == "需求.json" and reject["row"] == 3 and reject["field"] == "技术需求名称"
    assert f"U+{ord(bad):04X}" in reject["reason"] and f"[U+{ord(bad):04X}]" in reject["value"]
    assert session.scalar(select(func.count()).select_from(Demand)) == 5
    log = session.scalar(select(ImportLog))
    assert log is not None and log.rejected == 1 and log.inserted == 5


def test_nul_in_a_csv_row_costs_only_that_row(session: Session, make_csv: Callable[..., Path]) -> None:
    rows = [HEADER] + [demand_row(n) for n in range(1, 7)]
    rows[4][6] = "说明\x00中间有NUL"
    report = import_file(session, make_csv("需求.csv", rows), "demands")
    assert (report.inserted, report.rejected) == (5, 1)
    assert report.rejects[0]["row"] == 5 and "U+0000" in report.rejects[0]["reason"]


# ------------------------------------------------------------ deep JSON


def test_deeply_nested_json_file_is_one_clear_error(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 200_000 + b"]" * 200_000)
    with pytest.raises(UnreadableFile) as info:
        import_file(session, path, "experts")
    assert "deep.json" in str(info.value) and "嵌套" in str(info.value)


def test_deeply_nested_jsonl_line_is_one_reject(session: Session, tmp_path: Path) -> None:
    good = json.dumps({"姓名": "陈海洋", "工作单位": "集美大学", "研究方向": "海洋"}, ensure_ascii=False)
    path = tmp_path / "experts.jsonl"
    path.write_text(good + "\n" + '{"姓名": ' + "[" * 200_000 + "]" * 200_000 + "}\n", encoding="utf-8")
    report = import_file(session, path, "experts")
    assert (report.inserted, report.rejected) == (1, 1) and "嵌套" in report.rejects[0]["reason"]


# ------------------------------------------------------------ zip bombs


def _small_workbook(path: Path, rows: int = 3) -> Path:
    return write_xlsx(path, [HEADER] + [demand_row(n) for n in range(1, rows + 1)])


def _rewrite(path: Path, member: str, change: Callable[[bytes, IO[bytes]], None]) -> Path:
    """Copy ``path`` with ``member`` rewritten by ``change(original, out_stream)``."""
    out = path.with_name("bomb-" + path.name)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == member:
                with dst.open(member, "w", force_zip64=True) as fh:
                    change(data, fh)
            else:
                dst.writestr(info, data)
    return out


SHEET = "xl/worksheets/sheet1.xml"


def _inflate_sheet(mib: int) -> Callable[[bytes, IO[bytes]], None]:
    def change(xml: bytes, fh: IO[bytes]) -> None:
        head, tail = xml.split(b"</sheetData>")
        fh.write(head + b'<row r="99"><c r="A99" t="inlineStr"><is><t>')
        chunk = b"A" * MIB
        for _ in range(mib):
            fh.write(chunk)
        fh.write(b"</t></is></c></row></sheetData>" + tail)

    return change


def test_zip_bomb_is_refused_before_parsing(session: Session, tmp_path: Path) -> None:
    bomb = _rewrite(_small_workbook(tmp_path / "需求.xlsx"), SHEET, _inflate_sheet(300))
    assert bomb.stat().st_size < 2 * MIB  # ~300 MB of sheet XML in well under 2 MB
    started = time.perf_counter()
    with pytest.raises(UnreadableFile) as info:
        import_file(session, bomb, "demands")
    elapsed = time.perf_counter() - started
    message = str(info.value)
    assert bomb.name in message and "256 MB" in message and "解压后" in message
    assert elapsed < 3, elapsed
    assert session.scalar(select(func.count()).select_from(Demand)) == 0


def test_limits_are_parameters(session: Session, tmp_path: Path) -> None:
    path = _small_workbook(tmp_path / "需求.xlsx", rows=20)
    with pytest.raises(UnreadableFile, match="超过上限 20000 字节"):
        import_file(session, path, "demands", limits=XlsxLimits(max_unzipped_bytes=20_000))
    with pytest.raises(UnreadableFile, match="声明了 21 行 × 7 列，超过 100 个单元格"):
        import_file(session, path, "demands", limits=XlsxLimits(max_cells=100))
    assert import_file(session, path, "demands").inserted == 20


def test_sheet_without_dimension_is_counted_while_read(session: Session, tmp_path: Path) -> None:
    def drop_dimension(xml: bytes, fh: IO[bytes]) -> None:
        fh.write(re.sub(rb"<dimension [^>]*/>", b"", xml))

    path = _rewrite(_small_workbook(tmp_path / "需求.xlsx", rows=40), SHEET, drop_dimension)
    with pytest.raises(UnreadableFile, match="超过 100 个单元格的上限（读到第"):
        import_file(session, path, "demands", limits=XlsxLimits(max_cells=100))


def test_member_inflating_beyond_the_ratio_is_refused(session: Session, tmp_path: Path) -> None:
    bomb = _rewrite(_small_workbook(tmp_path / "需求.xlsx"), SHEET, _inflate_sheet(20))
    with pytest.raises(UnreadableFile) as info:
        import_file(session, bomb, "demands")
    message = str(info.value)
    assert bomb.name in message and "xl/worksheets/sheet1.xml" in message and "超过 100:1 的上限" in message


# ------------------------------------------------------------ the import log of an import that dies


def test_import_log_is_running_while_rows_land_then_done(
    session: Session, session_factory, make_csv: Callable[..., Path]  # type: ignore[no-untyped-def]
) -> None:
    rows = [HEADER] + [demand_row(n) for n in range(1, 26)]
    seen: list[tuple[str, int, int]] = []

    def progress(done: int, total: int) -> None:
        # what another connection sees mid-import, i.e. what a kill -9 here would leave behind
        with session_factory() as other:
            log = other.scalar(select(ImportLog))
            assert log is not None
            seen.append((log.status, log.inserted, other.scalar(select(func.count()).select_from(Demand)) or 0))

    report = import_file(session, make_csv("需求.csv", rows), "demands", batch_size=10, progress=progress)
    assert report.inserted == 25
    assert seen[:2] == [("running", 10, 10), ("running", 20, 20)]
    log = session.scalar(select(ImportLog))
    assert log is not None and log.id == report.import_log_id
    assert (log.status, log.inserted, log.rows_total, log.error) == ("done", 25, 25, "")
    assert log.finished_at is not None


def test_import_that_fails_half_way_is_logged_failed(
    session: Session, session_factory, make_csv: Callable[..., Path]  # type: ignore[no-untyped-def]
) -> None:
    rows = [HEADER] + [demand_row(n) for n in range(1, 26)]
    calls = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C, or anything else that stops the import

    with pytest.raises(KeyboardInterrupt):
        import_file(session, make_csv("需求.csv", rows), "demands", batch_size=10, progress=progress)
    with session_factory() as other:
        [log] = other.scalars(select(ImportLog)).all()
        assert log.status == "failed" and "KeyboardInterrupt" in log.error and log.finished_at is not None
        stored = other.scalar(select(func.count()).select_from(Demand))
        assert log.inserted == stored == 20  # the two committed batches, as stored


def test_sheet_too_big_while_read_is_logged_failed(session: Session, tmp_path: Path) -> None:
    def drop_dimension(xml: bytes, fh: IO[bytes]) -> None:
        fh.write(re.sub(rb"<dimension [^>]*/>", b"", xml))

    path = _rewrite(_small_workbook(tmp_path / "需求.xlsx", rows=40), SHEET, drop_dimension)
    with pytest.raises(UnreadableFile):  # past the 15 rows scanned for the header
        import_file(session, path, "demands", limits=XlsxLimits(max_cells=200), batch_size=10)
    log = session.scalar(select(ImportLog))
    assert log is not None and log.status == "failed" and "单元格" in log.error


def test_an_over_long_description_is_one_reject_with_the_limit(session: Session,
                                                               make_csv: Callable[..., Path]) -> None:
    from ingest.fields import DESCRIPTION_MAX

    rows = [HEADER] + [demand_row(n) for n in range(1, 4)]
    rows[2][6] = "很长的说明" * (DESCRIPTION_MAX // 5 + 1)  # the API refuses the same length with a 422
    report = import_file(session, make_csv("需求.csv", rows), "demands")
    assert (report.inserted, report.rejected) == (2, 1)
    [reject] = report.rejects
    assert reject["row"] == 3 and reject["field"] == "具体的技术需求说明"
    assert str(DESCRIPTION_MAX) in reject["reason"] and len(reject["value"]) < 100

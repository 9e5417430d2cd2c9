"""``kejie ingest`` and ``kejie sample load`` through click's CliRunner."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from kejie.cli import main
from kejie.settings import get_settings
from models import Demand, Society, create_db_engine, make_session_factory, upgrade_database


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("KEJIE_DATABASE_URL", url)
    monkeypatch.setenv("KEJIE_VAR_DIR", str(tmp_path / "var"))  # the job storage a synchronous import registers in
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _count(url: str, model: type) -> int:
    engine = create_db_engine(url)
    try:
        with make_session_factory(engine)() as s:
            return s.scalar(select(func.count()).select_from(model)) or 0
    finally:
        engine.dispose()


def test_ingest_reports_counts_and_rejects(db_url: str, messy_xlsx: Path, tmp_path: Path) -> None:
    upgrade_database(db_url)
    out = tmp_path / "rejects.csv"
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", str(messy_xlsx), "--kind", "demands", "--by", "张三", "--rejects", str(out)])
    assert result.exit_code == 0, result.output
    assert "新增 4" in result.output
    assert "拒绝 7" in result.output
    assert "第8行 [手机] “1380000” 手机号码应为11位数字" in result.output
    assert "第11行 与第5行重复" in result.output
    assert "有 7 行被拒绝" in result.output
    with out.open(encoding="utf-8-sig") as fh:
        rejects = list(csv.DictReader(fh))
    assert [int(r["row"]) for r in rejects] == [7, 8, 9, 10, 13, 14, 16]
    assert set(rejects[0]) == {"file", "row", "field", "value", "reason"}
    assert _count(db_url, Demand) == 4

    again = runner.invoke(main, ["ingest", str(messy_xlsx), "--kind", "demands"])
    assert again.exit_code == 0
    assert "新增 0，更新 0，未变化 4" in again.output


def test_ingest_whole_file_errors_exit_non_zero(db_url: str, tmp_path: Path, shared_data: Path) -> None:
    runner = CliRunner()
    # schema missing
    result = runner.invoke(main, ["ingest", str(shared_data / "societies.csv"), "--kind", "societies"])
    assert result.exit_code == 1
    assert "kejie db upgrade" in result.output
    upgrade_database(db_url)
    # wrong kind for the file
    result = runner.invoke(main, ["ingest", str(shared_data / "societies.csv"), "--kind", "demands"])
    assert result.exit_code == 1
    assert "--kind demands" in result.output and "表头" in result.output
    assert len(result.output.strip().splitlines()) == 1
    # unsupported format
    bad = tmp_path / "old.xls"
    bad.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 64)
    result = runner.invoke(main, ["ingest", str(bad), "--kind", "demands"])
    assert result.exit_code == 1 and "另存为" in result.output
    # the shared file with the right kind works
    result = runner.invoke(main, ["ingest", str(shared_data / "societies.csv"), "--kind", "societies"])
    assert result.exit_code == 0, result.output
    assert _count(db_url, Society) == 67


def test_ingest_shows_a_progress_bar_on_long_files(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kejie.cli.ingest_cmd as cmd

    monkeypatch.setattr(cmd, "PROGRESS_MIN_BYTES", 0)
    upgrade_database(db_url)
    path = tmp_path / "d.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["单位名称", "技术需求名称", "具体的技术需求说明"])
        w.writerows([[f"企业{i}", f"需求{i}", "说明"] for i in range(2500)])
    result = CliRunner().invoke(main, ["ingest", str(path), "--kind", "demands"])
    assert result.exit_code == 0, result.output
    assert "导入中" in result.output
    assert "新增 2500" in result.output


def test_sample_load_upgrades_and_is_idempotent(db_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["sample", "load"])
    assert first.exit_code == 0, first.output
    assert "技术需求（demands.xlsx）：新增 40" in first.output
    assert "活动新增 1" in first.output
    second = runner.invoke(main, ["sample", "load"])
    assert second.exit_code == 0, second.output
    assert "技术需求（demands.xlsx）：新增 0，更新 0，未变化 40" in second.output
    assert "工作站新增 0，回避关系新增 0，活动新增 0" in second.output
    assert _count(db_url, Demand) == 40

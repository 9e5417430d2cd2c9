"""``--background`` on ``kejie ingest``, ``kejie index sync`` and ``kejie batch nightly``:
the command queues a job, a worker (here a thread on the same SQLite queue, building
its own database and match service from the settings as ``kejie jobs worker`` does)
runs it, and the command prints a line per stage until the job ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from kejie import job_worker, jobs
from kejie.cli import main
from kejie.settings import get_settings
from models import Expert, ImportLog, create_db_engine, make_session_factory, upgrade_database

EXPERTS = (
    "专家编号,姓名,职称,工作单位,研究方向,手机\n"
    "X1,专家一,教授,福州大学,锂离子电池正极材料；表面包覆改性,13511112222\n"
    "X2,专家二,教授,厦门大学,中医药治疗脑卒中,12345\n"
)


@pytest.fixture
def cli_worker(tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for k, v in {"KEJIE_ENCODER": "sentence-transformers", "KEJIE_ENCODER_MODEL": str(tiny_model_dir),
                 "KEJIE_VAR_DIR": str(tmp_path / "var"), "KEJIE_DATABASE_URL": url}.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    upgrade_database(url)
    monkeypatch.setattr(jobs, "_CONTEXT", {})  # a stand-alone worker: built from the settings
    worker = job_worker.start_embedded_worker(get_settings())
    yield url
    worker.stop(graceful=True)
    get_settings.cache_clear()


def test_background_commands_follow_their_job_stage_by_stage(cli_worker: str, tmp_path: Path) -> None:
    sheet = tmp_path / "专家.csv"
    sheet.write_text(EXPERTS, encoding="utf-8")
    runner = CliRunner()
    done = runner.invoke(main, ["ingest", str(sheet), "--kind", "experts", "--by", "张三", "--background"])
    assert done.exit_code == 0, done.output
    assert "已排队：后台任务" in done.output and "import_file" in done.output
    assert "✓ 读取表格" in done.output and "✓ 编码文本" in done.output and "✓ 更新索引" in done.output
    assert "'inserted': 1" in done.output and "'rejected': 1" in done.output
    engine = create_db_engine(cli_worker)
    with make_session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Expert)) == 1
        log = s.scalars(select(ImportLog)).one()
        assert log.status == "done" and log.imported_by == "张三" and log.rejected == 1
    engine.dispose()

    synced = runner.invoke(main, ["index", "sync", "--background"])
    assert synced.exit_code == 0, synced.output
    assert "index_sync" in synced.output and "✓ 更新索引" in synced.output
    assert "'expert_unchanged': 1" in synced.output and "'encoded': 0" in synced.output

    nightly = runner.invoke(main, ["batch", "nightly", "--background", "--days", "3"])
    assert nightly.exit_code == 0, nightly.output
    assert "nightly" in nightly.output and "'events': 0" in nightly.output
    job_id = nightly.output.split("后台任务 ", 1)[1].split("（", 1)[0]
    status = runner.invoke(main, ["jobs", "status", job_id])
    assert status.exit_code == 0 and f"{job_id}：done" in status.output

    queued = runner.invoke(main, ["index", "build", "--background", "--no-wait"])
    assert queued.exit_code == 0 and "kejie jobs status --wait" in queued.output
    assert runner.invoke(main, ["jobs", "status", "0123456789abcdef"]).exit_code != 0


def test_a_background_import_of_a_bad_file_fails_before_queueing(cli_worker: str, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello", encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", str(bad), "--kind", "experts", "--background"])
    assert result.exit_code != 0 and "notes.txt" in result.output and "已排队" not in result.output

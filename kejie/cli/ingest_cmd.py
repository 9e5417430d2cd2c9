"""``kejie ingest FILE --kind ...`` and ``kejie sample load``."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError, ProgrammingError

from ingest import KINDS, HeaderNotFound, ImportReport, IngestError, import_file
from ingest.sanitize import safe_cell
from kejie.cli.common import KejieCommandError, open_session
from kejie.settings import get_settings
from models.db import upgrade_database

KIND_NAMES = {"demands": "技术需求", "experts": "专家", "societies": "学会"}
SHOWN_REJECTS = 10
PROGRESS_MIN_BYTES = 2 * 1024 * 1024  # smaller files finish before a bar is worth drawing


def _where(url: str) -> str:
    return url.split("@")[-1]


def _ensure_schema(session: Any) -> None:
    try:
        tables = set(inspect(session.get_bind()).get_table_names())
    except OperationalError as exc:
        raise KejieCommandError(
            f"无法连接数据库：{exc.orig}。请检查 KEJIE_DATABASE_URL 并确认数据库服务已启动"
        ) from exc
    if "import_logs" not in tables:
        raise KejieCommandError("数据库尚未初始化。请先运行 kejie db upgrade")


REJECT_COLUMNS = ["file", "row", "field", "value", "reason"]


def _write_rejects(path: Path, report: ImportReport) -> None:
    """The rejects report; every cell through :func:`safe_cell`, like every export."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=REJECT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: safe_cell(r.get(k, "")) for k in REJECT_COLUMNS} for r in report.rejects)


def _print_report(report: ImportReport) -> None:
    name = KIND_NAMES.get(report.kind, report.kind)
    where = f"（工作表“{report.sheet}”）" if report.sheet else ""
    click.echo(f"{report.filename}{where}: 表头在第{report.header_row or '-'}行，共读取 {report.rows_total} 行数据")
    if report.submitted_by or report.submitted_on:
        click.echo(f"  填报单位：{report.submitted_by or '-'}  填报时间：{report.submitted_on or '-'}")
    click.echo(
        f"  {name}：新增 {report.inserted}，更新 {report.updated}，未变化 {report.unchanged}，"
        f"文件内重复 {report.duplicates}，拒绝 {report.rejected}"
    )
    if report.enterprises is not None:
        e = report.enterprises
        click.echo(f"  单位：新增 {e.inserted}，更新 {e.updated}，未变化 {e.unchanged}")
    if report.unmapped_columns:
        click.echo("  未识别的列（已忽略）：" + "、".join(report.unmapped_columns))
    for change in report.changes[:SHOWN_REJECTS]:
        click.echo(f"  第{change['row']}行 更新了{change['entity']}“{change['label']}”的字段：{', '.join(change['fields'])}")
    if len(report.changes) > SHOWN_REJECTS:
        click.echo(f"  …… 另有 {len(report.changes) - SHOWN_REJECTS} 条更新")
    for dup in report.duplicate_rows[:SHOWN_REJECTS]:
        click.echo(f"  第{dup['row']}行 与第{dup['duplicate_of']}行重复，已跳过")
    for warning in report.warnings[:SHOWN_REJECTS]:
        click.echo(f"  提示：第{warning['row']}行 [{warning['field']}] {warning['reason']}")


def _print_rejects(report: ImportReport, rejects_path: Path | None) -> None:
    if not report.rejects:
        return
    click.echo(f"有 {report.rejected} 行未导入（其余行已正常导入）：", err=True)
    for item in report.rejects[:SHOWN_REJECTS]:
        value = f"“{item['value']}”" if item.get("value") not in (None, "") else ""
        click.echo(f"  第{item['row']}行 [{item['field'] or '整行'}] {value} {item['reason']}", err=True)
    if len(report.rejects) > SHOWN_REJECTS:
        more = len(report.rejects) - SHOWN_REJECTS
        hint = f"，完整清单见 {rejects_path}" if rejects_path else "，加 --rejects 错误清单.csv 可导出完整清单"
        click.echo(f"  …… 另有 {more} 条错误{hint}", err=True)
    elif rejects_path:
        click.echo(f"错误清单已写入 {rejects_path}", err=True)


@click.command("ingest")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--kind", type=click.Choice(KINDS), required=True, help="文件内容：demands 技术需求 | experts 专家 | societies 学会")
@click.option("--by", "imported_by", default="", help="导入人（记入导入日志）")
@click.option("--rejects", "rejects_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="把被拒绝的行写入这个CSV文件")
@click.option("--background", is_flag=True, help="作为后台导入任务排队（读取、编码、更新索引），由任务进程完成")
@click.option("--wait/--no-wait", default=True, show_default=True, help="与 --background 同用：跟踪进度直到完成")
def ingest(file: Path, kind: str, imported_by: str, rejects_path: Path | None, background: bool,
           wait: bool) -> None:
    """导入 CSV/XLSX/JSON/JSONL 文件（技术需求、专家或学会）。"""
    if not file.is_file():
        raise KejieCommandError(f"找不到文件 {file}。请检查路径")
    settings = get_settings()
    if background:
        _ingest_background(settings, file, kind, imported_by, wait)
        return
    from kejie.import_jobs import synchronous_import

    show_bar = file.stat().st_size >= PROGRESS_MIN_BYTES
    with open_session(settings) as session:
        _ensure_schema(session)
        bar_state: dict[str, Any] = {"bar": None, "done": 0}

        def progress(done: int, total: int) -> None:
            if not show_bar or total <= 0:
                return
            if bar_state["bar"] is None:
                bar_state["bar"] = click.progressbar(length=total, label="导入中", file=sys.stderr)
                bar_state["bar"].__enter__()
            step = max(0, min(done, total) - bar_state["done"])
            bar_state["bar"].update(step)
            bar_state["done"] += step

        try:
            # registered as a running job while it runs, so a killed import's log ends failed
            with synchronous_import(session, settings, kind, file.name, imported_by) as running:
                def both(done: int, total: int) -> None:
                    running.progress(done, total)
                    progress(done, total)

                report = import_file(session, file, kind, imported_by, progress=both, log_id=running.import_id)
        except HeaderNotFound as exc:
            raise KejieCommandError(f"{exc}。请确认 --kind {kind} 与文件内容一致") from exc
        except IngestError as exc:
            raise KejieCommandError(str(exc)) from exc
        except (OperationalError, ProgrammingError) as exc:
            raise KejieCommandError(
                f"写入数据库失败：{exc.orig}。请先运行 kejie db upgrade，并检查 KEJIE_DATABASE_URL"
            ) from exc
        finally:
            if bar_state["bar"] is not None:
                bar_state["bar"].__exit__(None, None, None)
    _print_report(report)
    if rejects_path is not None:
        try:
            _write_rejects(rejects_path, report)
        except OSError as exc:
            raise KejieCommandError(
                f"数据已导入，但错误清单无法写入 {rejects_path}：{exc.strerror}。请换一个可写的路径后重新导入（不会重复）"
            ) from exc
    _print_rejects(report, rejects_path)
    if report.rejected:
        click.echo(f"导入完成，但有 {report.rejected} 行被拒绝；请修改后重新导入这些行（已导入的行不会重复）。")
    else:
        click.echo("导入完成。")


def _ingest_background(settings: Any, file: Path, kind: str, imported_by: str, wait: bool) -> None:
    from sqlalchemy import select

    from kejie.cli.jobs_cmd import queued
    from kejie.errors import FieldProblem
    from kejie.imports import start_import_job
    from models import User

    with open_session(settings) as session:
        _ensure_schema(session)
        user = session.scalar(select(User).where(User.username == imported_by)) if imported_by else None
        try:
            with file.open("rb") as stream:
                started = start_import_job(session, settings, user, kind, file.name, stream,
                                           max_bytes=1 << 40, imported_by=imported_by)
        except FieldProblem as exc:
            raise KejieCommandError(exc.reason) from exc
        except IngestError as exc:
            raise KejieCommandError(str(exc)) from exc
    click.echo(f"导入记录 {started['import_id']}（进行中）")
    queued(settings, started["job"], wait)


@click.group("sample")
def sample_group() -> None:
    """内置样例数据。"""


@sample_group.command("load")
def sample_load() -> None:
    """升级数据库结构并导入内置样例（学会、专家、技术需求、工作站、回避关系和一场活动）。可重复运行。"""
    from kejie.import_jobs import load_sample_registered

    settings = get_settings()
    url = settings.resolved_database_url
    try:
        upgrade_database(url)
    except OperationalError as exc:
        raise KejieCommandError(
            f"无法连接数据库 {_where(url)}：{exc.orig}。请检查 KEJIE_DATABASE_URL 并确认数据库服务已启动"
        ) from exc
    with open_session(settings) as session:
        try:
            result = load_sample_registered(session, settings)
        except IngestError as exc:
            raise KejieCommandError(f"样例数据有误：{exc}") from exc
    for report in result.imports:
        name = KIND_NAMES.get(report.kind, report.kind)
        line = (
            f"{name}（{report.filename}）：新增 {report.inserted}，更新 {report.updated}，"
            f"未变化 {report.unchanged}，拒绝 {report.rejected}"
        )
        if report.enterprises is not None:
            line += f"；单位新增 {report.enterprises.inserted}"
        click.echo(line)
    click.echo(
        f"工作站新增 {result.stations_created}，回避关系新增 {result.conflicts_created}，活动新增 {result.events_created}"
    )
    from kejie.organisations import seed_demo_organisations

    with open_session(settings) as session:
        if created := seed_demo_organisations(session):
            click.echo("设区市科协与学会的演示账号：" + "、".join(created))
    click.echo(f"样例数据已载入 {_where(url)}")


def register(group: click.Group) -> None:
    group.add_command(ingest)
    group.add_command(sample_group)

"""``kejie batch plan|nightly``: plan who meets whom at events and export the
schedules. Safe to re-run: an unchanged event keeps its current version.

Cron (every night at 02:15, events of the next two weeks)::

    15 2 * * * cd /srv/kejie && .venv/bin/kejie batch nightly --days 14 --out var/exports
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kejie.cli.common import KejieCommandError, open_session
from kejie.events import (
    EventRun,
    PlanOptions,
    ScoreFn,
    latest_match_list,
    plan_event_outcome,
    plan_upcoming,
)
from kejie.events.export import FORMATS, export_match_list
from kejie.settings import get_settings
from matcher.errors import InfeasiblePlan, MatcherError
from matcher.plan_problem import DEFAULT_LOAD_PENALTY, DEFAULT_MIN_SCORE
from models import Event, MatchList


def make_score_fn(session: Session) -> ScoreFn:
    """The production scorer, with the expert index brought up to date first."""
    from kejie.wiring import planning_score_fn

    score_fn, counts = planning_score_fn(session, get_settings())
    click.echo(
        f"专家索引：共 {counts['expert_total']} 位（新增 {counts['added']}，更新 {counts['updated']}，"
        f"删除 {counts['removed']}）",
        err=True,
    )
    return score_fn


def _formats(value: str) -> list[str]:
    chosen = [f.strip().lower() for f in value.split(",") if f.strip()]
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise click.BadParameter(f"可选格式：{','.join(FORMATS)}（逗号分隔），收到 {value!r}")
    return list(dict.fromkeys(chosen))


def _out_dir(out: Path | None) -> Path:
    return out if out is not None else get_settings().var_dir / "exports"


def _export(
    session: Session, ml: MatchList, out: Path, formats: Sequence[str], include_contacts: bool
) -> list[Path]:
    return export_match_list(session, ml, out, formats, include_contacts=include_contacts)


def _db_error(exc: OperationalError) -> KejieCommandError:
    url = get_settings().resolved_database_url.split("@")[-1]
    return KejieCommandError(
        f"无法访问数据库 {url}：{exc.orig}。请检查 KEJIE_DATABASE_URL 并先运行 kejie db upgrade"
    )


_common = [
    click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="导出目录（默认 <var_dir>/exports）",
    ),
    click.option(
        "--format", "fmt", default="xlsx", show_default=True, help="导出格式：xlsx,csv,json"
    ),
    click.option(
        "--min-score",
        type=float,
        default=DEFAULT_MIN_SCORE,
        show_default=True,
        help="最低匹配分（按全库候选校准：0≈无关配对的典型分，1≈最好的0.5%配对），低于此分不安排（必配规则除外）",
    ),
    click.option(
        "--load-penalty",
        type=float,
        default=DEFAULT_LOAD_PENALTY,
        show_default=True,
        help="专家每多一场对接的递增扣分（同一校准尺度），用于均衡负荷；0 表示只看匹配分",
    ),
    click.option(
        "--include-contacts",
        is_flag=True,
        help="导出中包含企业联系人和电话、邮箱（仅供工作人员使用）",
    ),
]


def _with_common(f: Any) -> Any:
    for option in reversed(_common):
        f = option(f)
    return f


@click.group("batch")
def batch_group() -> None:
    """活动对接计划：排定专家与企业需求的对接并导出日程。"""


@batch_group.command("plan")
@click.option("--event", "event_id", type=int, required=True, help="活动编号")
@_with_common
def plan_cmd(
    event_id: int,
    out: Path | None,
    fmt: str,
    min_score: float,
    load_penalty: float,
    include_contacts: bool,
) -> None:
    """排定一个活动的对接计划并导出。"""
    formats = _formats(fmt)
    options = PlanOptions(min_score=min_score, load_penalty=load_penalty)
    out_dir = _out_dir(out)
    try:
        with open_session() as session:
            event = session.get(Event, event_id)
            if event is None:
                raise KejieCommandError(f"活动 #{event_id} 不存在：请核对活动编号")
            click.echo(
                f"活动 #{event.id} {event.name}（{event.starts_on}）：正在评分与排定…", err=True
            )
            try:
                outcome = plan_event_outcome(
                    session, event_id, make_score_fn(session), options=options
                )
            except InfeasiblePlan as err:
                raise KejieCommandError(f"{err}（已记录为第 {err.version} 版）") from err
            except MatcherError as err:
                raise KejieCommandError(str(err)) from err
            ml = outcome.match_list
            state = "已生成新版本" if outcome.created else "输入未变化，沿用"
            click.echo(f"{state} v{ml.version}：{ml.message}")
            for path in _export(session, ml, out_dir, formats, include_contacts):
                click.echo(f"  导出 {path}")
    except OperationalError as exc:
        raise _db_error(exc) from exc


@batch_group.command("nightly")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=14,
    show_default=True,
    help="排定未来 N 天内开始的活动",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="以该日期为今天（补跑用），默认今天",
)
@_with_common
@click.option("--background", is_flag=True, help="作为后台任务排队（不导出文件；在活动页面查看与导出方案）")
@click.option("--wait/--no-wait", default=True, show_default=True, help="与 --background 同用：跟踪进度直到完成")
@click.pass_context
def nightly_cmd(
    ctx: click.Context,
    days: int,
    today: Any,
    out: Path | None,
    fmt: str,
    min_score: float,
    load_penalty: float,
    include_contacts: bool,
    background: bool,
    wait: bool,
) -> None:
    """排定未来 N 天内开始的全部活动；某个活动失败不影响其他活动，最后以非零状态退出。"""
    if background:
        from kejie import job_tasks
        from kejie.cli.jobs_cmd import queued

        settings = get_settings()
        day = today.date().isoformat() if today is not None else None
        options = {"min_score": min_score, "load_penalty": load_penalty}
        queued(settings, job_tasks.enqueue(settings, "nightly", days, day, options, user="cli"), wait)
        return
    formats = _formats(fmt)
    options = PlanOptions(min_score=min_score, load_penalty=load_penalty)
    out_dir = _out_dir(out)
    start: date = today.date() if today is not None else date.today()
    export_failures: list[str] = []
    try:
        with open_session() as session:

            def report(run: EventRun) -> None:
                head = f"活动 #{run.event_id} {run.name}（{run.starts_on}）"
                if not run.ok:
                    label = "无法排定" if run.status == "infeasible" else "失败"
                    click.echo(f"✗ {head} {label}：{run.message}")
                    return
                state = f"新版本 v{run.version}" if run.created else f"未变化 v{run.version}"
                click.echo(f"✓ {head} {state}：{run.message}")
                ml = latest_match_list(session, run.event_id)
                if ml is None:
                    return
                try:
                    for path in _export(session, ml, out_dir, formats, include_contacts):
                        click.echo(f"    导出 {path}")
                except Exception as exc:  # noqa: BLE001 - report and go on with the other events
                    run.ok = False
                    export_failures.append(f"#{run.event_id}")
                    click.echo(f"✗ {head} 导出失败：{type(exc).__name__}: {exc}")

            click.echo(f"排定 {start} 起 {days} 天内开始的活动…", err=True)
            try:
                runs = plan_upcoming(
                    session,
                    days,
                    None,
                    today=start,
                    options=options,
                    on_event=report,
                    score_fn_factory=make_score_fn,
                )
            except MatcherError as err:
                raise KejieCommandError(f"无法加载匹配服务：{err}") from err
    except OperationalError as exc:
        raise _db_error(exc) from exc
    failed = [r for r in runs if not r.ok]
    click.echo(f"完成：{len(runs)} 个活动，成功 {len(runs) - len(failed)}，失败 {len(failed)}")
    if failed:
        names = "、".join(f"#{r.event_id} {r.name}" for r in failed)
        click.echo(
            f"失败的活动：{names}。按上面每行的提示放宽约束后重跑即可（未变化的活动不会重复写入）",
            err=True,
        )
        ctx.exit(1)


def register(group: click.Group) -> None:
    group.add_command(batch_group)

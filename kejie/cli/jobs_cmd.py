"""``kejie jobs``: run job workers apart from the web process, and follow a job."""

from __future__ import annotations

import time
from typing import Any

import click

from kejie.cli.common import KejieCommandError
from kejie.settings import Settings, get_settings


@click.group("jobs")
def jobs_group() -> None:
    """后台任务：独立的任务进程与任务进度。"""


@jobs_group.command("worker")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32), help="并行任务线程数")
def worker_cmd(workers: int) -> None:
    """从任务队列取任务执行，直到 Ctrl+C（配合 KEJIE_JOB_QUEUE=redis://… 可在多台机器上运行）。"""
    from kejie import job_recovery, job_tasks

    settings = get_settings()
    h = job_tasks.task_queue(settings)
    click.echo(f"任务队列：{settings.job_queue or 'SQLite（var 目录下 jobs.db）'}；{workers} 个任务线程")
    # before the first job: what a killed worker left running ends failed; then every job_stale_after s
    job_recovery.start_sweeper(settings)
    h.create_consumer(workers=workers, worker_type="thread", periodic=False).run()


def _line(rec: dict[str, Any]) -> str:
    text = rec.get("stage") or "排队中"
    if rec.get("total"):
        text += f" {rec['done']}/{rec['total']}（{100 * rec['done'] // max(rec['total'], 1)}%）"
    if rec.get("eta") and rec.get("status") == "running":
        text += f"，预计还需 {rec['eta']:.0f} 秒"
    return text


def follow(settings: Settings, job_id: str, every: float = 1.0) -> dict[str, Any]:
    """Follow a job to its end on stderr: a line per finished stage (with its time) and
    the current stage's progress at most every ``every`` seconds; returns the last record."""
    from kejie import job_recovery

    state: dict[str, Any] = {"stages": 0, "shown": 0.0, "line": ""}

    def show(rec: dict[str, Any]) -> None:
        for st in (rec.get("stages") or [])[state["stages"]:]:
            if st["stage"] != "开始":
                amount = f" {st['done']}/{st['total']}" if st.get("total") else ""
                click.echo(f"✓ {st['stage']}{amount}，{st['seconds']:.1f} 秒", err=True)
        state["stages"] = len(rec.get("stages") or [])
        line = _line(rec)
        now = time.monotonic()
        if rec["status"] in ("queued", "running") and line != state["line"] and now - state["shown"] >= every:
            click.echo(f"… {line}", err=True)
            state.update(shown=now, line=line)

    rec = job_recovery.wait(settings, job_id, every=0.2, on_change=show)
    if rec is None:
        raise KejieCommandError(f"没有编号为 {job_id} 的后台任务")
    return rec


def report(rec: dict[str, Any]) -> None:
    """The job's state and result; a failed job ends the command with its reason."""
    click.echo(f"{rec['id']}：{rec['status']} · {rec.get('stage', '')}")
    if rec.get("result"):
        click.echo(f"结果：{rec['result']}")
    if rec["status"] == "failed":
        raise KejieCommandError(rec.get("error") or "任务失败")


def queued(settings: Settings, rec: dict[str, Any], wait: bool) -> None:
    """What a ``--background`` command prints: the job id, then (``--wait``) its progress."""
    click.echo(f"已排队：后台任务 {rec['id']}（{rec['kind']}）")
    if not wait:
        click.echo(f"查看进度：kejie jobs status --wait {rec['id']}（需有任务进程：网页服务或 kejie jobs worker）")
        return
    report(follow(settings, rec["id"]))


@jobs_group.command("status")
@click.argument("job_id")
@click.option("--wait/--no-wait", default=False, help="等到任务结束，逐步显示进度")
def status_cmd(job_id: str, wait: bool) -> None:
    """显示一个后台任务的状态；--wait 时等到完成，每个步骤一行（进度、预计剩余时间、用时）。"""
    from kejie import job_recovery

    settings = get_settings()
    rec = follow(settings, job_id) if wait else job_recovery.current(settings, job_id)
    if rec is None:
        raise KejieCommandError(f"没有编号为 {job_id} 的后台任务")
    if not wait and rec["status"] in ("queued", "running"):
        click.echo(_line(rec))
    report(rec)


def register(group: click.Group) -> None:
    group.add_command(jobs_group)

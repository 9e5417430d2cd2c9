"""``kejie jobs``: run job workers apart from the web process, and follow a job."""

from __future__ import annotations

import time

import click

from kejie.cli.common import KejieCommandError
from kejie.settings import get_settings


@click.group("jobs")
def jobs_group() -> None:
    """后台任务：独立的任务进程与任务进度。"""


@jobs_group.command("worker")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32), help="并行任务线程数")
def worker_cmd(workers: int) -> None:
    """从任务队列取任务执行，直到 Ctrl+C（配合 KEJIE_JOB_QUEUE=redis://… 可在多台机器上运行）。"""
    from kejie import jobs

    settings = get_settings()
    h = jobs.queue(settings)
    click.echo(f"任务队列：{settings.job_queue or 'SQLite（var 目录下 jobs.db）'}；{workers} 个任务线程")
    h.create_consumer(workers=workers, worker_type="thread", periodic=False).run()


@jobs_group.command("status")
@click.argument("job_id")
@click.option("--wait/--no-wait", default=False, help="等到任务结束，显示进度")
def status_cmd(job_id: str, wait: bool) -> None:
    """显示一个后台任务的状态；--wait 时等到完成并显示进度条。"""
    from kejie import jobs

    h = jobs.queue(get_settings())
    rec = jobs.record(h, job_id)
    if rec is None:
        raise KejieCommandError(f"没有编号为 {job_id} 的后台任务")
    if wait:
        with click.progressbar(length=100, label=rec.get("stage") or "排队中", show_percent=True) as bar:
            shown = 0
            while rec is not None and rec["status"] in ("queued", "running"):
                share = int(100 * rec["done"] / rec["total"]) if rec.get("total") else 0
                bar.label = rec.get("stage") or bar.label
                bar.update(share - shown)
                shown = share
                time.sleep(0.5)
                rec = jobs.record(h, job_id)
            bar.update(100 - shown)
    assert rec is not None
    click.echo(f"{rec['id']}：{rec['status']} · {rec.get('stage', '')}")
    if rec.get("result"):
        click.echo(f"结果：{rec['result']}")
    if rec["status"] == "failed":
        raise KejieCommandError(rec.get("error") or "任务失败")


def register(group: click.Group) -> None:
    group.add_command(jobs_group)

"""``kejie serve`` (the web app and API) and ``kejie users`` (accounts)."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import click
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kejie.cli.common import KejieCommandError, open_session
from kejie.deployment import (
    UnsafeDeployment,
    check_serving,
    effective_secret_key,
    uses_placeholder_key,
)
from kejie.login import shared_storage
from kejie.settings import Settings, get_settings
from models import Demand, Expert, Role, Society, User
from models.db import create_db_engine, make_session_factory, upgrade_database


def _where(url: str) -> str:
    return url.split("@")[-1]


def _open_database(settings: Settings) -> Engine:
    """An engine on the configured database, migrated to the newest schema."""
    url = settings.resolved_database_url
    engine = create_db_engine(url)
    try:
        upgrade_database(url, engine=engine)
    except OperationalError as exc:
        engine.dispose()
        raise KejieCommandError(
            f"无法连接数据库 {_where(url)}：{exc.orig}。请检查 KEJIE_DATABASE_URL 并确认数据库服务已启动"
        ) from exc
    return engine


def _is_empty(session: Session) -> bool:
    return all(
        (session.scalar(select(func.count()).select_from(model)) or 0) == 0
        for model in (Demand, Expert, Society)
    )


def _load_sample(session: Session, settings: Settings) -> None:
    from ingest.errors import IngestError
    from kejie.import_jobs import load_sample_registered

    click.echo("数据库为空，正在载入内置样例数据……")
    try:
        report = load_sample_registered(session, settings)
    except IngestError as exc:
        raise KejieCommandError(f"样例数据载入失败：{exc}") from exc
    for r in report.imports:
        click.echo(f"  {r.filename}：新增 {r.inserted}，更新 {r.updated}，拒绝 {r.rejected}")
    click.echo(
        f"  工作站 {report.stations_created} 个，利益冲突 {report.conflicts_created} 条，"
        f"活动 {report.events_created} 个"
    )
    from kejie.organisations import seed_demo_organisations

    if created := seed_demo_organisations(session):
        click.echo("  设区市科协与学会的演示账号：" + "、".join(created))


def _build_index(settings: Settings, factory: sessionmaker) -> Any:
    """Create the MatchService and sync every kind, with a progress bar while encoding."""
    from kejie.match_service import KINDS
    from kejie.wiring import match_service
    from matcher.errors import MatcherError
    from matcher.index import CandidateIndex

    labels = {"expert": "专家", "society": "学会", "demand": "技术需求"}
    service = match_service(settings)
    try:
        with factory() as session:
            encoder = service.encoder
            for kind in KINDS:
                texts = CandidateIndex.passage_texts(service.load_candidates(session, kind))
                todo = encoder.missing(texts, "passage")
                started = time.perf_counter()
                if todo:
                    with click.progressbar(
                        length=todo, label=f"编码{labels[kind]}", show_pos=True,
                        file=click.get_text_stream("stderr"),
                    ) as bar:
                        encoder.progress = bar.update
                        try:
                            counts = service.sync(session, [kind])
                        finally:
                            encoder.progress = None
                else:
                    counts = service.sync(session, [kind])
                click.echo(
                    f"索引 {labels[kind]}：{counts[f'{kind}_total']} 条"
                    f"（新编码 {todo} 段文本，{time.perf_counter() - started:.1f} 秒）"
                )
    except MatcherError as exc:
        raise KejieCommandError(f"建立索引失败：{exc}") from exc
    return service


_SUPERVISOR = "KEJIE_SERVE_SUPERVISOR"  # pid of the supervising process, set for its workers


def _run_workers(host: str, port: int, workers: int) -> None:
    """uvicorn's multi-process supervisor on a listening socket made here: uvicorn's
    own leaves the socket's protocol 0, so asyncio does not set TCP_NODELAY on the
    connections it accepts and every keep-alive request after the first waits
    ~40 ms for the client's delayed ACK (uvicorn issue 3149; measured here: 44 ms
    for /healthz with --workers 2 against 2 ms with one process)."""

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ[_SUPERVISOR] = str(os.getpid())
    config = uvicorn.Config("kejie.cli.serve:worker_app", factory=True, workers=workers, host=host, port=port,
                            log_level="info")
    Multiprocess(config, sockets=[tcp_listener(host, port)]).run()


def worker_app() -> Any:
    """The app of one worker process. The worker ends with its supervisor: a
    supervisor killed with -9 cannot stop its workers, which would go on holding
    the port, so the next ``kejie serve`` could not listen until they were found
    and killed by hand (Linux: the kernel sends SIGTERM when the parent dies)."""
    from api.main import create_app

    die_with_parent(int(os.environ.get(_SUPERVISOR, "0") or 0))
    return create_app()


def die_with_parent(parent: int) -> None:
    """Have the kernel send this process SIGTERM when its parent ``parent`` ends."""
    import ctypes
    import signal
    import sys

    if not parent or not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def tcp_listener(host: str, port: int) -> socket.socket:
    """A bound TCP socket whose protocol says TCP (see ``_run_workers``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))  # OSError (port taken) is reported by the caller
    sock.set_inheritable(True)
    return sock


@click.command("serve")
@click.option("--host", default=None, help="监听地址，默认取 KEJIE_HOST（127.0.0.1）")
@click.option("--port", default=None, type=int, help="端口，默认取 KEJIE_PORT（8000）")
@click.option(
    "--load-sample/--no-load-sample",
    default=True,
    show_default=True,
    help="数据库为空时载入内置样例数据",
)
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="服务进程数，默认取 KEJIE_SERVE_WORKERS（默认 1；0 = 每个 CPU 核一个）；"
                   "各进程读同一份索引文件，一个进程写入后其他进程在下一次查询时读到")
def serve(host: str | None, port: int | None, load_sample: bool, workers: int | None) -> None:
    """启动网页与接口服务：升级数据库、（可选）载入样例、建立索引，然后开始服务。"""
    import uvicorn

    from api.main import create_app
    from kejie.accounts import seed_users

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.resolved_serve_workers
    click.echo(f"数据库：{_where(settings.resolved_database_url)}")
    factory = make_session_factory(_open_database(settings))
    with factory() as session:
        if load_sample and _is_empty(session):
            _load_sample(session, settings)
        created = seed_users(session, settings)
    if created:
        click.echo("已创建账号：" + "、".join(created))
    with factory() as session:
        try:
            check_serving(settings, host, session)
        except UnsafeDeployment as exc:
            raise KejieCommandError(str(exc)) from exc
    effective_secret_key(settings)  # the kept key exists before any worker starts: all sign alike
    service = _build_index(settings, factory)  # built once here; workers load these files
    app = create_app(settings, session_factory=factory, match_service=service) if workers == 1 else None

    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo("")
    click.echo(f"打开 http://{shown}:{port}/ 用 {settings.staff_username} / {settings.staff_password} 登录")
    if settings.expert_username:
        click.echo(f"专家演示账号：{settings.expert_username} / {settings.expert_password}")
    click.echo(f"接口文档：http://{shown}:{port}/docs   按 Ctrl+C 停止")
    if uses_placeholder_key(settings):
        click.echo("提示：正式部署前请设置 KEJIE_SECRET_KEY 并修改默认密码（本机使用 var 目录里随机生成的密钥）。", err=True)
    try:
        if app is not None:
            uvicorn.run(app, host=host, port=port, log_level="info")
        else:
            # each worker process builds its own app from the same settings (environment)
            # and loads the index files saved above; a write in one worker saves them
            # again, and the others reload them at their next query (kejie/match_service.py)
            click.echo(f"{workers} 个服务进程")
            # the login counters must be shared by the workers: a SQLite file unless Redis is configured
            os.environ["KEJIE_RATE_LIMIT_STORAGE"] = shared_storage(settings)
            _run_workers(host, port, workers)
    except OSError as exc:
        raise KejieCommandError(f"无法监听 {host}:{port}：{exc}。请换一个端口，例如 --port 8001") from exc


# -- kejie users ------------------------------------------------------------------


@click.group("users")
def users_group() -> None:
    """账号管理（管理员、工作人员、专家）。"""


@users_group.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="账号角色")
@click.option("--expert-id", type=int, default=None, help="专家账号关联的专家编号（数据库 id）")
@click.option("--display-name", default="", help="显示名")
@click.option("--org", "org", default="", help="所属机构（编号或名称，如 福州市科协）；不给为省科协")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="密码（不给则提示输入）")
def users_create(username: str, role: str, expert_id: int | None, display_name: str, org: str, password: str) -> None:
    """新建账号 USERNAME，例如 kejie users create fz01 --role staff --org 福州市科协。"""
    from kejie.accounts import AccountError, create_user
    from kejie.errors import FieldProblem
    from kejie.organisations import find_organisation

    if len(password) < 6:
        raise KejieCommandError("密码至少需要6位；请换一个更长的密码")
    settings = get_settings()
    _open_database(settings).dispose()
    with open_session(settings) as session:
        try:
            org_id = find_organisation(session, org).id if org else None
        except FieldProblem as exc:
            raise KejieCommandError(exc.reason) from exc
        try:
            user = create_user(session, username, password, Role(role), expert_id=expert_id,
                               display_name=display_name, organisation_id=org_id)
        except AccountError as exc:
            hint = "，可用 kejie users list 查看已有账号" if exc.field == "username" else ""
            raise KejieCommandError(f"{exc.reason}{hint}") from exc
        from kejie.audit import audit

        audit(session, None, "create", "user", user.id,
              {"username": user.username, "role": role, "organisation_id": org_id, "via": "cli"})
        session.commit()
        click.echo(f"已创建账号 {user.username}（{role}{f'，专家 {expert_id}' if expert_id else ''}"
                   f"{f'，机构 {org}' if org else ''}）")


@users_group.command("list")
def users_list() -> None:
    """列出全部账号。"""
    with open_session() as session:
        for u in session.scalars(select(User).order_by(User.id)):
            flag = "" if u.active else "（已停用）"
            linked = f" 专家#{u.expert_id}" if u.expert_id else ""
            linked += f" 机构#{u.organisation_id}" if u.organisation_id else ""
            click.echo(f"{u.id:>4}  {u.username:<16} {u.role.value:<7}{linked}{flag}")


def register(group: click.Group) -> None:
    group.add_command(serve)
    group.add_command(users_group)

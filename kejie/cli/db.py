"""``kejie db upgrade``: create or migrate the schema."""

from __future__ import annotations

import click
from sqlalchemy.exc import OperationalError

from kejie.cli.common import KejieCommandError
from kejie.settings import get_settings
from models.db import upgrade_database


@click.group("db")
def db_group() -> None:
    """数据库结构：创建或迁移（Alembic）。"""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def upgrade(revision: str) -> None:
    """把数据库迁移到指定版本（默认最新）。"""
    url = get_settings().resolved_database_url
    try:
        upgrade_database(url, revision)
    except OperationalError as exc:
        raise KejieCommandError(
            f"cannot reach the database at {url.split('@')[-1]}: {exc.orig}. "
            "Check KEJIE_DATABASE_URL and that the server is running."
        ) from exc
    click.echo(f"database is at revision {revision}: {url.split('@')[-1]}")


def register(group: click.Group) -> None:
    group.add_command(db_group)

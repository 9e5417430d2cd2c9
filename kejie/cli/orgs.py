"""``kejie orgs create|list``: the organisations whose staff have accounts (issue 12)."""

from __future__ import annotations

import click

from kejie.cli.common import KejieCommandError, open_session
from models import OrgKind


@click.group("orgs")
def orgs_group() -> None:
    """机构管理（省科协、设区市科协、学会）。"""


@orgs_group.command("create")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice([k.value for k in OrgKind]), help="机构类型")
@click.option("--city", default="", help="设区市科协所在的设区市，如 福州市")
@click.option("--society", "society", default="", help="学会对应的学会记录：编号或名称")
def orgs_create(name: str, kind: str, city: str, society: str) -> None:
    """新建机构 NAME，例如 kejie orgs create 福州市科协 --kind city --city 福州市。"""
    from sqlalchemy import select

    from kejie.audit import audit
    from kejie.errors import FieldProblem
    from kejie.organisations import create_organisation
    from models import Society

    with open_session() as session:
        society_id = None
        if society:
            column = Society.id if society.isdigit() else Society.name
            value: int | str = int(society) if society.isdigit() else society.strip()
            society_id = session.scalar(select(Society.id).where(column == value))
            if society_id is None:
                raise KejieCommandError(f"学会“{society}”不存在；先导入学会（kejie ingest … --kind societies）")
        try:
            org = create_organisation(session, kind, name, city=city, society_id=society_id)
        except FieldProblem as exc:
            raise KejieCommandError(f"{exc.field}：{exc.reason}") from exc
        audit(session, None, "create", "organisation", org.id, {"name": org.name, "kind": kind, "via": "cli"})
        session.commit()
        where = f"，{org.city}" if org.city else (f"，学会 #{org.society_id}" if org.society_id else "")
        click.echo(f"已创建机构 #{org.id} {org.name}（{kind}{where}）")


@orgs_group.command("list")
def orgs_list() -> None:
    """列出全部机构及其账号数。"""
    from kejie.organisations import list_organisations

    with open_session() as session:
        for org, accounts in list_organisations(session):
            extra = org.city or (f"学会#{org.society_id}" if org.society_id else "")
            click.echo(f"{org.id:>4}  {org.name:<16} {org.kind.value:<8} {extra:<10} 账号 {accounts}")


def register(group: click.Group) -> None:
    group.add_command(orgs_group)

"""Accounts and tokens."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import ORMModel
from api.schemas.inputs import InputModel, id_field
from models import OrgKind, Role


class Token(BaseModel):
    access_token: str = Field(description="访问令牌 / bearer token")
    token_type: str = Field("bearer", description="令牌类型 / always 'bearer'")
    expires_in: int = Field(description="有效期（秒）/ lifetime in seconds")
    role: Role = Field(description="角色 / role")


class UserCreate(InputModel):
    """A new account; expert accounts must name their expert. 新建账号（专家账号须关联专家）。"""

    username: str = Field(
        min_length=3, max_length=60, pattern=r"^[A-Za-z0-9_.\-]+$", description="用户名 / username"
    )
    password: str = Field(min_length=6, max_length=200, description="密码（至少6位）/ password")
    role: Role = Field(description="admin / staff / expert")
    display_name: str = Field("", max_length=60, description="显示名 / display name")
    expert_id: int | None = id_field("关联的专家编号 / linked expert id", None)
    organisation_id: int | None = id_field(
        "所属机构编号（设区市科协或学会；不填为省科协）/ organisation id (none: the provincial association)", None
    )


class UserPublic(ORMModel):
    id: int
    username: str
    role: Role
    display_name: str
    expert_id: int | None
    active: bool
    organisation_id: int | None = None


class OrganisationCreate(InputModel):
    """A new organisation. 新建机构：省科协、设区市科协（填设区市）或学会（关联学会）。"""

    kind: OrgKind = Field(description="province 省科协 / city 设区市科协 / society 学会")
    name: str = Field(min_length=2, max_length=120, description="机构名称，如 福州市科协 / name")
    city: str = Field("", max_length=40, description="设区市科协所在设区市，如 福州市 / the city of a city association")
    society_id: int | None = id_field("学会的学会编号 / the society record of a society", None)


class OrganisationPublic(ORMModel):
    id: int
    kind: OrgKind
    name: str
    city: str
    society_id: int | None
    accounts: int = Field(0, description="账号数 / number of accounts")

"""Accounts and tokens."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import ORMModel
from api.schemas.inputs import InputModel, id_field
from models import Role


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


class UserPublic(ORMModel):
    id: int
    username: str
    role: Role
    display_name: str
    expert_id: int | None
    active: bool

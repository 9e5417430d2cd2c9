"""Experts (专家、院士) and societies (学会)."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import ORMModel


class ExpertPublic(ORMModel):
    """An expert's capability profile, no contact data. 专家能力画像（不含联系方式）。"""

    id: int
    external_id: str = Field(description="外部编号 / id in the source file")
    name: str = Field(description="姓名 / name")
    title: str = Field(description="职称 / title")
    is_academician: bool = Field(description="是否院士 / academician")
    affiliation: str = Field(description="工作单位 / affiliation")
    disciplines: list[str] = Field(description="学科 / disciplines")
    research_areas: list[str] = Field(description="研究方向 / research areas")
    achievements: list[str] = Field(description="代表性成果 / achievements")
    keywords: list[str] = Field(description="关键词 / keywords")
    societies: list[str] = Field(description="所属学会 / societies")
    city: str = Field(description="所在城市 / city")
    capacity: int = Field(description="每次活动可对接数 / meetings per event")
    available: bool = Field(description="当前可参与对接 / available")


class ExpertStaff(ExpertPublic):
    """An expert with contact data, for staff (or the expert themself). 含联系方式。"""

    mobile: str = Field(description="手机 / mobile")
    email: str = Field(description="电子邮箱 / e-mail")


class SocietyPublic(ORMModel):
    """An academic society or discipline expert group. 学会 / 学科专家组。"""

    id: int
    external_id: str = Field(description="外部编号 / id in the source file")
    name: str = Field(description="名称 / name")
    category: str = Field(description="类别 / category")
    disciplines: list[str] = Field(description="学科 / disciplines")
    description: str = Field(description="能力描述 / capability description")
    keywords: list[str] = Field(description="关键词 / keywords")
    representative_works: list[str] = Field(description="代表性成果 / representative works")
    city: str = Field(description="所在城市 / city")
    capacity: int = Field(description="每次活动可对接数 / meetings per event")

"""Ranked matches, expert feedback and free-text search."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from api.schemas.inputs import InputModel, id_field
from matcher.learn import NO_MATCH, no_suitable


class ProfileItemPublic(BaseModel):
    field: str = Field(description="画像条目类型 / profile field, e.g. research_area")
    text: str = Field(description="条目内容 / the item's text")


class MatchPublic(BaseModel):
    """One ranked candidate with the reasons it was chosen. 一条匹配结果及理由。"""

    id: str = Field(description="候选编号（数据库 id）/ candidate id (database id)")
    kind: Literal["expert", "society", "demand"] = Field(description="候选类型 / candidate kind")
    name: str = Field(description="名称 / name")
    score: float = Field(description="综合得分，越高越好 / fused score, higher is better")
    lexical: float = Field(description="关键词得分 / lexical score")
    semantic: float = Field(description="语义得分 / semantic score")
    best_item: ProfileItemPublic | None = Field(description="最相关的画像条目 / best-matching profile item")
    shared_terms: list[str] = Field(description="共同术语 / shared terms")
    reasons: list[str] = Field(description="推荐理由 / reasons, Chinese")
    probability: float | None = Field(
        None, description="校准后的相关概率（有拟合模型的类型）/ calibrated probability that the pair is relevant")
    grade: Literal["高", "中", "低"] | None = Field(
        None, description="匹配等级：高/中/低（由相关概率得出）/ match grade from that probability")


class MatchResults(BaseModel):
    """Ranked candidates for one query. 一次匹配的排序结果。"""

    query_id: int | None = Field(None, description="需求/专家/学会编号 / id of the query record")
    kind: str = Field(description="候选类型 / kind of the candidates")
    items: list[MatchPublic]
    no_suitable: bool = Field(
        False, description="无合适人选：结果已分级且没有达到“中”的候选；items 仍列出较弱的候选 / "
                           "graded and nobody reaches 中; items still lists the weaker candidates")
    message: str | None = Field(None, description="给用户的提示 / a note for the user")

    @model_validator(mode="after")
    def _verdict(self) -> MatchResults:
        if no_suitable([m.grade for m in self.items]):
            self.no_suitable = True
            self.message = f"{NO_MATCH}：没有候选达到“中”等级，以下为较弱的候选，仅供参考"
        return self


class FeedbackCreate(InputModel):
    """An expert's answer to a recommended demand. 专家对推荐需求的反馈。"""

    demand_id: int = id_field("技术需求编号 / demand id")
    choice: Literal["interested", "declined"] = Field(description="感兴趣 interested / 婉拒 declined")
    note: str = Field("", max_length=1000, description="备注 / note")


class FeedbackPublic(BaseModel):
    id: int
    expert_id: int
    demand_id: int
    choice: str
    note: str
    at: datetime

"""Events (院士八闽行、学会服务站活动日 ...)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from api.schemas.common import ORMModel, clean_terms
from api.schemas.inputs import InputModel


class EventCreate(InputModel):
    """A new event. 新建对接活动。"""

    name: str = Field(min_length=1, max_length=200, description="活动名称 / name")
    event_type: str = Field("", max_length=40, description="活动类型 / type")
    starts_on: date = Field(description="开始日期 / first day")
    ends_on: date | None = Field(None, description="结束日期 / last day")
    regions: list[str] = Field(default_factory=list, description="涉及设区市 / cities in scope")
    invite_all: bool = Field(True, description="邀请全部可参与专家 / invite all available experts")
    include_societies: bool = Field(False, description="包含学会 / include societies")
    demand_industries: list[str] = Field(default_factory=list, description="需求行业 / demand industries")
    demand_statuses: list[str] = Field(default_factory=lambda: ["open"], description="需求状态 / statuses")
    min_experts_per_demand: int = Field(0, ge=0, le=20, description="每个需求最少专家数 / min experts")
    max_experts_per_demand: int = Field(2, ge=1, le=20, description="每个需求最多专家数 / max experts")
    default_capacity: int | None = Field(None, ge=1, le=100, description="专家默认对接数 / capacity")
    notes: str = Field("", max_length=4000, description="备注 / notes")
    academicians_only: bool = Field(False, description="仅院士 / academicians only")
    candidate_regions: list[str] = Field(default_factory=list, description="专家所在设区市 / experts' cities")
    day_slots: list[str] = Field(default_factory=lambda: ["上午", "下午"], min_length=1, max_length=6,
                                 description="每天时段 / slots of a day")
    expert_slot_limit: int = Field(1, ge=1, le=10, description="每位专家每时段场次 / visits per expert per slot")
    slot_limit: int | None = Field(None, ge=1, le=1000, description="每时段总场次 / visits per slot")

    @field_validator("regions", "demand_industries", "candidate_regions")
    @classmethod
    def _terms(cls, v: list[str]) -> list[str]:
        return clean_terms(v)

    @field_validator("ends_on")
    @classmethod
    def _ends_after_start(cls, v: date | None, info: ValidationInfo) -> date | None:
        starts = info.data.get("starts_on")
        if v is not None and starts is not None and v < starts:
            raise ValueError("结束日期不能早于开始日期")
        return v

    @field_validator("max_experts_per_demand")
    @classmethod
    def _max_not_below_min(cls, v: int, info: ValidationInfo) -> int:
        low = info.data.get("min_experts_per_demand")
        if low is not None and v < low:
            raise ValueError("每个需求最多专家数不能小于最少专家数")
        return v


class EventPublic(ORMModel):
    """An event. 对接活动。"""

    id: int
    name: str = Field(description="活动名称 / name")
    event_type: str = Field(description="活动类型 / type")
    starts_on: date = Field(description="开始日期 / first day")
    ends_on: date | None = Field(description="结束日期 / last day")
    regions: list[str] = Field(description="涉及设区市 / cities in scope")
    invite_all: bool
    include_societies: bool
    demand_industries: list[str]
    demand_statuses: list[str]
    min_experts_per_demand: int
    max_experts_per_demand: int
    default_capacity: int | None
    notes: str
    academicians_only: bool = False
    candidate_regions: list[str] | None = None
    day_slots: list[str] | None = None
    expert_slot_limit: int = 1
    slot_limit: int | None = None


class PlanItemPublic(BaseModel):
    """One planned pairing. 方案中的一条配对。"""

    id: int
    demand_id: int
    demand_title: str = Field(description="技术需求名称 / demand title")
    enterprise_name: str = Field(description="单位名称 / enterprise")
    expert_id: int | None
    expert_name: str = Field("", description="专家姓名 / expert")
    society_id: int | None
    society_name: str = Field("", description="学会名称 / society")
    score: float = Field(description="匹配得分 / score")
    rank: int = Field(description="在该需求中的名次 / rank within the demand")
    reasons: list[str] = Field(description="理由 / reasons")
    visit_date: date | None = Field(None, description="走访日期 / visit date")
    slot: str | None = Field(None, description="时段 / half-day slot")
    visit_order: int | None = Field(None, description="该专家的第几站 / visit order")
    schedule_note: str = Field("", description="未能排入日程的原因 / why unscheduled")
    interest: str = Field("", description="专家意向 interested / expert interest")


class PlanPublic(BaseModel):
    """A versioned event plan. 活动对接方案（带版本号）。"""

    id: int
    event_id: int | None
    version: int = Field(description="版本号 / version")
    status: str = Field(description="planned 已排定 / infeasible 无法排定 / failed 失败")
    total_score: float
    message: str = Field(description="说明或无法排定的原因 / message")
    params: dict[str, Any] = Field(default_factory=dict, description="规划参数 / parameters")
    created_at: datetime
    items: list[PlanItemPublic]
    downloads: dict[str, str] = Field(default_factory=dict, description="下载链接 / download links")

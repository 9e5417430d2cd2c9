"""Outcomes of pairings (对接结果) and the quarterly report."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import ORMModel
from api.schemas.inputs import InputModel, id_field
from models import OutcomeStatus


class OutcomeCreate(InputModel):
    """Record what happened with a demand–expert or demand–society pairing.
    记录一次对接的结果（专家或学会二选一）。"""

    demand_id: int = id_field("技术需求编号 / demand id")
    expert_id: int | None = id_field("专家编号 / expert id", None)
    society_id: int | None = id_field("学会编号 / society id", None)
    status: OutcomeStatus = Field(
        description="已联系 contacted / 已走访 visited / 已签约 signed / 不合适 not_a_fit"
    )
    notes: str = Field("", max_length=4000, description="备注 / notes")
    match_item_id: int | None = id_field("来自活动方案的配对编号 / planned pairing id", None)

    @field_validator("notes")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()


class OutcomePublic(ORMModel):
    id: int
    demand_id: int
    expert_id: int | None
    society_id: int | None
    match_item_id: int | None
    status: OutcomeStatus
    notes: str
    recorded_by: int | None = Field(description="记录人用户编号 / user who recorded it")
    recorded_at: datetime
    status_change: str = Field("", description="需求状态的变化 / how the demand's status moved")


class StatusCounts(BaseModel):
    key: str = Field(description="季度（如 2024Q3）或城市 / quarter (e.g. 2024Q3) or city")
    total: int
    by_status: dict[str, int]


class OutcomeReport(BaseModel):
    """Counts of outcomes in a period. 对接成效统计。"""

    date_from: date | None = Field(description="起始日期（含）/ from, inclusive")
    date_to: date | None = Field(description="截止日期（含）/ to, inclusive")
    total: int
    by_status: dict[str, int]
    by_quarter: list[StatusCounts]
    by_city: list[StatusCounts]

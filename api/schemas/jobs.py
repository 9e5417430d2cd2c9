"""Background jobs: what a queued job is doing."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class JobPublic(BaseModel):
    """A background job and its progress. 后台任务及其进度。"""

    id: str = Field(description="任务编号 / job id")
    kind: str = Field(description="任务类型，如 plan_event / what the job does")
    status: Literal["queued", "running", "done", "failed"] = Field(description="排队中、进行中、完成、失败")
    stage: str = Field("", description="当前步骤 / current stage")
    done: int = Field(0, description="已完成步数 / steps done")
    total: int = Field(0, description="总步数（0 = 未知）/ steps in all (0 = unknown)")
    result: dict[str, Any] | None = Field(None, description="完成后的结果 / the result when done")
    error: str | None = Field(None, description="失败原因 / why it failed")
    url: str | None = Field(None, description="查看结果的链接 / where to see the result")

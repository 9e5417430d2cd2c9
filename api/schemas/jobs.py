"""Background jobs: what a queued job is doing."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class JobStage(BaseModel):
    """A finished stage of a job. 已完成的步骤。"""

    stage: str = Field(description="步骤 / stage")
    done: int = Field(0, description="完成量 / units done")
    total: int = Field(0, description="总量 / units in all")
    seconds: float = Field(0, description="用时（秒）/ seconds taken")


class JobPublic(BaseModel):
    """A background job and its progress. 后台任务及其进度。"""

    id: str = Field(description="任务编号 / job id")
    kind: str = Field(description="任务类型：import_file、import_sync（即时导入）、index_sync、plan_event、nightly / what the job does")
    status: Literal["queued", "running", "done", "failed"] = Field(description="排队中、进行中、完成、失败")
    stage: str = Field("", description="当前步骤：读取表格、编码文本、更新索引… / current stage")
    done: int = Field(0, description="本步骤已完成量（行、字节或文本数）/ units of this stage done")
    total: int = Field(0, description="本步骤总量（0 = 未知）/ units of this stage in all (0 = unknown)")
    eta: float | None = Field(None, description="本步骤预计剩余秒数 / seconds this stage still needs (estimate)")
    stages: list[JobStage] = Field(default_factory=list, description="已完成的步骤 / finished stages")
    import_id: int | None = Field(None, description="导入任务的导入记录编号 / the import log of an import job")
    result: dict[str, Any] | None = Field(None, description="完成后的结果 / the result when done")
    error: str | None = Field(None, description="失败原因 / why it failed")
    url: str | None = Field(None, description="查看结果的链接 / where to see the result")


class ImportQueued(BaseModel):
    """An upload accepted as a background import job. 已接收、后台导入中。"""

    job: JobPublic = Field(description="导入任务 / the import job")
    import_id: int = Field(description="导入记录编号（进行中）/ the import log, running")
    poll: str = Field(description="查询进度的地址 / where to poll the job")
    page: str = Field(description="进度页面 / the job's web page")

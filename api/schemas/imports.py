"""Spreadsheet imports and their rejected rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RejectPublic(BaseModel):
    """One rejected row. 一条被拒绝的记录。"""

    model_config = ConfigDict(extra="ignore")

    file: str = Field("", description="文件名 / file name")
    row: int | None = Field(None, description="行号 / row number in the file")
    field: str = Field("", description="字段 / field")
    value: Any = Field(None, description="原始值 / value as read")
    reason: str = Field(description="原因 / reason")


class ImportReportPublic(BaseModel):
    """What an import did. 导入结果。"""

    model_config = ConfigDict(extra="ignore")

    import_id: int | None = Field(None, description="导入日志编号 / import log id")
    kind: str = Field(description="数据类型 / kind: demands, experts, societies ...")
    filename: str = Field(description="文件名 / file name")
    rows_total: int = Field(0, description="读取行数 / rows read")
    inserted: int = Field(0, description="新增 / inserted")
    updated: int = Field(0, description="更新 / updated")
    unchanged: int = Field(0, description="未变化 / unchanged")
    duplicates: int = Field(0, description="文件内重复行 / duplicate rows within the file")
    rejected: int = Field(0, description="被拒绝的行数 / rows rejected")
    rejects: list[RejectPublic] = Field(default_factory=list, description="被拒绝的行 / rejected rows")
    imported_by: str = Field("", description="导入人 / imported by")
    started_at: datetime | None = Field(None, description="导入时间 / when")
    status: Literal["running", "done", "failed"] = Field(
        "done", description="running 进行中（或已中断）/ done 完成 / failed 失败"
    )
    finished_at: datetime | None = Field(None, description="结束时间 / finished at")
    error: str = Field("", description="失败原因 / why it failed")

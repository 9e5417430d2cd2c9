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


class DuplicatePublic(BaseModel):
    """A row with the same key as an earlier row of the same file: not imported. 文件内重复行。"""

    model_config = ConfigDict(extra="ignore")

    file: str = Field("", description="文件名 / file name")
    row: int = Field(description="行号 / row number in the file")
    duplicate_of: int = Field(description="保留的行 / the earlier row that was kept")
    label: str = Field("", description="名称 / title or name")
    differs: list[str] = Field(default_factory=list, description="与保留行不同的列 / columns that differ")
    reason: str = Field("", description="说明 / why it was skipped")


class ChangePublic(BaseModel):
    """A record an import updated, with the fields it changed. 更新的记录及其变化的字段。"""

    model_config = ConfigDict(extra="ignore")

    row: int | None = Field(None, description="行号 / row number in the file")
    entity: str = Field(description="demand / enterprise / expert / society")
    id: int = Field(description="记录编号 / record id")
    label: str = Field("", description="名称 / title or name")
    fields: list[str] = Field(default_factory=list, description="变化的字段 / changed fields")


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
    duplicate_rows: list[DuplicatePublic] = Field(
        default_factory=list, description="文件内重复、未导入的行 / in-file duplicates, not imported"
    )
    changes: list[ChangePublic] = Field(default_factory=list, description="更新的记录 / records updated")
    imported_by: str = Field("", description="导入人 / imported by")
    started_at: datetime | None = Field(None, description="导入时间 / when")
    status: Literal["running", "done", "failed"] = Field(
        "done", description="running 进行中（或已中断）/ done 完成 / failed 失败"
    )
    finished_at: datetime | None = Field(None, description="结束时间 / finished at")
    error: str = Field("", description="失败原因 / why it failed")

"""What an export of a stored plan holds: :class:`ExportData` (read once by
:func:`kejie.events.export.collect`, written by :mod:`kejie.events.files`), its
columns with Chinese headers and widths, and the Chinese labels of its codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# key, header, column width (characters); the order is the flat sheet / CSV order
COLUMNS: list[tuple[str, str, int]] = [
    ("demand_id", "需求编号", 9),
    ("demand_title", "技术需求名称", 30),
    ("enterprise_name", "企业名称", 28),
    ("city", "设区市", 9),
    ("county", "区县", 9),
    ("address", "企业地址", 28),
    ("industry", "行业", 12),
    ("kind", "对接方类型", 10),
    ("candidate_id", "专家/学会编号", 12),
    ("candidate_name", "专家/学会", 16),
    ("candidate_title", "职称/类别", 12),
    ("affiliation", "工作单位", 24),
    ("academician", "院士", 6),
    ("score", "匹配度", 8),
    ("rank", "推荐顺位", 9),
    ("visit_when", "日程", 18),
    ("visit_order", "第几站", 7),
    ("interest", "专家意向", 9),
    ("reasons", "匹配理由", 60),
    ("schedule_note", "日程说明", 30),
]
CONTACT_COLUMNS: list[tuple[str, str, int]] = [
    ("contact_name", "企业联系人", 10),
    ("mobile", "联系人手机", 14),
    ("office_phone", "办公电话", 14),
    ("fax", "传真", 14),
    ("email", "电子邮箱", 22),
    ("candidate_mobile", "专家手机", 14),
    ("candidate_email", "专家邮箱", 22),
]
ENTERPRISE_CONTACTS = ("contact_name", "mobile", "office_phone", "fax", "email")
CANDIDATE_CONTACTS = ("candidate_mobile", "candidate_email")
KIND_LABEL = {"expert": "专家", "society": "学会"}
STATUS_LABEL = {"planned": "已排定", "infeasible": "无法排定", "failed": "失败"}
INTEREST_LABEL = {"interested": "有意向", "declined": "已婉拒"}


@dataclass
class ExportData:
    event: dict[str, Any]
    match_list: dict[str, Any]
    rows: list[dict[str, Any]]
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    include_contacts: bool = False
    slots: list[str] = field(default_factory=lambda: ["上午", "下午"])
    declined: list[dict[str, Any]] = field(default_factory=list)  # demands experts declined

    @property
    def columns(self) -> list[tuple[str, str, int]]:
        return COLUMNS + (CONTACT_COLUMNS if self.include_contacts else [])

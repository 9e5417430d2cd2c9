"""Exports of a stored plan: an XLSX workbook for people, CSV and JSON for tools.

The workbook has a summary sheet, a flat sheet of every pairing, one sheet per
expert and per society (their visit schedule) and one per enterprise (who comes
to see it), all with Chinese headers, wrapped reasons and frozen headers.

Contact data (the demand's contact person, phones, fax, e-mail and the
experts' own phone and e-mail) is personal: it is written only when the caller
passes ``include_contacts=True``, which only staff-facing code may do.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.sanitize import safe_cell, safe_tree, strip_illegal
from models import Demand, Enterprise, Event, Expert, MatchList, Society

FORMATS = ("xlsx", "csv", "json")

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
    ("reasons", "匹配理由", 60),
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
_ENTERPRISE_CONTACTS = ("contact_name", "mobile", "office_phone", "fax", "email")
_CANDIDATE_CONTACTS = ("candidate_mobile", "candidate_email")
_KIND = {"expert": "专家", "society": "学会"}
_STATUS = {"planned": "已排定", "infeasible": "无法排定", "failed": "失败"}


@dataclass
class ExportData:
    event: dict[str, Any]
    match_list: dict[str, Any]
    rows: list[dict[str, Any]]
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    include_contacts: bool = False

    @property
    def columns(self) -> list[tuple[str, str, int]]:
        return COLUMNS + (CONTACT_COLUMNS if self.include_contacts else [])


def _iso(value: date | datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def collect(
    session: Session, match_list: MatchList | int, include_contacts: bool = False
) -> ExportData:
    """Everything the writers need, read once from the database."""
    ml = session.get(MatchList, match_list) if isinstance(match_list, int) else match_list
    if ml is None:
        raise LookupError(f"匹配清单 #{match_list} 不存在")
    event = session.get(Event, ml.event_id) if ml.event_id is not None else None
    items = list(ml.items)
    unmatched_ids = [int(i) for i in (ml.params or {}).get("unmatched_demand_ids", [])]
    demand_ids = sorted({it.demand_id for it in items} | set(unmatched_ids))
    demands = (
        {d.id: d for d in session.scalars(select(Demand).where(Demand.id.in_(demand_ids)))}
        if demand_ids
        else {}
    )
    ent_ids = sorted({d.enterprise_id for d in demands.values()})
    enterprises = (
        {e.id: e for e in session.scalars(select(Enterprise).where(Enterprise.id.in_(ent_ids)))}
        if ent_ids
        else {}
    )
    expert_ids = sorted({it.expert_id for it in items if it.expert_id is not None})
    experts = (
        {e.id: e for e in session.scalars(select(Expert).where(Expert.id.in_(expert_ids)))}
        if expert_ids
        else {}
    )
    society_ids = sorted({it.society_id for it in items if it.society_id is not None})
    societies = (
        {s.id: s for s in session.scalars(select(Society).where(Society.id.in_(society_ids)))}
        if society_ids
        else {}
    )

    rows: list[dict[str, Any]] = []
    for it in sorted(items, key=lambda x: (x.demand_id, x.rank, x.id or 0)):
        d = demands[it.demand_id]
        ent = enterprises[d.enterprise_id]
        row: dict[str, Any] = {
            "demand_id": d.id,
            "demand_title": d.title,
            "enterprise_id": ent.id,
            "enterprise_name": ent.name,
            "city": ent.city,
            "county": ent.county,
            "address": ent.address,
            "industry": d.industry or ent.industry,
            "score": round(float(it.score), 4),
            "rank": it.rank,
            "reasons": list(it.reasons or []),
        }
        if it.expert_id is not None:
            e = experts[it.expert_id]
            row.update(
                kind="expert",
                candidate_id=e.id,
                candidate_name=e.name,
                candidate_title=e.title,
                affiliation=e.affiliation,
                academician="是" if e.is_academician else "",
            )
            contact = {"candidate_mobile": e.mobile, "candidate_email": e.email}
        else:
            s = societies[it.society_id]  # type: ignore[index]
            row.update(
                kind="society",
                candidate_id=s.id,
                candidate_name=s.name,
                candidate_title=s.category,
                affiliation="",
                academician="",
            )
            contact = {"candidate_mobile": "", "candidate_email": ""}
        if include_contacts:
            row.update(
                contact_name=d.contact_name,
                mobile=d.mobile,
                office_phone=d.office_phone,
                fax=d.fax,
                email=d.email,
                **contact,
            )
        rows.append(row)

    unmatched = []
    for did in unmatched_ids:
        d = demands.get(did)
        if d is not None:
            ent = enterprises[d.enterprise_id]
            unmatched.append(
                {
                    "demand_id": d.id,
                    "demand_title": d.title,
                    "enterprise_name": ent.name,
                    "city": ent.city,
                }
            )

    event_info: dict[str, Any] = {}
    if event is not None:
        event_info = {
            "id": event.id,
            "name": event.name,
            "event_type": event.event_type,
            "starts_on": _iso(event.starts_on),
            "ends_on": _iso(event.ends_on),
            "regions": list(event.regions or []),
        }
    ml_info = {
        "id": ml.id,
        "version": ml.version,
        "status": ml.status,
        "total_score": round(float(ml.total_score), 4),
        "message": ml.message,
        "input_hash": ml.input_hash,
        "created_at": _iso(ml.created_at),
        "min_score": (ml.params or {}).get("min_score"),
        "load_penalty": (ml.params or {}).get("load_penalty"),
    }
    return ExportData(event_info, ml_info, rows, unmatched, include_contacts)


# ----------------------------------------------------------------------------
# sheet names

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
SHEET_NAME_MAX = 31


def sheet_title(name: str, used: set[str]) -> str:
    """A valid, unique (case-insensitively, as Excel compares) sheet name.

    Drops ``[]:*?/\\`` and control characters, leading/trailing apostrophes,
    cuts to 31 characters and appends ``~2``, ``~3`` ... on collisions.
    ``used`` is updated.
    """
    base = _BAD_SHEET_CHARS.sub("", strip_illegal(name)).strip().strip("'").strip() or "Sheet"
    base = base[:SHEET_NAME_MAX]
    title, n = base, 2
    while title.casefold() in used or title.casefold() == "history":
        suffix = f"~{n}"
        title = base[: SHEET_NAME_MAX - len(suffix)].rstrip("'") + suffix
        n += 1
    used.add(title.casefold())
    return title


# ----------------------------------------------------------------------------
# writers


def _cell_value(key: str, value: Any) -> Any:
    if key == "reasons":
        value = "\n".join(value)
    elif key == "kind":
        value = _KIND.get(value, value)
    return safe_cell(value)


def _flat_value(key: str, value: Any) -> Any:
    if key == "reasons":
        value = "；".join(value)
    elif key == "kind":
        value = _KIND.get(value, value)
    return safe_cell(value)


def _put(ws: Any, row: int, column: int, value: Any) -> Any:
    """Write one cell through :func:`safe_cell`; text is always a string cell, never a formula."""
    cell = ws.cell(row=row, column=column)
    value = safe_cell(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _write_table(
    ws: Any,
    columns: Sequence[tuple[str, str, int]],
    rows: Iterable[dict[str, Any]],
    title: str | None = None,
    numbered: bool = False,
) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_row = 1
    cols = ([("_n", "序号", 6)] if numbered else []) + list(columns)
    if title:
        _put(ws, 1, 1, title).font = Font(bold=True, size=13)
        header_row = 2
    fill = PatternFill("solid", fgColor="DDEBF7")
    for c, (_, header, width) in enumerate(cols, 1):
        cell = _put(ws, header_row, c, header)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(c)].width = width
    top = Alignment(vertical="top", wrap_text=True)
    r = header_row
    for n, row in enumerate(rows, 1):
        r += 1
        for c, (key, _, _) in enumerate(cols, 1):
            value = n if key == "_n" else _cell_value(key, row.get(key, ""))
            cell = _put(ws, r, c, value)
            cell.alignment = top
            if key == "score":
                cell.number_format = "0.000"
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    if r > header_row:
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(cols))}{r}"


def _pick(
    columns: Sequence[tuple[str, str, int]], keys: Sequence[str]
) -> list[tuple[str, str, int]]:
    spec = {c[0]: c for c in columns}
    return [spec[k] for k in keys if k in spec]


def build_workbook(data: ExportData) -> Any:
    """The openpyxl ``Workbook`` (not saved)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    used: set[str] = set()
    ws = wb.active
    ws.title = sheet_title("汇总", used)
    ev, ml = data.event, data.match_list
    loads: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in data.rows:
        loads.setdefault((row["kind"], row["candidate_id"]), []).append(row)
    facts = [
        ("活动", ev.get("name", "")),
        ("活动类型", ev.get("event_type", "")),
        ("日期", " 至 ".join(x for x in (ev.get("starts_on", ""), ev.get("ends_on", "")) if x)),
        ("地区", "、".join(ev.get("regions", [])) or "全部"),
        ("清单版本", ml["version"]),
        ("状态", _STATUS.get(ml["status"], ml["status"])),
        ("生成时间", ml["created_at"]),
        ("对接总数", len(data.rows)),
        ("涉及需求", len({r["demand_id"] for r in data.rows})),
        ("参与专家", sum(1 for k, _ in loads if k == "expert")),
        ("参与学会", sum(1 for k, _ in loads if k == "society")),
        ("匹配度合计", ml["total_score"]),
        ("最低匹配分", ml.get("min_score", "")),
        ("说明", ml["message"]),
    ]
    _write_table(ws, [("k", "项目", 14), ("v", "内容", 90)], [{"k": k, "v": v} for k, v in facts])
    r = ws.max_row + 2
    _put(ws, r, 1, "专家/学会负荷").font = Font(bold=True)
    load_cols = [
        ("专家/学会", 16),
        ("类型", 8),
        ("工作单位", 24),
        ("场次", 6),
        ("平均匹配度", 10),
        ("最低匹配度", 10),
    ]
    for c, (h, _) in enumerate(load_cols, 1):
        _put(ws, r + 1, c, h).font = Font(bold=True)
    for n, ((kind, _), rows) in enumerate(
        sorted(loads.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[1][0]["candidate_name"])), 1
    ):
        scores = [x["score"] for x in rows]
        values = [
            rows[0]["candidate_name"],
            _KIND[kind],
            rows[0]["affiliation"],
            len(rows),
            sum(scores) / len(scores),
            min(scores),
        ]
        for c, v in enumerate(values, 1):
            cell = _put(ws, r + 1 + n, c, v)
            if c >= 5:
                cell.number_format = "0.000"
    if data.unmatched:
        r = ws.max_row + 2
        _put(ws, r, 1, "未安排的需求").font = Font(bold=True)
        for n, u in enumerate(data.unmatched, 1):
            _put(ws, r + n, 1, f"#{u['demand_id']}")
            cell = _put(ws, r + n, 2, f"{u['demand_title']}（{u['enterprise_name']}，{u['city']}）")
            cell.alignment = Alignment(wrap_text=True)

    _write_table(wb.create_sheet(sheet_title("对接总表", used)), data.columns, data.rows)

    contacts = data.include_contacts
    event_name = f" · {ev['name']}" if ev.get("name") else ""
    visit_keys = [
        "enterprise_name",
        "demand_id",
        "demand_title",
        "city",
        "county",
        "address",
        "score",
        "rank",
        "reasons",
    ]
    visit_cols = _pick(data.columns, visit_keys + (list(_ENTERPRISE_CONTACTS) if contacts else []))
    for kind in ("expert", "society"):
        people = sorted(
            ((cid, rows) for (k, cid), rows in loads.items() if k == kind),
            key=lambda x: (x[1][0]["candidate_name"], x[0]),
        )
        for _, rows in people:
            first = rows[0]
            label = _KIND[kind]
            ws = wb.create_sheet(sheet_title(f"{label}-{first['candidate_name']}", used))
            who = "，".join(x for x in (first["affiliation"], first["candidate_title"]) if x)
            title = (
                f"{label} {first['candidate_name']}{f'（{who}）' if who else ''}"
                f"{event_name} 对接安排：共 {len(rows)} 场"
            )
            ordered = sorted(
                rows, key=lambda x: (x["city"], x["county"], x["enterprise_name"], x["demand_id"])
            )
            _write_table(ws, visit_cols, ordered, title=title, numbered=True)

    host_keys = [
        "demand_id",
        "demand_title",
        "kind",
        "candidate_name",
        "candidate_title",
        "affiliation",
        "academician",
        "score",
        "rank",
        "reasons",
    ]
    host_cols = _pick(data.columns, host_keys + (list(_CANDIDATE_CONTACTS) if contacts else []))
    by_ent: dict[int, list[dict[str, Any]]] = {}
    for row in data.rows:
        by_ent.setdefault(row["enterprise_id"], []).append(row)
    for _, rows in sorted(by_ent.items(), key=lambda kv: (kv[1][0]["enterprise_name"], kv[0])):
        first = rows[0]
        ws = wb.create_sheet(sheet_title(f"企业-{first['enterprise_name']}", used))
        where = "".join(x for x in (first["city"], first["county"], first["address"]) if x)
        visitors = len({(r["kind"], r["candidate_id"]) for r in rows})
        title = (
            f"{first['enterprise_name']}{f'（{where}）' if where else ''}{event_name}："
            f"{len({r['demand_id'] for r in rows})} 项需求，{visitors} 位专家/学会，共 {len(rows)} 次对接"
        )
        _write_table(ws, host_cols, rows, title=title, numbered=True)
    return wb


def write_xlsx(data: ExportData, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    build_workbook(data).save(path)
    return path


def write_csv(data: ExportData, path: Path) -> Path:
    """One row per pairing, UTF-8 with BOM so that Excel shows the Chinese."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = data.columns
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["活动编号", "清单版本", *(h for _, h, _ in cols)])
        for row in data.rows:
            writer.writerow(
                [
                    safe_cell(data.event.get("id", "")),
                    safe_cell(data.match_list["version"]),
                    *(_flat_value(k, row.get(k, "")) for k, _, _ in cols),
                ]
            )
    return path


def to_json(data: ExportData) -> dict[str, Any]:
    """The JSON document; every string goes through :func:`safe_cell` like the other exports."""
    keys = [k for k, _, _ in data.columns]
    return safe_tree({
        "event": data.event,
        "match_list": data.match_list,
        "include_contacts": data.include_contacts,
        "items": [
            {"enterprise_id": r["enterprise_id"], **{k: r.get(k) for k in keys}} for r in data.rows
        ],
        "unmatched_demands": data.unmatched,
    })


def write_json(data: ExportData, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(data), ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def export_match_list(
    session: Session,
    match_list: MatchList | int,
    out_dir: Path,
    formats: Sequence[str] = ("xlsx",),
    *,
    include_contacts: bool = False,
) -> list[Path]:
    """Write ``event<ID>_v<VERSION>.<ext>`` for each format; returns the paths.

    ``include_contacts`` adds personal contact data: staff-only output.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"未知的导出格式 {', '.join(unknown)}；可选：{', '.join(FORMATS)}")
    data = collect(session, match_list, include_contacts=include_contacts)
    stem = f"event{data.event.get('id', 'none')}_v{data.match_list['version']}"
    if include_contacts:
        stem += "_staff"
    writers = {"xlsx": write_xlsx, "csv": write_csv, "json": write_json}
    return [writers[f](data, Path(out_dir) / f"{stem}.{f}") for f in dict.fromkeys(formats)]

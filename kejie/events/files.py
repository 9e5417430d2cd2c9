"""Writers of a collected plan (:class:`~kejie.events.export_data.ExportData`):
the XLSX workbook, CSV and JSON. Every cell goes through
:func:`ingest.sanitize.safe_cell` (no live formulas, no XML-illegal characters)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.sanitize import put_cell, safe_cell, safe_tree
from kejie.events.export_data import (
    CANDIDATE_CONTACTS,
    ENTERPRISE_CONTACTS,
    KIND_LABEL,
    STATUS_LABEL,
    ExportData,
)
from kejie.events.sheets import (
    cell_value,
    print_setup,
    sheet_title,
    visit_sort_key,
    write_schedule,
    write_table,
)


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
        ("日期", ev.get("dates_cn", "")),
        ("地区", "、".join(ev.get("regions", [])) or "全部"),
        ("清单版本", ml["version"]),
        ("状态", STATUS_LABEL.get(ml["status"], ml["status"])),
        ("生成时间", ml.get("created_at_cn", ml["created_at"])),
        ("对接总数", len(data.rows)),
        ("涉及需求", len({r["demand_id"] for r in data.rows})),
        ("参与专家", sum(1 for k, _ in loads if k == "expert")),
        ("参与学会", sum(1 for k, _ in loads if k == "society")),
        ("匹配度合计", ml["total_score"]),
        ("最低匹配分", ml.get("min_score", "")),
        ("说明", ml["message"]),
        ("已排入日程", sum(1 for r in data.rows if r.get("visit_day"))),
        ("未能排入日程", sum(1 for r in data.rows if not r.get("visit_day"))),
        ("专家有意向", sum(1 for r in data.rows if r.get("interest"))),
    ]
    write_table(ws, [("k", "项目", 14), ("v", "内容", 90)], [{"k": k, "v": v} for k, v in facts])
    r = ws.max_row + 2
    put_cell(ws, r, 1, "专家/学会负荷").font = Font(bold=True)
    load_cols = [
        ("专家/学会", 16),
        ("类型", 8),
        ("工作单位", 24),
        ("场次", 6),
        ("平均匹配度", 10),
        ("最低匹配度", 10),
    ]
    for c, (h, _) in enumerate(load_cols, 1):
        put_cell(ws, r + 1, c, h).font = Font(bold=True)
    for n, ((kind, _), rows) in enumerate(
        sorted(loads.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[1][0]["candidate_name"])), 1
    ):
        scores = [x["score"] for x in rows]
        values = [
            rows[0]["candidate_name"],
            KIND_LABEL[kind],
            rows[0]["affiliation"],
            len(rows),
            sum(scores) / len(scores),
            min(scores),
        ]
        for c, v in enumerate(values, 1):
            cell = put_cell(ws, r + 1 + n, c, v)
            if c >= 5:
                cell.number_format = "0.000"
    if data.unmatched:
        r = ws.max_row + 2
        put_cell(ws, r, 1, "未安排的需求").font = Font(bold=True)
        for n, u in enumerate(data.unmatched, 1):
            put_cell(ws, r + n, 1, f"#{u['demand_id']}")
            cell = put_cell(ws, r + n, 2, f"{u['demand_title']}（{u['enterprise_name']}，{u['city']}）")
            cell.alignment = Alignment(wrap_text=True)

    if data.declined:
        r = ws.max_row + 2
        put_cell(ws, r, 1, "专家婉拒的需求（不安排）").font = Font(bold=True)
        for n, x in enumerate(data.declined, 1):
            put_cell(ws, r + n, 1, x["candidate_name"])
            put_cell(ws, r + n, 2, f"#{x['demand_id']} {x['demand_title']}（{x['enterprise_name']}）")
    print_setup(ws, 1)

    flat = wb.create_sheet(sheet_title("对接总表", used))
    write_table(flat, data.columns, data.rows)
    print_setup(flat, 1)
    write_schedule(wb, data, used)

    contacts = data.include_contacts
    event_name = f" · {ev['name']}" if ev.get("name") else ""
    visit_keys = [
        "visit_when",
        "enterprise_name",
        "demand_id",
        "demand_title",
        "city",
        "county",
        "address",
        "score",
        "interest",
        "reasons",
        "schedule_note",
    ]
    visit_cols = _pick(data.columns, visit_keys + (list(ENTERPRISE_CONTACTS) if contacts else []))
    for kind in ("expert", "society"):
        people = sorted(
            ((cid, rows) for (k, cid), rows in loads.items() if k == kind),
            key=lambda x: (x[1][0]["candidate_name"], x[0]),
        )
        for _, rows in people:
            first = rows[0]
            label = KIND_LABEL[kind]
            ws = wb.create_sheet(sheet_title(f"{label}-{first['candidate_name']}", used))
            who = "，".join(x for x in (first["affiliation"], first["candidate_title"]) if x)
            title = (
                f"{label} {first['candidate_name']}{f'（{who}）' if who else ''}"
                f"{event_name} 对接安排：共 {len(rows)} 场"
            )
            ordered = sorted(rows, key=lambda x: visit_sort_key(x, data.slots))
            write_table(ws, visit_cols, ordered, title=title, numbered=True)
            print_setup(ws, 2)

    host_keys = [
        "visit_when",
        "demand_id",
        "demand_title",
        "kind",
        "candidate_name",
        "candidate_title",
        "affiliation",
        "academician",
        "score",
        "rank",
        "interest",
        "reasons",
    ]
    host_cols = _pick(data.columns, host_keys + (list(CANDIDATE_CONTACTS) if contacts else []))
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
        rows = sorted(rows, key=lambda x: visit_sort_key(x, data.slots))
        write_table(ws, host_cols, rows, title=title, numbered=True)
        print_setup(ws, 2)
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
                    *(cell_value(k, row.get(k, ""), "；") for k, _, _ in cols),
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

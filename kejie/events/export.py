"""Exports of a stored plan: an XLSX workbook for people, CSV and JSON for tools.

The workbook has a summary sheet, a flat sheet of every pairing, one sheet per
expert and per society (their visit schedule) and one per enterprise (who comes
to see it), all with Chinese headers, wrapped reasons and frozen headers.

Contact data (the demand's contact person, phones, fax, e-mail and the
experts' own phone and e-mail) is personal: it is written only when the caller
passes ``include_contacts=True``, which only staff-facing code may do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kejie.events.export_data import INTEREST_LABEL, ExportData
from kejie.events.files import write_csv, write_json, write_xlsx
from kejie.events.sheets import cn_date, cn_when
from models import Demand, Enterprise, Event, Expert, MatchList, Society

FORMATS = ("xlsx", "csv", "json")


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
    demand_ids = sorted(
        {it.demand_id for it in items}
        | set(unmatched_ids)
        | {int(x["demand_id"]) for x in (ml.params or {}).get("declined", [])}
    )
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
    declined_raw = list((ml.params or {}).get("declined", []))
    expert_ids = sorted(
        {it.expert_id for it in items if it.expert_id is not None}
        | {int(x["expert_id"]) for x in declined_raw}
    )
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
            "visit_day": _iso(it.visit_date),
            "visit_day_cn": cn_date(it.visit_date),
            "slot": it.slot or "",
            "visit_when": cn_when(it.visit_date, it.slot),
            "visit_order": it.visit_order,
            "schedule_note": it.schedule_note or "",
            "interest": INTEREST_LABEL.get(it.interest or "", ""),
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

    declined = []
    for x in declined_raw:
        d, e = demands.get(int(x["demand_id"])), experts.get(int(x["expert_id"]))
        if d is not None and e is not None:
            ent = enterprises[d.enterprise_id]
            declined.append(
                {"demand_id": d.id, "demand_title": d.title, "enterprise_name": ent.name, "candidate_name": e.name}
            )

    event_info: dict[str, Any] = {}
    slots = ["上午", "下午"]
    if event is not None:
        slots = [s for s in (event.day_slots or slots) if s]
        event_info = {
            "id": event.id,
            "name": event.name,
            "event_type": event.event_type,
            "starts_on": _iso(event.starts_on),
            "ends_on": _iso(event.ends_on),
            "regions": list(event.regions or []),
            "dates_cn": " 至 ".join(
                dict.fromkeys(cn_date(x) for x in (event.starts_on, event.ends_on) if x is not None)
            ),
        }
    ml_info = {
        "id": ml.id,
        "version": ml.version,
        "status": ml.status,
        "total_score": round(float(ml.total_score), 4),
        "message": ml.message,
        "input_hash": ml.input_hash,
        "created_at": _iso(ml.created_at),
        "created_at_cn": cn_date(ml.created_at),
        "min_score": (ml.params or {}).get("min_score"),
        "load_penalty": (ml.params or {}).get("load_penalty"),
    }
    return ExportData(event_info, ml_info, rows, unmatched, include_contacts, slots, declined)


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

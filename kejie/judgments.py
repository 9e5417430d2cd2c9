"""A deployment's own judged pairs, from what staff recorded, as files that
``kejie fusion fit`` re-fits the expert model on.

Grades from outcomes (the latest outcome of a pair counts):

=====================  =====
签约 signed, 走访 visited  2 (covers the problem: it led to a visit or a deal)
联系 contacted            1
不合适 not a fit          0
=====================  =====

An expert's own "declined" feedback on a recommended demand counts as 0 and
"interested" as 1 where no outcome was recorded for the pair. Only demands
with at least one judged pair are written. The files hold no contact data: a
demand's title and its technical description (phones and e-mails inside them
masked), an expert's profile fields.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kejie.rules import redact_contacts
from matcher.profiles import demand_query_text
from models import Demand, Expert, ExpertFeedback, Outcome, OutcomeStatus

OUTCOME_GRADES = {
    OutcomeStatus.signed: 2,
    OutcomeStatus.visited: 2,
    OutcomeStatus.contacted: 1,
    OutcomeStatus.not_a_fit: 0,
}
FEEDBACK_GRADES = {"interested": 1, "declined": 0}
EXPERT_COLUMNS = ("专家编号", "姓名", "职称", "工作单位", "学科", "研究方向", "主要成果", "关键词")


@dataclass
class ExportedJudgments:
    demands: int
    experts: int
    pairs: int
    queries: Path
    candidates: Path
    qrels: Path


def expert_grades(session: Session) -> dict[tuple[int, int], int]:
    """(demand id, expert id) -> grade, from outcomes (latest first) then feedback."""
    grades: dict[tuple[int, int], int] = {}
    rows = session.execute(
        select(Outcome.demand_id, Outcome.expert_id, Outcome.status)
        .where(Outcome.expert_id.is_not(None))
        .order_by(Outcome.recorded_at, Outcome.id))
    for demand_id, expert_id, status in rows:
        grades[(demand_id, expert_id)] = OUTCOME_GRADES[OutcomeStatus(status)]  # later rows win
    for fb in session.scalars(select(ExpertFeedback)):
        grade = FEEDBACK_GRADES.get(fb.choice)
        if grade is not None:
            grades.setdefault((fb.demand_id, fb.expert_id), grade)
    return grades


def _joined(values: object) -> str:
    return "；".join(str(v) for v in (values or []) if str(v).strip())  # type: ignore[attr-defined]


def export_expert_judgments(session: Session, out_dir: Path) -> ExportedJudgments:
    """Write ``queries.jsonl``, ``experts.csv`` and ``qrels.tsv`` under ``out_dir``."""
    grades = expert_grades(session)
    demand_ids = sorted({d for d, _ in grades})
    out_dir.mkdir(parents=True, exist_ok=True)
    queries = out_dir / "queries.jsonl"
    candidates = out_dir / "experts.csv"
    qrels = out_dir / "qrels.tsv"
    demands = session.scalars(select(Demand).options(selectinload(Demand.enterprise))
                              .where(Demand.id.in_(demand_ids)).order_by(Demand.id)).all()
    with queries.open("w", encoding="utf-8") as fh:
        for d in demands:
            ent = d.enterprise
            content = demand_query_text("", d.description or "", ent.main_business if ent else "",
                                        d.keywords or [])
            # contacts inside free text are masked: fitting needs none of them
            fh.write(json.dumps({"id": str(d.id), "title": redact_contacts(d.title or ""),
                                 "content": redact_contacts(content)}, ensure_ascii=False) + "\n")
    # every expert is a candidate: the model learns to rank the whole pool
    experts = session.scalars(select(Expert).order_by(Expert.id)).all()
    with candidates.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(EXPERT_COLUMNS)
        for e in experts:
            w.writerow([str(e.id), e.name, e.title or "", e.affiliation or "", _joined(e.disciplines),
                        _joined(e.research_areas), _joined(e.achievements), _joined(e.keywords)])
    kept = {d.id for d in demands}
    pairs = sorted((d, e, g) for (d, e), g in grades.items() if d in kept)
    with qrels.open("w", encoding="utf-8") as fh:
        for d, e, g in pairs:
            fh.write(f"{d}\t{e}\t{g}\n")
    return ExportedJudgments(len(demands), len(experts), len(pairs), queries, candidates, qrels)

"""A deployment's recorded outcomes become judged pairs that kejie fusion fit reads."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from kejie.judgments import export_expert_judgments
from kejie.records import read_candidates, read_qrels, read_queries
from models import ExpertFeedback, Outcome, OutcomeStatus
from tests.factories import make_demand, make_enterprise, make_expert


def test_outcomes_and_feedback_become_graded_pairs_without_contacts(session: Session, tmp_path: Path) -> None:
    ent = make_enterprise(session, main_business="锂电池材料")
    d1 = make_demand(session, ent, title="正极材料包覆", description="联系王工13800000000，需要高镍正极包覆改性")
    d2 = make_demand(session, ent, title="电池热管理")
    make_demand(session, ent, title="没有任何评判的需求")
    a, b, c = make_expert(session, name="甲"), make_expert(session, name="乙"), make_expert(session, name="丙")
    session.add_all([
        Outcome(demand_id=d1.id, expert_id=a.id, status=OutcomeStatus.contacted),
        Outcome(demand_id=d1.id, expert_id=a.id, status=OutcomeStatus.signed),  # the later one counts
        Outcome(demand_id=d1.id, expert_id=b.id, status=OutcomeStatus.not_a_fit),
        Outcome(demand_id=d2.id, expert_id=c.id, status=OutcomeStatus.contacted),
        ExpertFeedback(expert_id=b.id, demand_id=d2.id, choice="declined"),
        ExpertFeedback(expert_id=a.id, demand_id=d1.id, choice="declined"),  # an outcome outranks it
    ])
    session.commit()
    done = export_expert_judgments(session, tmp_path)
    assert (done.demands, done.experts, done.pairs) == (2, 3, 4)
    rels = read_qrels(done.qrels)
    assert rels == {str(d1.id): {str(a.id): 2.0, str(b.id): 0.0},
                    str(d2.id): {str(c.id): 1.0, str(b.id): 0.0}}
    queries = read_queries(done.queries).queries
    assert [q for q, _ in queries] == [str(d1.id), str(d2.id)]
    assert queries[0][1][0] == "正极材料包覆"
    cands = read_candidates(done.candidates, "expert").candidates
    assert sorted(x.id for x in cands) == sorted(str(e.id) for e in (a, b, c))
    # free text keeps what the demand says; the export carries no contact fields of its own
    lines = [json.loads(line) for line in done.queries.read_text(encoding="utf-8").splitlines()]
    assert set(lines[0]) == {"id", "title", "content"}
    text = done.queries.read_text(encoding="utf-8")
    assert "rd@example.com" not in text and "13800000000" not in text and "高镍正极包覆改性" in text

"""plan_event / plan_upcoming against a real database (SQLite and PostgreSQL)
with a deterministic score table instead of the encoder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kejie.events import PlanOptions, plan_event, plan_event_outcome, plan_upcoming
from kejie.rules import affiliation_conflict, normalise_org
from matcher.errors import EventNotFound, InfeasiblePlan, ScorerError
from models import (
    Conflict,
    DemandStatus,
    Event,
    EventInvitee,
    EventPairRule,
    MatchItem,
    MatchList,
)
from tests.factories import make_demand, make_enterprise, make_expert, make_society

TODAY = date(2025, 5, 1)


class TableScorer:
    """score = table[(demand_id, kind, candidate_id)], else ``default``."""

    def __init__(self, default: float = 0.5) -> None:
        self.table: dict[tuple[int, str, int], float] = {}
        self.default = default
        self.calls: list[tuple[list[int], str, list[int]]] = []
        self.fail_for_demand: int | None = None

    def set(self, demand_id: int, cand_id: int, score: float, kind: str = "expert") -> None:
        self.table[(demand_id, kind, cand_id)] = score

    def __call__(
        self, session: Session, demand_ids: list[int], kind: str, cand_ids: list[int]
    ) -> tuple[np.ndarray, Callable[[int, int], list[str]]]:
        self.calls.append((list(demand_ids), kind, list(cand_ids)))
        if self.fail_for_demand in demand_ids:
            raise RuntimeError("encoder exploded")
        s = np.array(
            [[self.table.get((d, kind, c), self.default) for c in cand_ids] for d in demand_ids]
        )

        def reasons(i: int, j: int) -> list[str]:
            return [f"研究方向与需求#{demand_ids[i]}相符", f"{kind}#{cand_ids[j]} 有相关成果"]

        return s, reasons


def make_event(session: Session, **kw: object) -> Event:
    values: dict[str, object] = {
        "name": "院士八闽行·福州站",
        "starts_on": TODAY + timedelta(days=3),
        "regions": [],
        "invite_all": True,
        "demand_statuses": ["open"],
        "min_experts_per_demand": 0,
        "max_experts_per_demand": 2,
    }
    values.update(kw)
    ev = Event(**values)
    session.add(ev)
    session.flush()
    return ev


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def pairs(ml: MatchList) -> set[tuple[int, int | None]]:
    return {(it.demand_id, it.expert_id) for it in ml.items}


# ----------------------------------------------------------------------------
# affiliation check (pure)


@pytest.mark.parametrize(
    ("affiliation", "enterprise", "expected"),
    [
        ("福建某某集团有限公司", "福建某某集团厦门分公司", True),
        ("福建某某集团厦门分公司", "福建某某集团有限公司", True),
        ("宁德时代新能源科技股份有限公司研究院", "宁德时代新能源科技股份有限公司", True),
        ("福州大学；福建某某集团（兼）", "福建某某集团股份有限公司", True),
        ("ＡＢＣ 新材料（福建）有限公司", "abc新材料福建有限公司", True),
        ("福州大学", "福州示例科技有限公司", False),
        ("福建师范大学", "华南师范大学科技有限公司", False),
        ("集团", "福建某某集团有限公司", False),  # too short to say anything
        ("", "福建某某集团有限公司", False),
    ],
)
def test_affiliation_conflict(affiliation: str, enterprise: str, expected: bool) -> None:
    assert affiliation_conflict(affiliation, enterprise) is expected


def test_normalise_org_drops_legal_forms_and_punctuation() -> None:
    assert normalise_org("福建某某集团有限公司") == "福建某某集团"
    assert normalise_org(" 某某（福建）科技股份有限公司 ") == "某某福建科技"


# ----------------------------------------------------------------------------
# scope


def test_scope_by_region_industry_and_status(session: Session) -> None:
    fz = make_enterprise(session, city="福州市", industry="新材料")
    xm = make_enterprise(session, city="厦门市", industry="新材料")
    qz = make_enterprise(session, city="泉州市", industry="新材料")
    fz_bio = make_enterprise(session, city="福州市", industry="生物医药")
    keep1 = make_demand(session, fz)
    keep2 = make_demand(session, xm)
    make_demand(session, qz)  # wrong region
    make_demand(session, fz_bio)  # wrong industry
    make_demand(session, fz, status=DemandStatus.solved)  # wrong status
    # demand industry wins over the enterprise's
    keep3 = make_demand(session, fz_bio, industry="新材料")
    make_expert(session)
    ev = make_event(session, regions=["福州市", "厦门"], demand_industries=["新材料"])
    session.commit()
    scorer = TableScorer(0.6)
    ml = plan_event(session, ev.id, scorer)
    assert ml.params["demand_ids"] == [keep1.id, keep2.id, keep3.id]
    assert scorer.calls[0][0] == [keep1.id, keep2.id, keep3.id]
    assert {it.demand_id for it in ml.items} <= {keep1.id, keep2.id, keep3.id}


def test_empty_filters_mean_everything(session: Session) -> None:
    a = make_demand(session, make_enterprise(session, city="南平市"))
    b = make_demand(session, make_enterprise(session, city="龙岩市"), status=DemandStatus.matched)
    make_expert(session)
    ev = make_event(session, regions=[], demand_industries=[], demand_statuses=[])
    session.commit()
    ml = plan_event(session, ev.id, TableScorer())
    assert ml.params["demand_ids"] == [a.id, b.id]


def test_candidates_invitees_capacity_precedence_and_availability(session: Session) -> None:
    d = [make_demand(session) for _ in range(6)]
    override = make_expert(session, capacity=1)
    event_default = make_expert(session, capacity=1)
    unavailable = make_expert(session, available=False)
    make_expert(session)  # not invited
    ev = make_event(session, invite_all=False, default_capacity=2, max_experts_per_demand=3)
    session.add_all(
        [
            EventInvitee(event_id=ev.id, expert_id=override.id, capacity=4),
            EventInvitee(event_id=ev.id, expert_id=event_default.id),
            EventInvitee(event_id=ev.id, expert_id=unavailable.id, capacity=5),
        ]
    )
    session.commit()
    ml = plan_event(session, ev.id, TableScorer(0.9), options=PlanOptions(load_penalty=0.0))
    assert ml.params["expert_ids"] == [override.id, event_default.id]
    assert ml.params["expert_capacity"] == {str(override.id): 4, str(event_default.id): 2}
    assert ml.params["unavailable_expert_ids"] == [unavailable.id]
    load: dict[int | None, int] = {}
    for it in ml.items:
        load[it.expert_id] = load.get(it.expert_id, 0) + 1
    assert load == {override.id: 4, event_default.id: 2}
    assert {it.demand_id for it in ml.items} <= {x.id for x in d}


def test_expert_capacity_used_without_override_or_default(session: Session) -> None:
    for _ in range(5):
        make_demand(session)
    e = make_expert(session, capacity=2)
    ev = make_event(session, max_experts_per_demand=1)
    session.commit()
    ml = plan_event(session, ev.id, TableScorer(0.9))
    assert len(ml.items) == 2 and {it.expert_id for it in ml.items} == {e.id}


# ----------------------------------------------------------------------------
# conflicts and rules


def test_conflict_row_excludes_the_best_pair(session: Session) -> None:
    ent = make_enterprise(session)
    d = make_demand(session, ent)
    star = make_expert(session)
    other = make_expert(session)
    session.add(Conflict(expert_id=star.id, enterprise_id=ent.id, reason="曾任该企业董事"))
    ev = make_event(session, max_experts_per_demand=1)
    session.commit()
    scorer = TableScorer(0.4)
    scorer.set(d.id, star.id, 0.99)
    ml = plan_event(session, ev.id, scorer)
    assert pairs(ml) == {(d.id, other.id)}
    assert ml.params["excluded_conflicts"] == [
        {"demand_id": d.id, "expert_id": star.id, "reason": "登记的利益冲突：曾任该企业董事"}
    ]


def test_affiliation_with_parent_group_excludes_the_pair(session: Session) -> None:
    branch = make_enterprise(session, name="福建某某集团厦门分公司", city="厦门市")
    unrelated = make_enterprise(session, name="漳州蓝海食品有限公司", city="漳州市")
    d1 = make_demand(session, branch)
    d2 = make_demand(session, unrelated)
    insider = make_expert(session, affiliation="福建某某集团有限公司")
    outsider = make_expert(session, affiliation="厦门大学")
    ev = make_event(session, max_experts_per_demand=2)
    session.commit()
    ml = plan_event(session, ev.id, TableScorer(0.8))
    assert (d1.id, insider.id) not in pairs(ml)
    assert (d1.id, outsider.id) in pairs(ml)
    assert (d2.id, insider.id) in pairs(ml)
    reasons = {c["reason"] for c in ml.params["excluded_conflicts"]}
    assert reasons == {"专家单位“福建某某集团有限公司”与企业“福建某某集团厦门分公司”存在隶属关系"}


def test_must_and_never_rules(session: Session) -> None:
    d = make_demand(session)
    weak = make_expert(session)
    strong = make_expert(session)
    mid = make_expert(session)
    ev = make_event(session, max_experts_per_demand=2)
    session.add_all(
        [
            EventPairRule(event_id=ev.id, rule="must", demand_id=d.id, expert_id=weak.id),
            EventPairRule(event_id=ev.id, rule="never", demand_id=d.id, expert_id=strong.id),
        ]
    )
    session.commit()
    scorer = TableScorer(0.5)
    scorer.set(d.id, weak.id, 0.1)  # below the threshold, still forced
    scorer.set(d.id, strong.id, 0.99)
    scorer.set(d.id, mid.id, 0.7)
    ml = plan_event(session, ev.id, scorer)
    assert pairs(ml) == {(d.id, weak.id), (d.id, mid.id)}
    forced = next(it for it in ml.items if it.expert_id == weak.id)
    assert forced.reasons[0] == "活动规则：指定必须安排"
    ranks = {it.expert_id: it.rank for it in ml.items}
    assert ranks == {mid.id: 1, weak.id: 2}


def test_must_rule_for_uninvited_expert_is_infeasible_and_named(session: Session) -> None:
    d = make_demand(session)
    invited = make_expert(session)
    stranger = make_expert(session, name="局外人")
    ev = make_event(session, invite_all=False)
    session.add(EventInvitee(event_id=ev.id, expert_id=invited.id))
    session.add(EventPairRule(event_id=ev.id, rule="must", demand_id=d.id, expert_id=stranger.id))
    session.commit()
    with pytest.raises(InfeasiblePlan) as err:
        plan_event(session, ev.id, TableScorer())
    assert f"专家#{stranger.id} 不在本活动候选名单中" in str(err.value)
    assert "邀请其参加本活动" in str(err.value)


def test_must_rule_against_conflict(session: Session) -> None:
    ent = make_enterprise(session, name="福建某某集团有限公司")
    d = make_demand(session, ent)
    e = make_expert(session, name="张三", affiliation="福建某某集团研究院")
    ev = make_event(session)
    session.add(EventPairRule(event_id=ev.id, rule="must", demand_id=d.id, expert_id=e.id))
    session.commit()
    with pytest.raises(InfeasiblePlan) as err:
        plan_event(session, ev.id, TableScorer())
    msg = str(err.value)
    assert f"需求#{d.id}" in msg and "张三" in msg and "利益冲突" in msg and "隶属关系" in msg


# ----------------------------------------------------------------------------
# societies


def test_societies_are_planned_alongside_experts(session: Session) -> None:
    d1, d2 = make_demand(session), make_demand(session)
    e = make_expert(session)
    s1 = make_society(session, capacity=1)
    s2 = make_society(session, capacity=5)
    ev = make_event(session, include_societies=True, max_experts_per_demand=1)
    session.commit()
    scorer = TableScorer(0.6)
    scorer.set(d1.id, s1.id, 0.9, kind="society")
    scorer.set(d2.id, s1.id, 0.9, kind="society")
    ml = plan_event(session, ev.id, scorer)
    soc = [(it.demand_id, it.society_id) for it in ml.items if it.society_id is not None]
    assert len(soc) == 2  # one society per demand at most
    assert sorted(s for _, s in soc) == sorted([s1.id, s2.id])  # s1 only has room for one
    assert all(it.expert_id in (e.id, None) for it in ml.items)
    per_demand = [it for it in ml.items if it.demand_id == d1.id]
    assert sorted(it.rank for it in per_demand) == [1, 2]


# ----------------------------------------------------------------------------
# versioning and idempotency


def _small_event(session: Session) -> tuple[Event, list[int], list[int]]:
    ds = [make_demand(session) for _ in range(4)]
    es = [make_expert(session) for _ in range(3)]
    ev = make_event(session, max_experts_per_demand=2)
    session.commit()
    return ev, [d.id for d in ds], [e.id for e in es]


def test_rerun_with_same_inputs_is_idempotent(session: Session) -> None:
    ev, _, _ = _small_event(session)
    scorer = TableScorer(0.7)
    first = plan_event_outcome(session, ev.id, scorer)
    assert first.created and first.match_list.version == 1
    n_lists, n_items = count(session, MatchList), count(session, MatchItem)
    snapshot = [
        (it.demand_id, it.expert_id, it.score, it.rank, it.reasons) for it in first.match_list.items
    ]
    session.expunge_all()
    again = plan_event_outcome(session, ev.id, scorer)
    assert not again.created
    assert again.match_list.id == first.match_list.id and again.match_list.version == 1
    assert [
        (it.demand_id, it.expert_id, it.score, it.rank, it.reasons) for it in again.match_list.items
    ] == snapshot
    assert (count(session, MatchList), count(session, MatchItem)) == (n_lists, n_items)


def test_tiny_score_noise_does_not_create_a_version(session: Session) -> None:
    ev, ds, es = _small_event(session)
    scorer = TableScorer(0.7)
    plan_event(session, ev.id, scorer)
    scorer.default = 0.7 + 1e-7
    assert plan_event(session, ev.id, scorer).version == 1


@pytest.mark.parametrize(
    "change", ["score", "capacity", "demand_text", "new_expert", "rule", "option"]
)
def test_changed_input_creates_version_2(session: Session, change: str) -> None:
    ev, ds, es = _small_event(session)
    scorer = TableScorer(0.7)
    v1 = plan_event(session, ev.id, scorer)
    options = PlanOptions()
    if change == "score":
        scorer.set(ds[0], es[0], 0.95)
    elif change == "capacity":
        session.add(EventInvitee(event_id=ev.id, expert_id=es[1], capacity=1))
    elif change == "demand_text":
        from models import Demand

        session.get(Demand, ds[2]).title = "海上风电叶片防腐涂层"  # type: ignore[union-attr]
    elif change == "new_expert":
        make_expert(session)
    elif change == "rule":
        session.add(EventPairRule(event_id=ev.id, rule="never", demand_id=ds[0], expert_id=es[0]))
    elif change == "option":
        options = PlanOptions(min_score=0.6)
    session.commit()
    v2 = plan_event(session, ev.id, scorer, options=options)
    assert v2.version == 2 and v2.id != v1.id
    assert v2.input_hash != v1.input_hash
    assert count(session, MatchList) == 2
    assert plan_event(session, ev.id, scorer, options=options).id == v2.id  # and stable again
    assert count(session, MatchList) == 2


def test_infeasible_is_recorded_once_then_fixed(session: Session) -> None:
    ent = make_enterprise(session)
    d_ok = make_demand(session, ent)
    d_orphan = make_demand(session, ent, title="无人能解的需求")
    e = make_expert(session)
    ev = make_event(session, min_experts_per_demand=1)
    session.commit()
    scorer = TableScorer(0.8)
    scorer.set(d_orphan.id, e.id, 0.05)
    with pytest.raises(InfeasiblePlan) as err:
        plan_event(session, ev.id, scorer)
    assert f"需求#{d_orphan.id}「无人能解的需求」" in str(err.value)
    assert f"需求#{d_ok.id}" not in str(err.value)
    stored = session.scalars(select(MatchList)).one()
    assert stored.status == "infeasible" and stored.message == str(err.value) and stored.items == []
    assert err.value.version == 1 and err.value.match_list_id == stored.id

    with pytest.raises(InfeasiblePlan) as again:
        plan_event(session, ev.id, scorer)
    assert str(again.value) == str(err.value) and again.value.version == 1
    assert count(session, MatchList) == 1

    ev.min_experts_per_demand = 0
    session.commit()
    fixed = plan_event(session, ev.id, scorer)
    assert fixed.status == "planned" and fixed.version == 2
    assert pairs(fixed) == {(d_ok.id, e.id)}
    assert fixed.params["unmatched_demand_ids"] == [d_orphan.id]


def test_capacity_shortfall_message(session: Session) -> None:
    for _ in range(5):
        make_demand(session)
    make_expert(session, capacity=1)
    make_expert(session, capacity=1)
    ev = make_event(session, min_experts_per_demand=1)
    session.commit()
    with pytest.raises(InfeasiblePlan, match="容量缺口 3 人次"):
        plan_event(session, ev.id, TableScorer(0.9))


def test_missing_event_and_bad_scorer(session: Session) -> None:
    with pytest.raises(EventNotFound):
        plan_event(session, 999_999, TableScorer())
    make_demand(session)
    make_expert(session)
    ev = make_event(session)
    session.commit()

    def wrong_shape(session: Session, d: list[int], kind: str, c: list[int]):  # type: ignore[no-untyped-def]
        return np.zeros((len(d) + 1, len(c))), lambda i, j: []

    with pytest.raises(ScorerError, match="形状"):
        plan_event(session, ev.id, wrong_shape)
    assert count(session, MatchList) == 0


def test_stored_plan_fields(session: Session) -> None:
    ev, ds, es = _small_event(session)
    scorer = TableScorer(0.6)
    scorer.set(ds[0], es[2], 0.91234567)
    ml = plan_event(session, ev.id, scorer)
    item = next(it for it in ml.items if (it.demand_id, it.expert_id) == (ds[0], es[2]))
    assert item.score == pytest.approx(0.9123) and item.rank == 1
    assert item.reasons == [f"研究方向与需求#{ds[0]}相符", f"expert#{es[2]} 有相关成果"]
    assert ml.total_score == pytest.approx(sum(it.score for it in ml.items), abs=1e-3)
    assert ml.status == "planned" and len(ml.input_hash) == 64
    assert "安排对接" in ml.message
    for d in ds:
        ranks = sorted(it.rank for it in ml.items if it.demand_id == d)
        assert ranks == list(range(1, len(ranks) + 1))


# ----------------------------------------------------------------------------
# nightly


def test_nightly_continues_past_failing_events(session: Session) -> None:
    fz = make_enterprise(session, city="福州市")
    xm = make_enterprise(session, city="厦门市")
    qz = make_enterprise(session, city="泉州市")
    d_fz = make_demand(session, fz)
    make_demand(session, xm)
    d_qz = make_demand(session, qz)
    make_expert(session, capacity=1)
    crash = make_event(
        session, name="泉州站", regions=["泉州市"], starts_on=TODAY + timedelta(days=1)
    )
    infeasible = make_event(
        session,
        name="厦门站",
        regions=["厦门市"],
        min_experts_per_demand=3,
        starts_on=TODAY + timedelta(days=2),
    )
    good = make_event(
        session, name="福州站", regions=["福州市"], starts_on=TODAY + timedelta(days=5)
    )
    later = make_event(
        session, name="远期活动", regions=["福州市"], starts_on=TODAY + timedelta(days=30)
    )
    past = make_event(
        session, name="已结束", regions=["福州市"], starts_on=TODAY - timedelta(days=1)
    )
    session.commit()
    scorer = TableScorer(0.8)
    scorer.fail_for_demand = d_qz.id
    seen: list[str] = []
    runs = plan_upcoming(session, 14, scorer, today=TODAY, on_event=lambda r: seen.append(r.name))
    assert [r.event_id for r in runs] == [crash.id, infeasible.id, good.id]
    assert seen == ["泉州站", "厦门站", "福州站"]
    by_id = {r.event_id: r for r in runs}
    assert not by_id[crash.id].ok and by_id[crash.id].status == "failed"
    assert "encoder exploded" in by_id[crash.id].message
    assert not by_id[infeasible.id].ok and by_id[infeasible.id].status == "infeasible"
    assert "无法排定" in by_id[infeasible.id].message
    assert by_id[good.id].ok and by_id[good.id].created and by_id[good.id].version == 1
    good_list = session.scalars(select(MatchList).where(MatchList.event_id == good.id)).one()
    assert {it.demand_id for it in good_list.items} == {d_fz.id}
    for ev in (later, past, crash):
        assert session.scalars(select(MatchList).where(MatchList.event_id == ev.id)).first() is None

    # a second night with nothing changed writes nothing new
    before = count(session, MatchList), count(session, MatchItem)
    runs2 = plan_upcoming(session, 14, scorer, today=TODAY)
    assert [r.ok for r in runs2] == [False, False, True]
    assert not runs2[2].created
    assert (count(session, MatchList), count(session, MatchItem)) == before


# ----------------------------------------------------------------------------
# the batch commands (CLI) on the same database


def _cli(session: Session, monkeypatch: pytest.MonkeyPatch, scorer: TableScorer, args: list[str]):  # type: ignore[no-untyped-def]
    from contextlib import contextmanager

    from click.testing import CliRunner

    from kejie.cli import batch, main

    @contextmanager
    def fake_session(settings: object = None):  # type: ignore[no-untyped-def]
        yield session

    monkeypatch.setattr(batch, "open_session", fake_session)
    monkeypatch.setattr(batch, "make_score_fn", lambda s: scorer)
    return CliRunner().invoke(main, args)


def test_cli_nightly_reports_failures_and_exits_nonzero(
    session: Session, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    fz = make_enterprise(session, city="福州市")
    xm = make_enterprise(session, city="厦门市")
    make_demand(session, fz)
    make_demand(session, xm)
    make_expert(session)
    bad = make_event(session, name="厦门站", regions=["厦门市"], min_experts_per_demand=5)
    good = make_event(session, name="福州站", regions=["福州市"])
    session.commit()
    scorer = TableScorer(0.8)
    args = [
        "batch",
        "nightly",
        "--today",
        TODAY.isoformat(),
        "--out",
        str(tmp_path),
        "--format",
        "xlsx,json",
    ]
    result = _cli(session, monkeypatch, scorer, args)
    assert result.exit_code == 1, result.output
    assert f"✓ 活动 #{good.id} 福州站" in result.output and "新版本 v1" in result.output
    assert f"✗ 活动 #{bad.id} 厦门站" in result.output and "无法排定" in result.output
    assert "完成：2 个活动，成功 1，失败 1" in result.output
    assert (tmp_path / f"event{good.id}_v1.xlsx").exists()
    assert (tmp_path / f"event{good.id}_v1.json").exists()
    assert not list(tmp_path.glob(f"event{bad.id}_*"))

    again = _cli(session, monkeypatch, scorer, args)
    assert again.exit_code == 1 and "未变化 v1" in again.output
    assert count(session, MatchList) == 2  # one planned, one infeasible; nothing new

    bad.min_experts_per_demand = 0
    session.commit()
    fixed = _cli(session, monkeypatch, scorer, args)
    assert fixed.exit_code == 0, fixed.output
    assert "成功 2，失败 0" in fixed.output


def test_cli_plan_one_event(session: Session, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    make_demand(session, make_enterprise(session))
    make_expert(session)
    ev = make_event(session)
    infeasible = make_event(session, min_experts_per_demand=4)
    session.commit()
    scorer = TableScorer(0.8)
    ok = _cli(
        session,
        monkeypatch,
        scorer,
        ["batch", "plan", "--event", str(ev.id), "--out", str(tmp_path), "--format", "csv"],
    )
    assert ok.exit_code == 0, ok.output
    assert "已生成新版本 v1" in ok.output and (tmp_path / f"event{ev.id}_v1.csv").exists()
    same = _cli(
        session,
        monkeypatch,
        scorer,
        ["batch", "plan", "--event", str(ev.id), "--out", str(tmp_path), "--format", "csv"],
    )
    assert "输入未变化，沿用 v1" in same.output

    bad = _cli(
        session,
        monkeypatch,
        scorer,
        ["batch", "plan", "--event", str(infeasible.id), "--out", str(tmp_path)],
    )
    assert bad.exit_code == 1
    lines = [ln for ln in bad.output.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1 and "无法排定计划" in lines[0] and "已记录为第 1 版" in lines[0]

    missing = _cli(session, monkeypatch, scorer, ["batch", "plan", "--event", "424242"])
    assert missing.exit_code == 1 and "活动 #424242 不存在" in missing.output
    wrong = _cli(
        session, monkeypatch, scorer, ["batch", "plan", "--event", str(ev.id), "--format", "pdf"]
    )
    assert wrong.exit_code == 2 and "可选格式" in wrong.output


# ----------------------------------------------------------------------------
# calibration of dense-encoder scores


@pytest.mark.parametrize("calibrate", [True, False])
def test_scores_are_calibrated_against_the_whole_pool(session: Session, calibrate: bool) -> None:
    """e5-like scores: every pair ~0.888, relevant ones ~0.93. On the raw
    scale any absolute threshold passes everything; calibrated, the pair just
    above background is junk."""
    da, db = make_demand(session), make_demand(session)
    experts = [make_expert(session) for _ in range(25)]
    e1, e2, e3 = experts[:3]
    ev = make_event(session, invite_all=False, max_experts_per_demand=2)
    session.add_all([EventInvitee(event_id=ev.id, expert_id=e.id) for e in (e1, e2, e3)])
    session.commit()
    scorer = TableScorer(0.888)
    scorer.set(da.id, e1.id, 0.93)
    scorer.set(da.id, e2.id, 0.895)
    scorer.set(db.id, e3.id, 0.93)
    ml = plan_event(session, ev.id, scorer, options=PlanOptions(calibrate=calibrate))
    assert len(scorer.calls[0][2]) == (25 if calibrate else 3)  # one call, reference included
    if calibrate:
        assert ml.params["calibration"]["expert"] == {
            "background": 0.888,
            "top": 0.93,
            "reference_size": 25,
        }
        assert pairs(ml) == {(da.id, e1.id), (db.id, e3.id)}
    else:
        assert ml.params["calibration"]["expert"] is None
        assert len(ml.items) == 4
    for it in ml.items:  # raw scores are stored, reasons belong to the right expert
        assert it.score in (0.93, 0.895, 0.888)
        assert it.reasons[1] == f"expert#{it.expert_id} 有相关成果"

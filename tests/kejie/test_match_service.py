from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from kejie.match_service import MatchService
from kejie.settings import Settings
from matcher.errors import IndexOutOfDate, NotFound
from matcher.types import Filters
from models import Conflict, DemandStatus
from tests.factories import make_demand, make_enterprise, make_expert, make_society
from tests.matcher.conftest import CountingEncoder


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var")


@pytest.fixture
def world(session: Session) -> dict[str, object]:
    ent = make_enterprise(session, name="福州锂能科技有限公司")
    demand = make_demand(session, ent)
    other = make_demand(session, make_enterprise(session, main_business="大黄鱼养殖", industry="水产"),
                        title="大黄鱼养殖病害防控", description="海水养殖大黄鱼病害频发，寻求病害防控技术")
    closed = make_demand(session, ent, title="正极材料包覆设备", description="正极材料包覆改性产线",
                         status=DemandStatus.closed)
    materials = make_expert(session, name="张材料")
    tcm = make_expert(session, name="李中医", research_areas=["中医药治疗脑卒中", "针灸推拿"],
                      achievements=["中药制剂"], disciplines=["中医学"], city="厦门市")
    fish = make_expert(session, name="王海洋", research_areas=["海水养殖病害防控", "大黄鱼育种"],
                       achievements=[], disciplines=["水产"], city="宁德市")
    society = make_society(session, name="福建省电池材料学会", keywords=["锂电池", "正极材料"])
    sea_society = make_society(session, name="福建省水产学会", disciplines=["水产"],
                               keywords=["海水养殖", "病害防控"], representative_works=["大黄鱼养殖技术"])
    session.commit()
    return {"ent": ent, "demand": demand, "other": other, "closed": closed, "materials": materials,
            "tcm": tcm, "fish": fish, "society": society, "sea_society": sea_society}


def test_sync_is_incremental(session: Session, world, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    enc = CountingEncoder()
    svc = MatchService(settings, encoder=enc)
    counts = svc.sync(session)
    assert counts["expert_added"] == 3 and counts["society_added"] == 2 and counts["demand_added"] == 3
    assert counts["added"] == 8
    encoded = enc.texts_encoded
    again = svc.sync(session)
    assert again["added"] == again["updated"] == again["removed"] == 0 and again["unchanged"] == 8
    assert enc.texts_encoded == encoded

    tcm = world["tcm"]
    tcm.research_areas = ["中医药治疗脑卒中", "中药新药研发"]
    session.delete(world["fish"])
    session.commit()
    counts = svc.sync(session, ["expert"])
    assert counts["expert_updated"] == 1 and counts["expert_removed"] == 1 and counts["expert_total"] == 2
    assert enc.texts_encoded - encoded == 2  # the new item and the new profile text only

    # a new service over the same index dir: loads from disk, encodes nothing
    enc2 = CountingEncoder()
    svc2 = MatchService(settings, encoder=enc2)
    assert svc2.sync(session)["unchanged"] == 7
    assert enc2.calls == 0


def test_match_demand(session: Session, world, settings: Settings, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    svc = MatchService(settings, encoder=tiny_encoder)
    demand = world["demand"]
    matches = svc.match_demand(session, demand.id, "expert", top_k=3)
    assert matches[0].id == str(world["materials"].id)
    assert matches[0].reasons and matches[0].kind == "expert"
    societies = svc.match_demand(session, demand.id, "society", top_k=2)
    assert societies[0].id == str(world["society"].id)
    fish = svc.match_demand(session, world["other"].id, "expert", top_k=1)
    assert fish[0].id == str(world["fish"].id)

    only_xm = svc.match_demand(session, demand.id, "expert", filters=Filters(cities=["厦门市"]))
    assert [m.id for m in only_xm] == [str(world["tcm"].id)]

    with pytest.raises(NotFound) as exc:
        svc.match_demand(session, 999_999, "expert")
    assert exc.value.kind == "demand"


def test_conflicts_and_own_affiliation_excluded(session: Session, world, settings: Settings,  # type: ignore[no-untyped-def]
                                                tiny_encoder) -> None:
    ent, demand = world["ent"], world["demand"]
    insider = make_expert(session, name="内部专家", affiliation=ent.name)
    session.add(Conflict(expert_id=world["materials"].id, enterprise_id=ent.id, reason="亲属"))
    session.commit()
    svc = MatchService(settings, encoder=tiny_encoder)
    ids = [m.id for m in svc.match_demand(session, demand.id, "expert", top_k=10)]
    assert str(world["materials"].id) not in ids
    assert str(insider.id) not in ids
    assert str(world["tcm"].id) in ids


def test_match_text_and_missing_index(session: Session, world, settings: Settings, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    fresh = MatchService(settings, encoder=tiny_encoder)
    with pytest.raises(IndexOutOfDate):
        fresh.match_text("锂电池", "expert")
    svc = MatchService(settings, encoder=tiny_encoder)
    svc.sync(session)
    got = MatchService(settings, encoder=tiny_encoder).match_text("海水养殖大黄鱼病害", "expert", top_k=1)
    assert got[0].id == str(world["fish"].id)
    demands = svc.match_text("正极材料表面包覆", "demand", top_k=3)
    assert {m.id for m in demands} >= {str(world["demand"].id)}


def test_recommendations(session: Session, world, settings: Settings, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    svc = MatchService(settings, encoder=tiny_encoder)
    recs = svc.recommend_for_expert(session, world["materials"].id, top_k=5)
    ids = [m.id for m in recs]
    assert ids[0] == str(world["demand"].id)
    assert str(world["closed"].id) not in ids  # open demands only by default
    assert all(m.kind == "demand" for m in recs)
    with_closed = svc.recommend_for_expert(
        session, world["materials"].id, top_k=5, filters=Filters(attr_in={"status": ["open", "closed"]}))
    assert str(world["closed"].id) in [m.id for m in with_closed]

    sea = svc.recommend_for_society(session, world["sea_society"].id, top_k=1)
    assert sea[0].id == str(world["other"].id)
    with pytest.raises(NotFound):
        svc.recommend_for_expert(session, 999_999)
    with pytest.raises(NotFound):
        svc.recommend_for_society(session, 999_999)


def test_recommend_skips_conflicted_enterprises(session: Session, world, settings: Settings,  # type: ignore[no-untyped-def]
                                                tiny_encoder) -> None:
    session.add(Conflict(expert_id=world["materials"].id, enterprise_id=world["ent"].id))
    session.commit()
    svc = MatchService(settings, encoder=tiny_encoder)
    ids = [m.id for m in svc.recommend_for_expert(session, world["materials"].id, top_k=5)]
    assert str(world["demand"].id) not in ids


def test_refresh_adds_updates_and_removes(session: Session, world, settings: Settings, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    svc = MatchService(settings, encoder=tiny_encoder)
    svc.sync(session)
    new = make_expert(session, name="新专家", research_areas=["工业互联网平台", "智能制造"])
    session.commit()
    svc.refresh(session, "expert", [new.id])
    assert svc.match_text("工业互联网智能制造", "expert", top_k=1)[0].id == str(new.id)
    session.delete(new)
    session.commit()
    svc.refresh(session, "expert", [new.id])
    assert str(new.id) not in svc.index("expert")
    # refresh is persisted: another service sees it without syncing
    assert str(new.id) not in MatchService(settings, encoder=tiny_encoder).index("expert")


def test_reloads_index_rewritten_by_another_process(session: Session, world, settings: Settings,  # type: ignore[no-untyped-def]
                                                    tiny_encoder) -> None:
    api = MatchService(settings, encoder=tiny_encoder)
    api.sync(session)
    assert api.match_text("工业互联网智能制造", "expert", top_k=1)[0].name != "新专家"
    new = make_expert(session, name="新专家", research_areas=["工业互联网平台", "智能制造"])
    session.commit()
    cli = MatchService(settings, encoder=tiny_encoder)  # e.g. ``kejie index sync`` in another process
    cli.sync(session, ["expert"])
    assert api.match_text("工业互联网智能制造", "expert", top_k=1)[0].id == str(new.id)


def test_score_matrix(session: Session, world, settings: Settings, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    svc = MatchService(settings, encoder=tiny_encoder)
    d1, d2 = world["demand"].id, world["other"].id
    cands = [world["materials"].id, world["tcm"].id, world["fish"].id]
    matrix, reasons = svc.score_matrix(session, [d1, d2], "expert", cands)
    assert matrix.shape == (2, 3) and np.isfinite(matrix).all()
    assert int(np.argmax(matrix[0])) == 0 and int(np.argmax(matrix[1])) == 2
    assert reasons(0, 0) and any("语义相似度" in r for r in reasons(1, 2))
    # same pair, same score as the ranked list (normalised over the whole index)
    top = svc.match_demand(session, d1, "expert", top_k=1)[0]
    assert matrix[0, 0] == pytest.approx(top.score)
    sub, _ = svc.score_matrix(session, [d1], "expert", [world["materials"].id])
    assert sub[0, 0] == pytest.approx(matrix[0, 0])

    late = make_expert(session, name="后加专家")
    session.commit()
    m2, _ = svc.score_matrix(session, [d1], "expert", [late.id])  # not yet indexed: refreshed on the fly
    assert m2.shape == (1, 1)
    with pytest.raises(NotFound):
        svc.score_matrix(session, [d1], "expert", [999_999])
    with pytest.raises(NotFound):
        svc.score_matrix(session, [999_999], "expert", cands)
    empty, _ = svc.score_matrix(session, [], "expert", cands)
    assert empty.shape == (0, 3)


def test_index_type_from_settings(session: Session, world, tmp_path: Path, tiny_encoder) -> None:  # type: ignore[no-untyped-def]
    from matcher.errors import MatcherError

    with pytest.raises(MatcherError):
        MatchService(Settings(var_dir=tmp_path, index_type="annoy"), encoder=tiny_encoder)
    svc = MatchService(Settings(var_dir=tmp_path, index_type="hnsw"), encoder=tiny_encoder)
    svc.sync(session, ["expert"])
    assert (svc.index_dir("expert") / "items.faiss").exists()  # ANN built at sync, not at first search
    reloaded = MatchService(Settings(var_dir=tmp_path, index_type="hnsw"), encoder=tiny_encoder)
    assert reloaded.index("expert").items._faiss is not None
    demand = world["demand"]
    assert reloaded.match_demand(session, demand.id, "expert", 1)[0].id == str(world["materials"].id)


def test_same_affiliation_exclusion_is_normalised_and_follows_refresh(  # type: ignore[no-untyped-def]
        session: Session, world, settings: Settings, tiny_encoder) -> None:
    ent, demand = world["ent"], world["demand"]
    insider = make_expert(session, name="内部专家", affiliation=" 福州锂能 科技有限公司 ")
    outsider = make_expert(session, name="外部专家", affiliation="厦门大学")
    session.commit()
    svc = MatchService(settings, encoder=tiny_encoder)
    ids = [m.id for m in svc.match_demand(session, demand.id, "expert", top_k=10)]
    assert str(insider.id) not in ids and str(outsider.id) in ids
    # moving jobs changes the exclusion once the index is refreshed
    insider.affiliation, outsider.affiliation = "福建师范大学", ent.name
    session.commit()
    svc.refresh(session, "expert", [insider.id, outsider.id])
    ids = [m.id for m in svc.match_demand(session, demand.id, "expert", top_k=10)]
    assert str(insider.id) in ids and str(outsider.id) not in ids


def test_recommend_skips_own_enterprise_by_normalised_name(  # type: ignore[no-untyped-def]
        session: Session, world, settings: Settings, tiny_encoder) -> None:
    world["materials"].affiliation = "福州锂能科技有限公司 "
    session.commit()
    svc = MatchService(settings, encoder=tiny_encoder)
    ids = [m.id for m in svc.recommend_for_expert(session, world["materials"].id, top_k=5)]
    assert str(world["demand"].id) not in ids and str(world["other"].id) in ids


@pytest.mark.parametrize("fusion", [None, "learned"])
def test_both_directions_give_a_pair_the_same_score(session: Session, world, settings: Settings,  # type: ignore[no-untyped-def]
                                                    tiny_encoder, fusion) -> None:
    """An expert's 我的推荐 list scores each demand as the demand page scores that expert."""
    from matcher.fusion import Linear

    chosen = Linear({"bm25_rare": 0.3, "char": 0.3, "dense_prf": 1.0, "dense_item": 0.4}) if fusion else None
    svc = MatchService(settings, encoder=tiny_encoder, fusion=chosen)
    expert = world["materials"]
    recs = svc.recommend_for_expert(session, expert.id, top_k=5)
    assert recs, "the materials expert should be recommended the battery demand"
    for rec in recs:
        forward = {m.id: m.score for m in svc.match_demand(session, int(rec.id), "expert", top_k=10)}
        assert str(expert.id) in forward
        assert rec.score == pytest.approx(forward[str(expert.id)], rel=1e-5, abs=1e-6)


class _GatedEncoder:
    """Wraps an encoder; while ``armed``, encoding passages waits for ``release``."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        import threading

        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.armed = False
        self.entered, self.release = threading.Event(), threading.Event()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if self.armed:
            self.entered.set()
            assert self.release.wait(30), "the test never released the writer"
        return self.inner.encode_passages(texts)


def test_queries_do_not_wait_for_a_write_in_progress(session: Session, session_factory, world,  # type: ignore[no-untyped-def]
                                                     settings: Settings, tiny_encoder) -> None:
    import threading

    gated = _GatedEncoder(tiny_encoder)
    svc = MatchService(settings, encoder=gated)
    demand = world["demand"]
    before = [m.id for m in svc.match_demand(session, demand.id, "expert", top_k=3)]
    fish = world["fish"]
    fish.research_areas = ["锂离子电池正极材料包覆", "高镍三元"]  # now it should match the battery demand
    session.commit()
    gated.armed = True

    def write() -> None:
        with session_factory() as s:
            svc.refresh(s, "expert", [fish.id])

    writer = threading.Thread(target=write)
    writer.start()
    assert gated.entered.wait(20), "the writer did not start encoding"
    answers: list[list[str]] = []
    reader = threading.Thread(target=lambda: answers.append(
        [m.id for m in svc.match_demand(session, demand.id, "expert", top_k=3)]))
    reader.start()
    reader.join(20)
    done_while_writing = not reader.is_alive()
    gated.release.set()  # let the writer finish in any case
    writer.join(30)
    reader.join(30)
    assert done_while_writing, "a query waited for the index write"
    assert answers == [before]  # answered from the previous snapshot
    # once the write is done, the new profile is what queries see
    after = {m.id: m for m in svc.match_demand(session, demand.id, "expert", top_k=3)}
    assert str(fish.id) in after


def test_a_damaged_index_is_rebuilt_from_the_database(session: Session, world, settings: Settings,  # type: ignore[no-untyped-def]
                                                      tiny_encoder, caplog: pytest.LogCaptureFixture) -> None:
    svc = MatchService(settings, encoder=tiny_encoder)
    svc.sync(session)
    expected = [m.id for m in svc.match_demand(session, world["demand"].id, "expert", top_k=3)]
    meta = svc.index_dir("expert") / "meta.json"
    meta.write_bytes(meta.read_bytes()[:100])  # as if the machine died mid-write before the rename existed
    fresh = MatchService(settings, encoder=tiny_encoder)
    with caplog.at_level("WARNING"):
        got = [m.id for m in fresh.match_demand(session, world["demand"].id, "expert", top_k=3)]
    assert got == expected
    assert any("重建" in r.message for r in caplog.records)
    # and the rebuilt files load again
    assert len(MatchService(settings, encoder=tiny_encoder).index("expert")) == len(fresh.index("expert"))

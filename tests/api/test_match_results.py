"""The 无合适人选 verdict of a ranked list (a schema rule shared by JSON and pages)."""

from __future__ import annotations

from api.schemas import MatchResults
from api.schemas.matching import MatchPublic


def _m(i: int, grade: str | None, p: float | None) -> MatchPublic:
    return MatchPublic(id=str(i), kind="expert", name=f"专家{i}", score=0.1, lexical=0.0, semantic=0.8,
                       best_item=None, shared_terms=[], reasons=[], probability=p, grade=grade)  # type: ignore[arg-type]


def test_no_candidate_reaching_mid_is_no_suitable_but_keeps_the_weaker_ones() -> None:
    r = MatchResults(kind="expert", items=[_m(1, "低", 0.2), _m(2, "低", 0.1)])
    assert r.no_suitable and r.message and r.message.startswith("无合适人选") and len(r.items) == 2


def test_a_mid_candidate_or_an_ungraded_list_is_not_no_suitable() -> None:
    assert not MatchResults(kind="expert", items=[_m(1, "中", 0.5), _m(2, "低", 0.1)]).no_suitable
    assert not MatchResults(kind="society", items=[_m(1, None, None)]).no_suitable
    assert not MatchResults(kind="expert", items=[]).no_suitable

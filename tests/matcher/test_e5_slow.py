"""The real bundled e5 model: a semantically obvious ranking must come out right."""

from __future__ import annotations

import pytest

from matcher.ranker import Ranker
from matcher.types import Candidate, ProfileItem

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def e5_encoder():  # type: ignore[no-untyped-def]
    from matcher.encoders.e5 import E5Encoder

    return E5Encoder()


def test_battery_demand_prefers_materials_expert(e5_encoder, segment) -> None:  # type: ignore[no-untyped-def]
    materials = Candidate("M", "expert", "材料专家", [
        ProfileItem("research_area", "锂离子电池正极材料"),
        ProfileItem("research_area", "储能材料的结构设计与电化学性能"),
    ])
    tcm = Candidate("T", "expert", "中医专家", [
        ProfileItem("research_area", "中医药防治心脑血管疾病"),
        ProfileItem("research_area", "针灸推拿临床研究"),
    ])
    ranker = Ranker.from_candidates([tcm, materials], e5_encoder, segment)
    # company language, few words shared with the expert profile
    demand = "我公司生产动力电池，产品在夏天跑几百次充放电后就明显不耐用了，想找人帮忙改进配方。"
    matches = ranker.rank(demand, top_k=2)
    assert matches[0].id == "M"
    assert matches[0].semantic > matches[1].semantic

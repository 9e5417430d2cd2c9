from __future__ import annotations

import json
from pathlib import Path

import pytest

from kejie.records import parse_bool, read_candidates, read_qrels, read_queries
from matcher.errors import BadInput
from matcher.profiles import as_list, demand_query_text, expert_items


def test_demand_query_text_drops_boilerplate() -> None:
    text = demand_query_text(
        "高镍正极材料循环寿命提升", "高温循环容量衰减快",
        "公司成立于2008年，注册资本5000万元，是国家高新技术企业，主营锂电池正极材料", ["包覆"])
    assert text.startswith("高镍正极材料循环寿命提升。高温循环容量衰减快")
    assert "关键词：包覆" in text and "锂电池正极材料" in text
    assert "成立于" not in text and "注册资本" not in text and "高新技术企业" not in text
    assert demand_query_text("标题", "说明") == "标题。说明"


def test_as_list_and_items() -> None:
    assert as_list("锂电池；正极材料；锂电池") == ["锂电池", "正极材料"]
    assert as_list("合成、改性") == ["合成", "改性"]
    assert as_list(["a", " b "]) == ["a", "b"] and as_list(None) == []
    items = expert_items(["储能"], ["成果"], ["kw1", "kw2"], ["材料"])
    assert [i.field for i in items] == ["research_area", "achievement", "keyword", "keyword", "discipline"]
    assert parse_bool("是", False) and not parse_bool("否", True) and parse_bool("", True)


def test_read_society_and_expert_files(tmp_path: Path) -> None:
    soc = tmp_path / "s.csv"
    soc.write_text("society_id,name,disciplines,keywords,representative_work\n"
                   "S01,电池学会,材料,锂电池；正极材料,论文一；论文二\n"
                   ",,材料,空名称,\n"
                   "S01,重复,材料,x,\n", encoding="utf-8")
    sf = read_candidates(soc)
    assert sf.kind == "society" and [c.id for c in sf.candidates] == ["S01"]
    assert {i.field for i in sf.candidates[0].items} >= {"name", "keyword", "representative_work"}
    assert len(sf.problems) == 2 and all("s.csv" in p for p in sf.problems)

    exp = tmp_path / "e.csv"
    exp.write_text("expert_id,姓名,工作单位,研究方向,是否院士,所在地区\n"
                   "E7,张三,福州大学,锂电池正极材料；固态电池,是,福州市\n", encoding="utf-8")
    ef = read_candidates(exp)
    assert ef.kind == "expert"
    c = ef.candidates[0]
    assert c.id == "E7" and c.attrs["is_academician"] is True and c.attrs["city"] == "福州市"
    assert [i.text for i in c.items][:2] == ["锂电池正极材料", "固态电池"]


def test_read_queries_and_qrels(tmp_path: Path) -> None:
    q = tmp_path / "q.jsonl"
    q.write_text("\n".join([
        json.dumps({"id": 1, "text": "甲"}),
        json.dumps({"id": "2", "title": "乙", "content": "丙"}, ensure_ascii=False),
        "[1]",
        json.dumps({"text": "没有id"}, ensure_ascii=False),
    ]), encoding="utf-8")
    qf = read_queries(q)
    assert qf.queries == [("1", "甲"), ("2", ("乙", "丙"))]  # a title stays apart
    assert len(qf.problems) == 2 and "第3行" in qf.problems[0] and "id" in qf.problems[1]
    assert read_queries(q, limit=1).queries == [("1", "甲")]
    with pytest.raises(BadInput):
        read_queries(tmp_path / "missing.jsonl")
    r = tmp_path / "r.tsv"
    r.write_text("query_id\tcandidate_id\tgrade\nq1\tS01\t2\nq1\tS02\t1\n", encoding="utf-8")
    assert read_qrels(r) == {"q1": {"S01": 2.0, "S02": 1.0}}
    r.write_text("q1\tS01\tx\n", encoding="utf-8")
    with pytest.raises(BadInput, match="第1行"):
        read_qrels(r)

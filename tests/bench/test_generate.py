"""The synthetic data generator: reproducible, exact sizes, valid and importable rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.generate import (
    DEMAND_HEADERS,
    EXPERT_HEADERS,
    SOCIETY_HEADERS,
    SamplePools,
    generate_demands,
    generate_experts,
    generate_files,
    generate_societies,
    load_sample_pools,
    write_records,
)
from bench.vocab import INDUSTRIES
from ingest import import_file
from ingest.normalize import (
    parse_email,
    parse_landline,
    parse_mobile,
    parse_postcode,
    parse_region,
    parse_website,
)
from models import Demand, Enterprise, Expert, Society


def test_same_seed_same_records_other_seed_other_records() -> None:
    assert generate_demands(300, seed=5) == generate_demands(300, seed=5)
    assert generate_experts(300, seed=5) == generate_experts(300, seed=5)
    assert generate_societies(40, seed=5) == generate_societies(40, seed=5)
    assert generate_demands(300, seed=5) != generate_demands(300, seed=6)
    assert generate_experts(300, seed=5) != generate_experts(300, seed=6)


@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_exact_sizes(n: int) -> None:
    assert len(generate_demands(n)) == n
    assert len(generate_experts(n)) == n
    assert len(generate_societies(n)) == n


def test_negative_size_is_an_error() -> None:
    with pytest.raises(ValueError):
        generate_demands(-1)


def test_demand_rows_have_the_form_headers_and_valid_contacts() -> None:
    rows = generate_demands(500, seed=1)
    industries = {ind.name for ind in INDUSTRIES}
    for row in rows:
        assert tuple(k for k in row if not k.startswith("_")) == DEMAND_HEADERS
        for required in ("单位名称", "技术需求名称", "具体的技术需求说明", "所在地区", "所属行业"):
            assert row[required], required
        assert row["所属行业"] in industries
        # the ingest validators accept every generated contact field
        city, _ = parse_region(row["所在地区"])
        assert city
        parse_mobile(row["手机"])
        parse_landline(row["办公电话"])
        if row["传真"]:
            parse_landline(row["传真"], label="传真")
        parse_email(row["E-mail"])
        parse_postcode(row["邮编"])
        if row["网址"]:
            parse_website(row["网址"])
    # demands are unique per (enterprise, title, description) — the ingest dedup key
    assert len({(r["单位名称"], r["技术需求名称"], r["具体的技术需求说明"]) for r in rows}) == len(rows)
    # an enterprise posts several demands and its columns agree across them
    by_name: dict[str, set[tuple[str, str]]] = {}
    for r in rows:
        by_name.setdefault(r["单位名称"], set()).add((r["企业概况"], r["所在地区"]))
    assert len(by_name) < len(rows)
    assert all(len(v) == 1 for v in by_name.values())


def test_demand_text_uses_its_industry_vocabulary() -> None:
    by_name = {ind.name: ind for ind in INDUSTRIES}
    for row in generate_demands(200, seed=2):
        ind = by_name[row["_industry"]]
        text = row["技术需求名称"] + row["具体的技术需求说明"]
        assert any(p in text for p in ind.products + ind.processes), text


def test_expert_rows() -> None:
    rows = generate_experts(2000, seed=3)
    ids = [r["expert_id"] for r in rows]
    assert len(set(ids)) == len(ids)
    academicians = [r for r in rows if r["是否院士"] == "是"]
    assert 0 < len(academicians) < 100  # ~1%
    assert all("院士" in r["职称"] for r in academicians)
    for r in rows[:300]:
        assert tuple(k for k in r if not k.startswith("_")) == EXPERT_HEADERS
        assert r["研究方向"] and r["学科"] and r["主要成果"]
        parse_region(r["所在地区"])
        parse_mobile(r["手机"])
        parse_email(r["E-mail"])
        assert 1 <= int(r["容量"]) <= 10


def test_society_rows_have_unique_ids_and_names() -> None:
    rows = generate_societies(120)
    assert tuple(k for k in rows[0] if not k.startswith("_")) == SOCIETY_HEADERS
    assert len({r["society_id"] for r in rows}) == 120
    assert len({r["name"] for r in rows}) == 120


def test_csv_and_jsonl_round_trip_without_hidden_columns(tmp_path: Path) -> None:
    rows = generate_experts(50, seed=4)
    assert write_records(rows, tmp_path / "e.csv") == 50
    assert write_records(rows, tmp_path / "e.jsonl") == 50
    with (tmp_path / "e.csv").open(encoding="utf-8-sig", newline="") as fh:
        from_csv = list(csv.DictReader(fh))
    from_jsonl = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text(encoding="utf-8").splitlines()]
    visible = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
    assert from_csv == visible
    assert from_jsonl == visible
    write_records(rows, tmp_path / "t.csv", truth=True)
    assert "_industry" in (tmp_path / "t.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    with pytest.raises(ValueError):
        write_records(rows, tmp_path / "e.xml")


def test_sample_pools_feed_generated_rows(tmp_path: Path) -> None:
    sample = tmp_path / "sample"
    write_records(
        [{"单位名称": "示例公司", "技术需求名称": "独特需求标题甲", "具体的技术需求说明": "独特需求说明乙。",
          "所属行业": "新材料"}],
        sample / "demands.csv",
    )
    write_records([{"姓名": "某", "研究方向": "独特研究方向丙；方向丁", "主要成果": "成果戊"}],
                  sample / "experts.jsonl")
    pools = load_sample_pools(sample)
    assert pools.demands == [("独特需求标题甲", "独特需求说明乙。", "新材料")]
    assert pools.expert_areas == ["独特研究方向丙", "方向丁"]
    rows = generate_demands(400, seed=0, sample=pools)
    reused = [r for r in rows if r["技术需求名称"] == "独特需求标题甲"]
    # ~15% drawn, but one title at most once per enterprise (the importer's dedup key)
    assert 10 < len(reused) < 120
    assert len({r["单位名称"] for r in reused}) == len(reused)
    assert not load_sample_pools(tmp_path / "missing")
    assert not SamplePools()


def test_generate_files_writes_each_kind(tmp_path: Path) -> None:
    written = generate_files(tmp_path, demands=20, experts=10, societies=5, fmt="jsonl", sample_dir=None)
    assert sorted(written) == ["demands", "experts", "societies"]
    assert len(written["experts"].read_text(encoding="utf-8").splitlines()) == 10


def test_generated_files_import_cleanly(session: Session, tmp_path: Path) -> None:
    files = generate_files(tmp_path, demands=300, experts=200, societies=30, sample_dir=None)
    reports = {kind: import_file(session, path, kind, "bench") for kind, path in files.items()}
    for kind, report in reports.items():
        assert report.rejected == 0, (kind, report.rejects[:3])
        assert report.duplicates == 0, kind
    assert session.scalar(select(func.count()).select_from(Demand)) == 300
    assert session.scalar(select(func.count()).select_from(Expert)) == 200
    assert session.scalar(select(func.count()).select_from(Society)) == 30
    n_ent = session.scalar(select(func.count()).select_from(Enterprise))
    assert n_ent is not None and 100 < n_ent < 300
    # the JSONL layout imports too
    jl = generate_files(tmp_path / "jl", demands=0, experts=25, seed=9, fmt="jsonl", sample_dir=None)
    assert import_file(session, jl["experts"], "experts", "bench").inserted == 25

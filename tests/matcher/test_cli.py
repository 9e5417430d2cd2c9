from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from kejie.cli import main
from kejie.settings import get_settings

SOCIETIES = """society_id,name,category,disciplines,keywords,representative_work
S01,福建省电池材料学会,工学,材料科学与工程,锂电池；正极材料；表面包覆,高镍正极材料包覆改性研究；固态电解质
S02,福建省中医药学会,医学,中医学,中医药；针灸；脑卒中,中医药治疗脑卒中临床观察
S03,福建省水产学会,农学,水产,海水养殖；病害防控；大黄鱼,大黄鱼养殖病害防控技术
"""


@pytest.fixture
def cli_env(tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    env = {
        "KEJIE_ENCODER": "sentence-transformers",
        "KEJIE_ENCODER_MODEL": str(tiny_model_dir),
        "KEJIE_VAR_DIR": str(tmp_path / "var"),
        "KEJIE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    cands = tmp_path / "societies.csv"
    cands.write_text(SOCIETIES, encoding="utf-8")
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        json.dumps({"id": "q1", "text": "高镍正极材料表面包覆改性，提高锂电池循环寿命"}, ensure_ascii=False) + "\n"
        + json.dumps({"id": "q2", "title": "大黄鱼病害", "content": "海水养殖大黄鱼病害防控"},
                     ensure_ascii=False) + "\n"
        + "not json\n"
        + json.dumps({"id": "q3"}) + "\n",
        encoding="utf-8",
    )
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("q1\tS01\t2\nq2\tS03\t2\n", encoding="utf-8")
    return {"candidates": cands, "queries": queries, "qrels": qrels}


def test_rank_end_to_end(cli_env, files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out" / "ranked.jsonl"
    runner = CliRunner()
    result = runner.invoke(main, ["rank", "--candidates", str(files["candidates"]), "--queries",
                                  str(files["queries"]), "--top-k", "2", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "第3行" in result.output and "第4行" in result.output  # bad lines reported, good ones kept
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["query_id"] for line in lines] == ["q1", "q2"]
    assert [r["id"] for r in lines[0]["results"]][0] == "S01"
    assert lines[1]["results"][0]["id"] == "S03"
    first = lines[0]["results"][0]
    assert len(lines[0]["results"]) == 2
    assert isinstance(first["score"], float) and first["reasons"]
    # second run: every embedding comes from the cache in the index dir
    assert (Path(cli_env["KEJIE_VAR_DIR"]) / "index" / "embeddings.sqlite").exists()
    again = runner.invoke(main, ["rank", "--candidates", str(files["candidates"]), "--queries",
                                 str(files["queries"]), "--output", str(out)])
    assert again.exit_code == 0 and "编码" not in again.output


def test_eval_prints_three_configurations(cli_env, files) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, ["eval", "--candidates", str(files["candidates"]), "--queries",
                                       str(files["queries"]), "--qrels", str(files["qrels"])])
    assert result.exit_code == 0, result.output
    for label in ("default (semantic_boost)", "bm25 only", "dense only"):
        assert label in result.output
    assert "nDCG@10=1.0000" in result.output and "(n=2)" in result.output


def test_rank_reports_bad_candidates_file(cli_env, tmp_path: Path, files) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["rank", "--candidates", str(bad), "--queries", str(files["queries"]),
                                       "--output", str(tmp_path / "o.jsonl")])
    assert result.exit_code != 0
    assert "bad.csv" in result.output


def test_index_build_and_sync(cli_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from models.db import create_db_engine, make_session_factory, upgrade_database
    from tests.factories import make_demand, make_expert, make_society

    url = cli_env["KEJIE_DATABASE_URL"]
    engine = create_db_engine(url)
    upgrade_database(url, engine=engine)
    with make_session_factory(engine)() as s:
        make_demand(s)
        make_expert(s)
        make_society(s)
        s.commit()
    engine.dispose()
    runner = CliRunner()
    built = runner.invoke(main, ["index", "build"])
    assert built.exit_code == 0, built.output
    assert "expert: 共 1 条；新增 1" in built.output
    synced = runner.invoke(main, ["index", "sync", "--kind", "expert"])
    assert synced.exit_code == 0, synced.output
    assert "未变 1" in synced.output


EXPERTS = """专家编号,姓名,职称,工作单位,研究方向,关键词
X1,专家一,教授,福州大学,锂离子电池正极材料；表面包覆改性,正极材料
X2,专家二,教授,厦门大学,中医药治疗脑卒中；针灸推拿,中医药
X3,专家三,研究员,集美大学,海水养殖病害防控；大黄鱼育种,水产
X4,专家四,教授,华侨大学,工业机器人视觉检测；缺陷识别,机器视觉
X5,专家五,副教授,福建农林大学,茶叶加工与品质控制；茶多酚提取,茶叶
"""
TOPICS = [("X1", "高镍正极材料包覆改性，提高循环寿命"), ("X2", "中医药治疗脑卒中的临床方案"),
          ("X3", "大黄鱼养殖病害频发，需要防控技术"), ("X4", "产线视觉检测缺陷识别"),
          ("X5", "茶叶加工品质提升，茶多酚提取工艺")]


def test_expert_eval_and_fusion_fit_end_to_end(cli_env, tmp_path: Path,  # type: ignore[no-untyped-def]
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cands = tmp_path / "experts.csv"
    cands.write_text(EXPERTS, encoding="utf-8")
    queries, qrels = tmp_path / "q.jsonl", tmp_path / "qrels.tsv"
    with queries.open("w", encoding="utf-8") as q, qrels.open("w", encoding="utf-8") as r:
        for i in range(12):
            expert, text = TOPICS[i % 5]
            q.write(json.dumps({"id": f"D{i}", "title": text[:6], "content": f"我公司成立于2001年。{text}"},
                               ensure_ascii=False) + "\n")
            r.write(f"D{i}\t{expert}\t2\n")
            r.write(f"D{i}\t{TOPICS[(i + 1) % 5][0]}\t0\n")
    out = tmp_path / "models"
    fit = CliRunner().invoke(main, ["fusion", "fit", "--candidates", str(cands), "--queries", str(queries),
                                    "--qrels", str(qrels), "--out", str(out), "--folds", "3", "--seeds", "1"])
    assert fit.exit_code == 0, fit.output
    assert "ndcg10" in fit.output and "等级阈值" in fit.output and (out / "expert.json").is_file()
    model = json.loads((out / "expert.json").read_text(encoding="utf-8"))
    assert model["kind"] == "expert" and model["report"]["held_out"]["ndcg10"] > 0.5
    # the bundled model was fitted with e5: with this encoder it is not used
    before = CliRunner().invoke(main, ["eval", "--candidates", str(cands), "--queries", str(queries),
                                       "--qrels", str(qrels)])
    assert before.exit_code == 0 and "default (semantic_boost)" in before.output, before.output
    # the re-fitted model is (same encoder): eval prints the graded table with baselines
    monkeypatch.setenv("KEJIE_MATCH_MODEL_DIR", str(out))
    get_settings.cache_clear()
    ev = CliRunner().invoke(main, ["eval", "--candidates", str(cands), "--queries", str(queries),
                                   "--qrels", str(qrels)])
    assert ev.exit_code == 0, ev.output
    for label in ("default (fitted model, graded)", "bm25", "char n-gram tf-idf", "e5 whole profile", "rrf (bm25, e5 profile)"):
        assert label in ev.output
    assert "Hit@3=" in ev.output and "judged@10=" in ev.output and "(n=12)" in ev.output
    too_few = CliRunner().invoke(main, ["fusion", "fit", "--candidates", str(cands), "--queries", str(queries),
                                        "--qrels", str(qrels), "--out", str(out), "--folds", "10"])
    assert too_few.exit_code != 0 and "交叉验证至少需要" in too_few.output

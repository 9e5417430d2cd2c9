"""``kejie fusion fit``: re-fit the learned fusion, calibration and grade thresholds
of one candidate kind on judged pairs, and report held-out figures.

Judged pairs come as a qrels TSV (``query_id  candidate_id  grade``, 2 = covers
the core problem, 1 = related, 0 = not) for a queries JSONL against a
candidates file — the team's dev set, or a deployment's own judged outcomes
exported the same way. Every figure printed is from demands held out of the
model that scored them (cross-validation by demand; the grade thresholds are
chosen inside each training part, so they are held out too).
"""

from __future__ import annotations

from pathlib import Path

import click

from kejie.cli.common import KejieCommandError
from matcher.errors import MatcherError
from matcher.fusion import Linear


@click.group("fusion")
def fusion_group() -> None:
    """学习融合权重与匹配等级（高/中/低）的校准。"""


@fusion_group.command("fit")
@click.option("--candidates", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--queries", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--qrels", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="TSV：query_id  candidate_id  grade（2 核心相关，1 相关，0 不相关）")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="写入 <kind>.json 的目录（部署时设 KEJIE_MATCH_MODEL_DIR 指向它）")
@click.option("--kind", type=click.Choice(["auto", "expert", "society"]), default="auto", show_default=True)
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20))
@click.option("--seeds", default=3, show_default=True, type=click.IntRange(1, 20),
              help="交叉验证重复次数（不同的随机划分）")
@click.option("--fusion", "fixed", default=None,
              help="保留这个两通道融合策略（如 semantic_boost），只拟合校准与等级阈值")
def fit_cmd(candidates: Path, queries: Path, qrels: Path, out_dir: Path, kind: str, folds: int,
            seeds: int, fixed: str | None) -> None:
    """按需求交叉验证拟合融合权重和校准，报告留出结果，写出模型文件。"""
    from kejie.cli.matching import _encode, _file_ranker, _read_queries
    from kejie.records import read_qrels
    from matcher.fusion import TwoChannel, get_fusion
    from matcher.learn import Features, fit, grade_matrix
    from matcher.learn_report import held_out_report
    from matcher.signals import SIGNALS

    try:
        rels = read_qrels(qrels)
        cf, encoder, ranker = _file_ranker(candidates, kind, None, use_model=False)
        qs = [(q, t) for q, t in _read_queries(queries, None) if q in rels]
        if len(qs) < 2 * folds:
            raise KejieCommandError(f"只有 {len(qs)} 条已评判的查询；{folds} 折交叉验证至少需要 {2 * folds} 条")
        scores = ranker.score(_encode(ranker, encoder, [t for _, t in qs]), every_signal=True)
        ids = ranker.index.snapshot().ids
        qids = [q for q, _ in qs]
        grades, judged = grade_matrix(qids, ids, rels)
        features = Features(fixed=TwoChannel(get_fusion(fixed)) if fixed else None)
        report = held_out_report(scores.raw, scores.z, SIGNALS, grades, judged, qids, ids, rels,
                                 folds, seeds, features)
        model, _ = fit(cf.kind, scores.raw, scores.z, SIGNALS, grades, judged, folds,
                       features=features)
    except (MatcherError, ValueError) as exc:
        raise KejieCommandError(str(exc)) from exc
    model.encoder = encoder.name
    model.report = {"held_out": report, "folds": folds, "seeds": seeds, "queries": len(qs),
                    "candidates": len(ids), "source": {"candidates": candidates.name,
                                                        "queries": queries.name, "qrels": qrels.name}}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{cf.kind}.json"
    path.write_text(model.to_json() + "\n", encoding="utf-8")
    click.echo(f"留出结果（{folds} 折 × {seeds} 次，按需求划分）：")
    for k, v in report.items():
        click.echo(f"  {k:<30} {v}")
    if isinstance(model.fusion, Linear):
        weights = "，".join(f"{k} {v:+.3f}" for k, v in model.fusion.weights.items())
        click.echo(f"权重：{weights}")
    else:
        click.echo(f"融合：{model.fusion.name}（保留，只拟合校准）")
    cal = model.calibration
    if cal is not None:
        click.echo(f"等级阈值：高 ≥ {cal.high:.3f}，中 ≥ {cal.mid:.3f}")
    click.echo(f"已写入 {path}")


@fusion_group.command("export")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="写入 queries.jsonl、experts.csv、qrels.tsv 的目录")
def export_cmd(out_dir: Path) -> None:
    """把工作人员记录的对接结果（签约/走访=2，联系=1，不合适=0；专家反馈补充）导出为评判文件，
    供 kejie fusion fit 按本部署的数据重新拟合专家模型。"""
    from kejie.cli.common import open_session
    from kejie.judgments import export_expert_judgments

    with open_session() as session:
        done = export_expert_judgments(session, out_dir)
    click.echo(f"已导出：{done.demands} 条需求，{done.experts} 位专家，{done.pairs} 个已评判配对")
    if done.demands < 10:
        click.echo("提示：已评判的需求不足 10 条，5 折交叉验证无法进行；请积累更多对接结果", err=True)
    click.echo(f"kejie fusion fit --candidates {done.candidates} --queries {done.queries} "
               f"--qrels {done.qrels} --out DIR")


def register(group: click.Group) -> None:
    group.add_command(fusion_group)

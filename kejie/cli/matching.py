"""Matching commands: ``kejie index build|sync`` (DB-backed) and the stateless
file commands ``kejie rank`` and ``kejie eval``."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from kejie.cli.common import KejieCommandError, open_session
from kejie.settings import get_settings
from matcher.errors import MatcherError

KIND_CHOICES = ["expert", "society", "demand"]


@contextmanager
def _progress(encoder: Any, total: int, label: str) -> Iterator[None]:
    """Drive a progress bar from the cached encoder's per-batch callback."""
    if total <= 0:
        yield
        return
    started = time.perf_counter()
    with click.progressbar(length=total, label=label, file=sys.stderr,
                           show_pos=True) as bar:
        encoder.progress = bar.update
        try:
            yield
        finally:
            encoder.progress = None
    elapsed = time.perf_counter() - started
    click.echo(f"{label}：{total} 条，{elapsed:.1f} 秒，{total / max(elapsed, 1e-9):.1f} 条/秒", err=True)


def _service() -> Any:
    from kejie.wiring import match_service

    return match_service(get_settings())


def _fail(exc: Exception) -> KejieCommandError:
    return KejieCommandError(str(exc))


# -- kejie index ------------------------------------------------------------------
@click.group("index")
def index_group() -> None:
    """向量与关键词索引（专家、学会、需求）。"""


def _run_sync(kinds: list[str], rebuild: bool) -> None:
    from matcher.index import CandidateIndex

    svc = _service()
    try:
        with open_session() as session:
            for kind in kinds:
                candidates = svc.load_candidates(session, kind)
                texts = CandidateIndex.passage_texts(candidates)
                enc = svc.encoder
                with _progress(enc, enc.missing(texts, "passage"), f"编码 {kind}"):
                    counts = svc.sync(session, [kind], rebuild=rebuild)
                click.echo(
                    f"{kind}: 共 {counts[f'{kind}_total']} 条；新增 {counts['added']}，"
                    f"更新 {counts['updated']}，删除 {counts['removed']}，未变 {counts['unchanged']}"
                )
    except MatcherError as exc:
        raise _fail(exc) from exc


def _background(kinds: list[str], rebuild: bool, wait: bool) -> None:
    from kejie import job_tasks
    from kejie.cli.jobs_cmd import queued

    settings = get_settings()
    queued(settings, job_tasks.enqueue(settings, "index_sync", kinds, rebuild, user="cli"), wait)


_BACKGROUND = click.option("--background", is_flag=True,
                           help="作为后台任务排队（大量编码分片给所有任务进程并行完成）")
_WAIT = click.option("--wait/--no-wait", default=True, show_default=True, help="与 --background 同用：跟踪进度直到完成")


@index_group.command("build")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KIND_CHOICES),
              help="只重建这些类型（可重复）；默认全部")
@_BACKGROUND
@_WAIT
def index_build(kinds: tuple[str, ...], background: bool, wait: bool) -> None:
    """从数据库完整重建索引（已缓存的向量不会重新编码）。"""
    if background:
        _background(list(kinds) or KIND_CHOICES, True, wait)
        return
    _run_sync(list(kinds) or KIND_CHOICES, rebuild=True)


@index_group.command("sync")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KIND_CHOICES))
@_BACKGROUND
@_WAIT
def index_sync(kinds: tuple[str, ...], background: bool, wait: bool) -> None:
    """只处理新增、修改和删除的记录。"""
    if background:
        _background(list(kinds) or KIND_CHOICES, False, wait)
        return
    _run_sync(list(kinds) or KIND_CHOICES, rebuild=False)


# -- stateless file commands ----------------------------------------------------------
def _file_ranker(candidates_path: Path, kind: str, fusion: str | None,
                 use_model: bool = True) -> tuple[Any, Any, Any]:
    from kejie.match_models import load_model
    from kejie.records import read_candidates
    from matcher.cache import CachedEncoder, EmbeddingCache
    from matcher.encoders import load_encoder
    from matcher.index import CandidateIndex
    from matcher.ranker import Ranker
    from matcher.segment import make_segmenter

    settings = get_settings()
    cf = read_candidates(candidates_path, kind)  # type: ignore[arg-type]
    for problem in cf.problems:
        click.echo(f"警告：{problem}", err=True)
    if not cf.candidates:
        raise KejieCommandError(f"{candidates_path}: 没有可用的候选记录；请检查表头和内容")
    encoder = CachedEncoder(load_encoder(settings),
                            EmbeddingCache(Path(settings.resolved_index_dir) / "embeddings.sqlite"))
    segment = make_segmenter(mode="search")
    model = load_model(cf.kind, settings.match_model_dir) if use_model and not fusion else None
    texts = CandidateIndex.passage_texts(cf.candidates)
    with _progress(encoder, encoder.missing(texts, "passage"), "编码候选"):
        ranker = Ranker.from_candidates(cf.candidates, encoder, segment, fusion, model=model)
    return cf, encoder, ranker


def _read_queries(path: Path, limit: int | None) -> list[tuple[str, Any]]:
    from kejie.records import read_queries

    qf = read_queries(path, limit)
    for problem in qf.problems:
        click.echo(f"警告：{problem}", err=True)
    if not qf.queries:
        raise KejieCommandError(f"{path}: 没有可用的查询；每行应为含 id 和 text（或 title+content）的JSON")
    return qf.queries


def _encode(ranker: Any, encoder: Any, queries: list[Any]) -> Any:
    from matcher.signals import as_demand_text

    texts = [as_demand_text(q) for q in queries]
    pending = [t.focus for t in texts] + [t.title for t in texts if t.title] + \
        [p for t in texts for p in t.parts]
    with _progress(encoder, encoder.missing(pending, "query"), "编码查询"):
        return ranker.encode_queries(texts)


@click.command("rank")
@click.option("--candidates", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="专家或学会文件（CSV/XLSX/JSON/JSONL）")
@click.option("--queries", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="JSONL：id + text（或 title + content）")
@click.option("--top-k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--kind", type=click.Choice(["auto", "expert", "society"]), default="auto", show_default=True)
@click.option("--fusion", default=None,
              help="融合策略（默认按候选类型：专家用拟合的模型，学会用 semantic_boost）：weighted、rrf、semantic、lexical")
@click.option("--limit", type=int, default=None, help="只处理前 N 条查询")
def rank_cmd(candidates: Path, queries: Path, top_k: int, output: Path, kind: str,
             fusion: str | None, limit: int | None) -> None:
    """对文件中的每条查询排序候选，结果写入 JSONL。"""
    try:
        cf, encoder, ranker = _file_ranker(candidates, kind, fusion)
        qs = _read_queries(queries, limit)
        results = ranker.rank_encoded(_encode(ranker, encoder, [t for _, t in qs]), top_k)
    except MatcherError as exc:
        raise _fail(exc) from exc
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as fh:
        for (qid, _), matches in zip(qs, results, strict=True):
            line = {"query_id": qid, "results": [
                {"id": m.id, "name": m.name, "score": round(float(m.score), 6),
                 "lexical": round(float(m.lexical), 6), "semantic": round(float(m.semantic), 6),
                 "probability": None if m.probability is None else round(m.probability, 4),
                 "grade": m.grade, "reasons": m.reasons}
                for m in matches]}
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    click.echo(f"已写入 {output}：{len(qs)} 条查询，{len(cf.candidates)} 个候选")


def _eval_strategies(kind: str, fusion: str | None, ranker: Any, graded: bool) -> dict[str, Any]:
    from matcher.fusion import DEFAULT, RRF, Linear, Single, TwoChannel, Weighted

    own = fusion or ("fitted model" if isinstance(ranker.fusion, Linear) else ranker.fusion.name)
    if ranker.calibration is not None:
        own += ", graded"
    default = f"default ({own})"
    if graded:
        return {
            default: None,
            "bm25": Single("bm25"),
            "char n-gram tf-idf": Single("char"),
            "e5 whole profile": Single("dense_profile"),
            "e5 best item": Single("dense_item"),
            "rrf (bm25, e5 profile)": TwoChannel(RRF(), "bm25", "dense_profile"),
            "rrf (bm25, e5 item)": TwoChannel(RRF(), "bm25", "dense_item"),
            f"previous default ({DEFAULT})": DEFAULT,
        }
    return {
        default: None,
        "bm25 only": "lexical",
        "dense only": "semantic",
        "rrf (k=60)": RRF(),
        "weighted 0.9/0.1": Weighted(0.9, 0.1),
    }


@click.command("eval")
@click.option("--candidates", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--queries", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--qrels", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="TSV：query_id  candidate_id  grade")
@click.option("--limit", type=int, default=None, help="只评估前 N 条查询")
@click.option("--kind", type=click.Choice(["auto", "expert", "society"]), default="auto", show_default=True)
@click.option("--fusion", default=None, help="默认配置使用的融合策略")
def eval_cmd(candidates: Path, queries: Path, qrels: Path, limit: int | None, kind: str,
             fusion: str | None) -> None:
    """评估排序：默认配置与各基线在同一次运行中对比。

    专家（分级评判）：nDCG@10、Hit@3、P@5、judged@10，只统计有 2 级专家的需求；
    学会：nDCG@10、Recall@3、MRR。"""
    from kejie.records import read_qrels
    from matcher.evaluation import evaluate

    try:
        rels = read_qrels(qrels)
        cf, encoder, ranker = _file_ranker(candidates, kind, fusion)
        qs = [(q, t) for q, t in _read_queries(queries, None) if q in rels]
        if limit is not None:
            qs = qs[:limit]
        if not qs:
            raise KejieCommandError(f"{queries} 中没有出现在 {qrels} 里的查询")
        graded = cf.kind == "expert" and any(g >= 2 for r in rels.values() for g in r.values())
        eq = _encode(ranker, encoder, [t for _, t in qs])
        results = evaluate(ranker, list(zip([q for q, _ in qs], eq.texts, strict=True)), rels,
                           _eval_strategies(cf.kind, fusion, ranker, graded), graded=graded)
    except MatcherError as exc:
        raise _fail(exc) from exc
    width = max(len(k) for k in results)
    for label, m in results.items():
        click.echo(f"{label:<{width}}  {m}")


def register(group: click.Group) -> None:
    group.add_command(index_group)
    group.add_command(rank_cmd)
    group.add_command(eval_cmd)

"""``kejie encoder distill`` / ``kejie encoder info``: the fast static encoder."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import click

from kejie.cli.common import KejieCommandError
from kejie.settings import DATA_DIR, REPO_ROOT, get_settings


def generator_terms() -> list[str]:
    """Domain terms of the synthetic-data generator (``bench/vocab.py``), if the
    repository checkout has it; the installed package does not ship ``bench``."""
    path = REPO_ROOT / "bench" / "vocab.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location("_kejie_bench_vocab", path)
    if spec is None or spec.loader is None:
        return []
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        return list(module.all_terms())
    finally:
        sys.modules.pop(spec.name, None)


@click.group("encoder")
def encoder_group() -> None:
    """Encoders: distill the fast static model from the bundled e5."""


@encoder_group.command("distill")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Model directory to write (default: <var_dir>/encoders/static).")
@click.option("--vocab-size", type=click.IntRange(min=10), default=20000, show_default=True,
              help="Number of words (multi-character tokens); characters come on top.")
@click.option("--chars", type=click.IntRange(min=0), default=3000, show_default=True,
              help="Most common CJK characters added as fallback tokens.")
@click.option("--corpus", "corpora", type=click.Path(exists=True, dir_okay=True, path_type=Path),
              multiple=True, help="Extra CSV/JSONL/XLSX/TXT files or directories to mine words from "
                                  "(e.g. ../shared/data/societies.csv). Repeatable.")
@click.option("--role", type=click.Choice(["passage", "query", "both"]), default="passage",
              show_default=True, help="Which e5 prefix the token vectors come from.")
@click.option("--weighting", type=click.Choice(["sif", "none"]), default="sif", show_default=True)
@click.option("--sif-a", type=float, default=1e-3, show_default=True)
@click.option("--center/--no-center", default=True, show_default=True,
              help="Remove the mean e5 direction from token vectors.")
@click.option("--remove-pcs", type=click.IntRange(min=0), default=12, show_default=True,
              help="Project out this many top principal directions of the token vectors.")
@click.option("--general-words/--no-general-words", default=True, show_default=True,
              help="Fill the vocabulary with jieba's most frequent words after the domain words.")
@click.option("--sample/--no-sample", default=True, show_default=True,
              help="Mine data/sample, the domain dictionary (matcher/data/userdict.txt) and the generator vocabulary.")
@click.option("--min-count", type=click.IntRange(min=1), default=2, show_default=True)
def distill_cmd(out_dir: Path | None, vocab_size: int, chars: int, corpora: tuple[Path, ...],
                role: str, weighting: str, sif_a: float, center: bool, remove_pcs: int, general_words: bool,
                sample: bool, min_count: int) -> None:
    """Build a static-embedding model from the bundled e5 over the domain vocabulary.

    Afterwards: KEJIE_ENCODER=static KEJIE_ENCODER_MODEL=<out>.
    """
    from matcher.cache import CachedEncoder, EmbeddingCache
    from matcher.encoders import static, static_distill, static_vocab
    from matcher.encoders.e5 import E5Encoder

    settings = get_settings()
    out = out_dir or static.default_model_dir(settings)
    files: list[Path] = []
    if sample and (DATA_DIR / "sample").is_dir():
        files.extend(sorted(p for p in (DATA_DIR / "sample").rglob("*") if p.is_file()))
    for c in corpora:
        files.extend(sorted(p for p in c.rglob("*") if p.is_file()) if c.is_dir() else [c])

    texts: list[str] = []
    for f in files:
        try:
            texts.extend(static_vocab.read_corpus_texts(f))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise KejieCommandError(f"无法读取语料文件 {f}：{exc}；请检查文件编码（UTF-8）与格式") from exc
    terms: list[str] = []
    if sample:
        from matcher.segment import DEFAULT_USERDICT

        terms.extend(static_vocab.read_userdict(DEFAULT_USERDICT))
        terms.extend(generator_terms())
    click.echo(f"语料：{len(files)} 个文件，{len(texts)} 段文本；领域词 {len(terms)} 个")

    t0 = time.perf_counter()
    vocab = static_vocab.build_vocabulary(texts, terms, vocab_size=vocab_size, chars=chars,
                                          general_words=general_words, min_count=min_count)
    click.echo(f"词表：{len(vocab.tokens)} 个 token（{vocab.sources}），用时 {time.perf_counter() - t0:.1f}s")

    # Token vectors go through the shared embedding cache: a rebuild with other
    # options (weighting, role, vocabulary size) only encodes new tokens.
    encoder = CachedEncoder(E5Encoder(threads=settings.encoder_threads),
                            EmbeddingCache(Path(settings.resolved_index_dir) / "embeddings.sqlite"),
                            batch_size=256)
    roles = ["passage", "query"] if role == "both" else [role]
    todo = sum(encoder.missing(vocab.tokens, r) for r in roles)  # type: ignore[arg-type]
    click.echo(f"需用 e5 编码 {todo} 个 token（其余已缓存）")
    with click.progressbar(length=max(todo, 1), label="e5 编码词表") as bar:
        encoder.progress = bar.update
        report = static_distill.distill(out, vocab, encoder, role=role,  # type: ignore[arg-type]
                                        weighting=weighting, sif_a=sif_a, center=center,  # type: ignore[arg-type]
                                        remove_components=remove_pcs)
    speed = f"{report.tokens_per_second:.0f} token/s" if report.encoded else "全部命中缓存"
    click.echo(
        f"已写入 {report.out_dir}：{report.tokens} 个 token × {report.dim} 维；"
        f"e5 编码 {report.encoded} 个，用时 {report.embed_seconds:.1f}s（{speed}），"
        f"总计 {report.total_seconds:.1f}s"
    )
    click.echo(f"使用：KEJIE_ENCODER=static KEJIE_ENCODER_MODEL={report.out_dir}")


@encoder_group.command("info")
@click.argument("model_dir", type=click.Path(path_type=Path), required=False)
def info_cmd(model_dir: Path | None) -> None:
    """Show how a static model directory was built."""
    from matcher.encoders import static

    settings = get_settings()
    path = model_dir or (Path(settings.encoder_model) if settings.encoder_model
                         else static.default_model_dir(settings))
    meta_path = path / static.META_FILE
    if not meta_path.exists():
        raise KejieCommandError(f"{path} 不是静态编码器目录；请先运行 kejie encoder distill --out {path}")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    click.echo(json.dumps(meta.get("report", {}), ensure_ascii=False, indent=1))


def register(group: click.Group) -> None:
    group.add_command(encoder_group)

"""Any sentence-transformers model from a local directory (or an already
cached hub name). Never downloads: loading uses ``local_files_only``.

Query/passage prompts: explicit arguments win, else the model's own
``prompts['query']`` / ``prompts['passage']`` if it defines them, else none.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np

from matcher.errors import EncoderUnavailable


def _fingerprint(path: Path, extra: str) -> str:
    h = hashlib.sha256(extra.encode("utf-8"))
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            st = f.stat()
            h.update(f"{f.relative_to(path)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:12]


class SentenceTransformerEncoder:
    def __init__(
        self,
        model: str | Path,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        batch_size: int = 32,
        threads: int = 0,
    ) -> None:
        if not str(model):
            raise EncoderUnavailable(
                "未设置 sentence-transformers 模型目录：请设置 KEJIE_ENCODER_MODEL=<本地模型目录>"
            )
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - dependency is declared
            raise EncoderUnavailable(f"sentence-transformers 未安装：{exc}") from exc
        path = Path(model).expanduser()
        if threads > 0:
            import torch

            torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(
                str(path) if path.exists() else str(model), device="cpu", local_files_only=True
            )
        except Exception as exc:
            raise EncoderUnavailable(
                f"无法从 {model} 加载 sentence-transformers 模型（不会联网下载）：{exc}"
            ) from exc
        prompts = dict(getattr(self._model, "prompts", None) or {})
        self.query_prompt = query_prompt if query_prompt is not None else prompts.get("query", "")
        self.passage_prompt = (
            passage_prompt if passage_prompt is not None else prompts.get("passage", "")
        )
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:
            dim = int(self._model.encode(["x"], convert_to_numpy=True).shape[1])
        self.dim = int(dim)
        self.batch_size = batch_size
        fp = _fingerprint(path, f"{self.query_prompt}\x00{self.passage_prompt}")
        self.name = f"st:{path.name or model}:{fp}"
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode(
                [prompt + t for t in texts],
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(np.asarray(out, dtype=np.float32))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prompt)

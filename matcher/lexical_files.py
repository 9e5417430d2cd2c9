"""Character n-grams saved beside an index, so that a loaded index (every worker
of ``kejie serve --workers N``, every restart) maps them instead of fitting them:
at 250k profiles a fit takes ~16 s of CPU and ~320 MB of private memory per
process, the mapped files are shared in the page cache.

Files: ``lex.char.json`` (the header, written last) names a token; the arrays are
``lex.char.<token>.<part>.npy``: the doc-major and term-major CSR matrices, the
idf, and the row ids (key and content-hash prefix of each row, see
``CharNgrams.row_ids``). Rows are matched to the index's records by those ids
when a snapshot is built (``CharNgrams.updated``), so files from an older save
still serve every unchanged row; a damaged or missing file only means a fresh fit.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from matcher.lexical import CharNgrams

HEADER = "lex.char.json"
_MATRICES = ("matrix", "matrix_t")
_PARTS = ("data", "indices", "indptr")


def _write(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        np.save(fh, np.ascontiguousarray(array))
    os.replace(tmp, path)


def save_char(directory: Path, char: CharNgrams) -> None:
    """Write ``char`` under a new token, switch the header to it, remove older files."""
    token = uuid.uuid4().hex[:12]
    for name in _MATRICES:
        m: sp.csr_matrix = getattr(char, name)
        for part in _PARTS:
            _write(directory / f"lex.char.{token}.{name}.{part}.npy", getattr(m, part))
    _write(directory / f"lex.char.{token}.idf.npy", np.asarray(char.vectorizer.idf_, dtype=np.float32))
    _write(directory / f"lex.char.{token}.rows.npy", char.row_ids)
    vocab = sorted(char.vectorizer.vocabulary_, key=char.vectorizer.vocabulary_.__getitem__)
    head = {"token": token, "n_docs": char.n_docs, "stale_rows": char.stale_rows,
            "ngram_range": list(char.vectorizer.ngram_range), "vocabulary": vocab,
            "shape": list(char.matrix.shape)}
    tmp = directory / (HEADER + ".tmp")
    tmp.write_text(json.dumps(head, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, directory / HEADER)
    for old in directory.glob("lex.char.*.npy"):
        if not old.name.startswith(f"lex.char.{token}."):
            old.unlink(missing_ok=True)  # a process that mapped it keeps its mapping


def load_char(directory: Path) -> CharNgrams | None:
    """The saved n-grams, memory-mapped; None when there are none or they do not
    read back whole (the caller fits afresh)."""
    try:
        head = json.loads((directory / HEADER).read_text(encoding="utf-8"))
        token = head["token"]

        def arr(part: str) -> np.ndarray:
            return np.load(directory / f"lex.char.{token}.{part}.npy", mmap_mode="r").view(np.ndarray)

        char = CharNgrams(tuple(head["ngram_range"]))  # type: ignore[arg-type]
        n_docs, n_terms = (int(x) for x in head["shape"])
        shapes = {"matrix": (n_docs, n_terms), "matrix_t": (n_terms, n_docs)}
        for name in _MATRICES:
            data, indices, indptr = (arr(f"{name}.{p}") for p in _PARTS)
            rows = shapes[name][0]
            if len(indptr) != rows + 1 or len(data) != len(indices) or int(indptr[-1]) != len(data):
                return None
            setattr(char, name, sp.csr_matrix((data, indices, indptr), shape=shapes[name], copy=False))
        vocab = list(head["vocabulary"])
        idf = arr("idf")
        row_ids = arr("rows")
        if len(vocab) != n_terms or len(idf) != n_terms or row_ids.shape != (n_docs, 2):
            return None
        char.vectorizer.vocabulary_ = {t: i for i, t in enumerate(vocab)}
        char.vectorizer.idf_ = np.asarray(idf, dtype=np.float32)
        char.n_docs, char.row_ids, char.stale_rows = n_docs, row_ids, int(head["stale_rows"])
        return char
    except (OSError, ValueError, KeyError, TypeError):
        return None

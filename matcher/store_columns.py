"""Candidate records in columns, in memory or memory-mapped from an index directory.

A ``RecordStore`` holds what ``CandidateIndex`` knows of each candidate besides
its vectors, without a Python object per candidate: keys and content hashes as
arrays, names / attrs (JSON) / item texts as one UTF-8 blob each with offsets,
item fields as codes, and the segmented tokens of every item as a CSR matrix of
ids into a sorted vocabulary (the term matrix BM25 is fitted from). A loaded
store maps its ``.npy`` files read-only, so server processes loading the same
directory share one copy in the page cache, and a ``Record`` is only decoded for
the rows that are asked for (the top k, for reasons).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np
import scipy.sparse as sp

from matcher.types import Candidate, CandidateKind, ProfileItem

PREFIX = "rec"


@dataclass
class Record:
    id: str
    key: int
    name: str
    items: list[ProfileItem]
    attrs: dict[str, Any]
    hash: str
    item_tokens: list[list[str]]

    @property
    def tokens(self) -> list[str]:
        return [t for toks in self.item_tokens for t in toks]

    def candidate(self, kind: CandidateKind) -> Candidate:
        return Candidate(id=self.id, kind=kind, name=self.name, items=list(self.items),
                         attrs=dict(self.attrs))


class Strings(Sequence[str]):
    """Strings as one UTF-8 blob and ``n + 1`` offsets."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self.blob = blob
        self.offsets = offsets

    @classmethod
    def of(cls, values: Iterable[str]) -> Strings:
        encoded = [v.encode("utf-8") for v in values]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.blob[a:b].tobytes().decode("utf-8")


def _json_default(value: object) -> object:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def _save(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        np.save(fh, np.ascontiguousarray(array))
    os.replace(tmp, path)


class RecordStore:
    """Immutable columns of records (see the module doc); row r is ``ids[r]``."""

    ARRAYS = ("keys", "hashes", "item_start", "item_field", "tok_start", "tok_ids",
              "names_blob", "names_off", "attrs_blob", "attrs_off", "texts_blob", "texts_off")

    def __init__(self, ids: list[str], fields: list[str], vocab: list[str],
                 arrays: dict[str, np.ndarray], directory: Path | None = None) -> None:
        self.ids = ids
        self.fields = fields
        self.vocab = vocab
        self.keys = arrays["keys"]
        self.hashes = arrays["hashes"]  # (n, 32) uint8: sha256 digests
        self.item_start = arrays["item_start"]
        self.item_field = arrays["item_field"]
        self.tok_start = arrays["tok_start"]  # (n_items + 1,)
        self.tok_ids = arrays["tok_ids"]
        self.names = Strings(arrays["names_blob"], arrays["names_off"])
        self.attrs = Strings(arrays["attrs_blob"], arrays["attrs_off"])
        self.texts = Strings(arrays["texts_blob"], arrays["texts_off"])
        self.directory = directory
        self.row_of = {cid: r for r, cid in enumerate(ids)}

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_records(cls, records: Iterable[Record]) -> RecordStore:
        recs = list(records)
        fields = sorted({i.field for r in recs for i in r.items})
        code = {f: k for k, f in enumerate(fields)}
        vocab = sorted({t for r in recs for toks in r.item_tokens for t in toks})
        tid = {t: k for k, t in enumerate(vocab)}
        counts = np.array([len(r.items) for r in recs], dtype=np.int64)
        item_start = np.zeros(len(recs) + 1, dtype=np.int64)
        np.cumsum(counts, out=item_start[1:])
        toks = [toks for r in recs for toks in r.item_tokens]
        tok_start = np.zeros(len(toks) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in toks], out=tok_start[1:])
        names = Strings.of(r.name for r in recs)
        attrs = Strings.of(json.dumps(r.attrs, ensure_ascii=False, default=_json_default) for r in recs)
        texts = Strings.of(i.text for r in recs for i in r.items)
        arrays = {
            "keys": np.array([r.key for r in recs], dtype=np.int64),
            "hashes": np.array([np.frombuffer(bytes.fromhex(r.hash), np.uint8) for r in recs],
                               dtype=np.uint8).reshape(len(recs), 32),
            "item_start": item_start,
            "item_field": np.array([code[i.field] for r in recs for i in r.items], dtype=np.int16),
            "tok_start": tok_start,
            "tok_ids": np.fromiter((tid[t] for ts in toks for t in ts), dtype=np.int32,
                                   count=int(tok_start[-1])),
            "names_blob": names.blob, "names_off": names.offsets,
            "attrs_blob": attrs.blob, "attrs_off": attrs.offsets,
            "texts_blob": texts.blob, "texts_off": texts.offsets,
        }
        return cls([r.id for r in recs], fields, vocab, arrays)

    def save(self, directory: Path) -> None:
        """Every file to a temporary name, then renamed into place."""
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {"keys": self.keys, "hashes": self.hashes, "item_start": self.item_start,
                  "item_field": self.item_field, "tok_start": self.tok_start, "tok_ids": self.tok_ids,
                  "names_blob": self.names.blob, "names_off": self.names.offsets,
                  "attrs_blob": self.attrs.blob, "attrs_off": self.attrs.offsets,
                  "texts_blob": self.texts.blob, "texts_off": self.texts.offsets}
        for name, arr in arrays.items():
            _save(directory / f"{PREFIX}.{name}.npy", arr)
        tmp = directory / f"{PREFIX}.json.tmp"
        tmp.write_text(json.dumps({"ids": self.ids, "fields": self.fields, "vocab": self.vocab},
                                  ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, directory / f"{PREFIX}.json")

    @classmethod
    def load(cls, directory: Path) -> RecordStore:
        """Map a saved store (raises OSError / ValueError / KeyError when a file is damaged)."""
        head = json.loads((directory / f"{PREFIX}.json").read_text(encoding="utf-8"))
        # plain ndarray views of the mapped files (np.memmap's Python-level indexing is slow)
        arrays = {name: np.load(directory / f"{PREFIX}.{name}.npy", mmap_mode="r").view(np.ndarray)
                  for name in cls.ARRAYS}
        store = cls(list(head["ids"]), list(head["fields"]), list(head["vocab"]), arrays, directory)
        n, n_items = len(store), int(store.item_start[-1]) if len(store.item_start) else 0
        if (len(store.keys) != n or store.hashes.shape != (n, 32) or len(store.item_start) != n + 1
                or len(store.names) != n or len(store.attrs) != n or len(store.texts) != n_items
                or len(store.item_field) != n_items or len(store.tok_start) != n_items + 1
                or int(store.tok_start[-1]) != len(store.tok_ids)):
            raise ValueError("record columns disagree")
        return store

    # -- rows ---------------------------------------------------------------
    def hash_at(self, row: int) -> str:
        return self.hashes[row].tobytes().hex()

    def item_tokens(self, row: int) -> list[list[str]]:
        a, b = int(self.item_start[row]), int(self.item_start[row + 1])
        vocab, ts = self.vocab, self.tok_start
        return [[vocab[t] for t in self.tok_ids[int(ts[i]): int(ts[i + 1])].tolist()] for i in range(a, b)]

    def items(self, row: int) -> list[ProfileItem]:
        a, b = int(self.item_start[row]), int(self.item_start[row + 1])
        return [ProfileItem(self.fields[int(self.item_field[i])], self.texts[i]) for i in range(a, b)]

    def record(self, row: int) -> Record:
        return Record(id=self.ids[row], key=int(self.keys[row]), name=self.names[row],
                      items=self.items(row), attrs=json.loads(self.attrs[row]), hash=self.hash_at(row),
                      item_tokens=self.item_tokens(row))

    def profile_text(self, row: int) -> str:
        a, b = int(self.item_start[row]), int(self.item_start[row + 1])
        return "；".join(self.texts[i] for i in range(a, b))

    # -- bulk ---------------------------------------------------------------
    def item_counts(self) -> sp.csr_matrix:
        """(n_items, len(vocab)) token counts, float32."""
        n_items = len(self.tok_start) - 1
        # copies: sum_duplicates sorts in place, and a loaded store is read-only
        m = sp.csr_matrix((np.ones(len(self.tok_ids), dtype=np.float32), np.array(self.tok_ids),
                           np.array(self.tok_start)), shape=(n_items, len(self.vocab)))
        m.sum_duplicates()
        return m

    def row_ids(self) -> np.ndarray:
        """(n, 2) int64: each row's key and the first 8 bytes of its content hash
        (what ``CharNgrams`` matches rows by)."""
        h8 = np.ascontiguousarray(np.asarray(self.hashes, dtype=np.uint8)[:, :8]).view(np.int64).ravel()
        return np.column_stack([np.asarray(self.keys, dtype=np.int64), h8])

    def profile_counts(self) -> sp.csr_matrix:
        """(n, len(vocab)) token counts of whole profiles (the items' summed): a row's
        items' tokens are one run of ``tok_ids``, so its counts are that run's."""
        starts = np.asarray(self.tok_start)[np.asarray(self.item_start)]
        m = sp.csr_matrix((np.ones(len(self.tok_ids), dtype=np.float32), np.array(self.tok_ids),
                           np.array(starts)), shape=(len(self), len(self.vocab)))
        m.sum_duplicates()
        return m

"""BM25 over pre-segmented tokens, on scipy sparse matrices.

Documents are turned into a BM25-weighted term matrix once; a batch of queries
is a sparse count matrix, and scoring is one sparse product (no Python loop
over documents). ``ItemBM25`` scores the items of each candidate separately
and reduces them to one score per candidate (max, or a soft max).
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from matcher.postings import Postings, postings_product


def _identity(tokens: list[str]) -> list[str]:
    return tokens


_NOT_WORD = re.compile(r"[^0-9a-z\u3400-\u9fff]+")


def char_text(text: str) -> str:
    """Folded text for character n-grams: NFKC, lower case, runs of anything
    that is not a letter, digit or CJK character become one space."""
    return _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text or "").lower()).strip()


def match_rows(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """For each row id of ``new`` ((n, 2) int64: key, hash), its position in
    ``old``, or -1."""
    out = np.full(len(new), -1, dtype=np.int64)
    if len(old) == 0 or len(new) == 0:
        return out
    keys = old[:, 0]
    if np.all(keys[1:] > keys[:-1]):  # an index's rows are in key order: no sort (0.4 s at 250k)
        pos = np.minimum(np.searchsorted(keys, new[:, 0]), len(keys) - 1)
        hit = (keys[pos] == new[:, 0]) & (old[pos, 1] == new[:, 1])
        out[hit] = pos[hit]
        return out
    o = np.ascontiguousarray(old, dtype=np.int64).view([("k", np.int64), ("h", np.int64)]).ravel()
    q = np.ascontiguousarray(new, dtype=np.int64).view([("k", np.int64), ("h", np.int64)]).ravel()
    order = np.argsort(o, kind="stable")
    pos = np.minimum(np.searchsorted(o[order], q), len(o) - 1)
    hit = o[order][pos] == q
    out[hit] = order[pos[hit]]
    return out


def _spliced(old: sp.csr_matrix, reuse: np.ndarray, new_rows: sp.csr_matrix) -> sp.csr_matrix:
    """Rows ``r`` of the result: row ``reuse[r]`` of ``old`` where that is >= 0 (in
    increasing order), else the next row of ``new_rows``. Each run of consecutive
    old (or new) rows is one slice of the arrays: a write to a few of 250k rows
    costs a copy of the arrays, not a gather of every row."""
    n = len(reuse)
    if n == 0:
        return sp.csr_matrix((0, old.shape[1]), dtype=np.float32)
    is_old = reuse >= 0
    new_at = np.cumsum(~is_old) - 1  # the row of ``new_rows`` for each new row
    cut = np.flatnonzero((is_old[1:] != is_old[:-1]) | (is_old[1:] & (reuse[1:] != reuse[:-1] + 1))) + 1
    indices, data = [], []
    for a, b in zip([0, *cut.tolist()], [*cut.tolist(), n], strict=True):
        src, first, last = (old, reuse[a], reuse[b - 1]) if is_old[a] else (new_rows, new_at[a], new_at[b - 1])
        lo, hi = int(src.indptr[first]), int(src.indptr[last + 1])
        indices.append(np.asarray(src.indices[lo:hi]))
        data.append(np.asarray(src.data[lo:hi]))
    lengths = np.zeros(n, dtype=np.int64)
    lengths[is_old] = np.diff(old.indptr)[reuse[is_old]]
    lengths[~is_old] = np.diff(new_rows.indptr)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    cat_i = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32)
    cat_d = np.concatenate(data).astype(np.float32, copy=False) if data else np.zeros(0, dtype=np.float32)
    return sp.csr_matrix((cat_d, cat_i, indptr), shape=(n, old.shape[1]))


class CharNgrams:
    """Character n-gram TF-IDF with cosine scores (sublinear tf, l2 rows).

    Fitted once per snapshot, then only read; ``transform``'s small query cache
    has its own lock.

    Needs no segmenter, so it still matches technical terms that jieba cuts
    differently in a demand and a profile (机器视觉 vs 机器/视觉).
    """

    QUERY_CACHE = 2048
    # ``updated`` transforms changed rows with the vocabulary and idf of the last
    # full fit; past this share of such rows the next snapshot fits afresh
    REFIT_SHARE = 0.1
    # ... and only above this many rows. A fit holds the GIL all along (the
    # analyser is Python): ~0.36 ms per 385-character demand, so 7 s at 20k
    # demands and 40-90 ms on the bundled sample, taken from the queries the same
    # process answers meanwhile; hence every collection is updated between fits.
    INCREMENTAL_ABOVE = 0

    def __init__(self, ngram_range: tuple[int, int] = (2, 3)) -> None:
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range,
                                          preprocessor=char_text, sublinear_tf=True,
                                          dtype=np.float32)
        # term-major for scoring every document, doc-major for a few rows (slicing
        # rows of a CSR matrix is cheap, slicing its columns is not)
        self.matrix_t: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.matrix: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.n_docs = 0
        # (n_docs, 2) int64 identity of each row (key, first 8 bytes of its content
        # hash), set by the index: which rows a later row set can reuse
        self.row_ids = np.zeros((0, 2), dtype=np.int64)
        self.stale_rows = 0  # rows transformed (not fitted) since the last full fit
        self._seen: dict[str, sp.csr_matrix] = {}
        self._rows_cache: tuple[np.ndarray, sp.csr_matrix] | None = None
        self._seen_lock = threading.Lock()
        self._df: np.ndarray | None = None  # rows per n-gram (``without_common``)
        self._postings = Postings()

    def fit(self, docs: Sequence[str]) -> CharNgrams:
        self.n_docs = len(docs)
        self._df = None
        if not any(char_text(d) for d in docs):
            self.matrix_t = sp.csr_matrix((0, len(docs)), dtype=np.float32)
            return self
        self.matrix = self.vectorizer.fit_transform(list(docs)).tocsr()
        self.matrix_t = self.matrix.T.tocsr()
        return self

    @property
    def fitted(self) -> bool:
        return self.matrix_t.shape[0] > 0

    def reuse_cost(self, row_ids: np.ndarray) -> float:
        """How many rows ``updated(row_ids, ...)`` would transform; infinite where
        it would return None (the caller fits afresh)."""
        n = len(row_ids)
        if not self.fitted or n < self.INCREMENTAL_ABOVE:
            return math.inf
        fresh = int(np.count_nonzero(match_rows(self.row_ids, row_ids) < 0))
        return math.inf if self.stale_rows + fresh > self.REFIT_SHARE * n else float(fresh)

    def updated(self, row_ids: np.ndarray, docs: Callable[[np.ndarray], list[str]]) -> CharNgrams | None:
        """The n-grams of another row set (``row_ids`` as in ``self.row_ids``): rows
        found here are copied, the others transformed from ``docs(rows)`` with this
        fit's vocabulary and idf. ``self`` itself when nothing changed (its arrays,
        memory-mapped or not, are shared); None when the caller should fit afresh:
        too many rows changed since the last full fit (``REFIT_SHARE``), or the
        collection is under ``INCREMENTAL_ABOVE`` rows. A write to
        one candidate of 250k costs a row copy (~1 s) instead of a fit (~16 s)."""
        n = len(row_ids)
        if not self.fitted:
            return None
        if n == self.n_docs and np.array_equal(row_ids, self.row_ids):
            return self
        reuse = match_rows(self.row_ids, row_ids)
        fresh = np.flatnonzero(reuse < 0)
        stale = self.stale_rows + len(fresh)
        if n < self.INCREMENTAL_ABOVE or stale > self.REFIT_SHARE * n:
            return None
        kept = np.flatnonzero(reuse >= 0)
        new_rows = sp.csr_matrix(self.vectorizer.transform(docs(fresh)) if len(fresh) else
                                 (0, self.matrix.shape[1]), dtype=np.float32)
        out = CharNgrams()
        out.vectorizer = self.vectorizer  # fitted, only read from here on
        if np.all(np.diff(reuse[kept]) > 0):  # the old rows in their order: copied as runs
            out.matrix = _spliced(self.matrix, reuse, new_rows)
        else:
            stacked = sp.vstack([self.matrix[reuse[kept]], new_rows], format="csr")
            order = np.empty(n, dtype=np.int64)  # row r of the result is row order[r] of ``stacked``
            order[kept] = np.arange(len(kept))
            order[fresh] = len(kept) + np.arange(len(fresh))
            out.matrix = stacked[order]
        out.matrix_t = out.matrix.T.tocsr()
        out.n_docs, out.row_ids, out.stale_rows = n, np.asarray(row_ids, dtype=np.int64), stale
        return out

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix | None:
        """Query vectors (None when nothing was fitted); the last ``QUERY_CACHE``
        texts' vectors are remembered (demands are matched again and again)."""
        if self.matrix_t.shape[0] == 0:
            return None
        with self._seen_lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._seen]
        if todo:
            fresh = self.vectorizer.transform(todo)
            with self._seen_lock:
                for t, row in zip(todo, fresh, strict=True):
                    self._seen[t] = row
                    if len(self._seen) > self.QUERY_CACHE:
                        self._seen.pop(next(iter(self._seen)))
        with self._seen_lock:
            rows = [self._seen.get(t) for t in texts]
        if any(r is None for r in rows):  # evicted within this very call: compute directly
            return self.vectorizer.transform(list(texts))
        return sp.vstack(rows, format="csr")

    def score(self, texts: Sequence[str] | sp.csr_matrix | None,
              rows: np.ndarray | None = None) -> np.ndarray:
        """Dense (n_texts, n_docs or len(rows)) cosine similarities of texts (or
        of vectors from ``transform``)."""
        n = self.n_docs if rows is None else len(rows)
        q = texts if texts is None or sp.issparse(texts) else self.transform(texts)  # type: ignore[arg-type]
        if q is None or q.shape[0] == 0:
            n_q = 0 if texts is None else (texts.shape[0] if sp.issparse(texts) else len(texts))  # type: ignore[union-attr, arg-type]
            return np.zeros((n_q, n), dtype=np.float32)
        if rows is None:
            return postings_product(q, self.matrix_t, self._postings.of(self.matrix_t))
        # a few rows against a dense query: no sparse-by-sparse product, no format
        # conversion; a read-only row array is a fixed set (the stats rows, scored with
        # every query), and its slice is kept
        cached = self._rows_cache
        if cached is not None and cached[0] is rows:
            part = cached[1]
        else:
            part = self.matrix[rows]
            if not rows.flags.writeable:
                self._rows_cache = (rows, part)
        return np.ascontiguousarray((part @ q.toarray().T).T, dtype=np.float32)

    def without_common(self, q: sp.csr_matrix | None, max_share: float) -> sp.csr_matrix | None:
        """Query vectors ``q`` keeping only the n-grams found in at most ``max_share``
        of the rows: for finding a query's top rows cheaply (a long demand's n-grams
        reach ~2.7M postings at 250k rows, mostly of common bigrams whose low idf
        moves little), its exact cosines coming from ``score`` on the rows kept."""
        if q is None or max_share >= 1 or q.nnz == 0:
            return q
        df = self._df
        if df is None or len(df) != self.matrix_t.shape[0]:
            df = self._df = np.diff(self.matrix_t.indptr)
        keep = df[q.indices] <= max_share * self.n_docs
        owner = np.repeat(np.arange(q.shape[0]), np.diff(q.indptr))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(owner[keep], minlength=q.shape[0]))])
        return sp.csr_matrix((q.data[keep], q.indices[keep], indptr), shape=q.shape)


class BM25:
    def __init__(self, k1: float = 1.2, b: float = 0.75, query_tf: str = "count") -> None:
        self.k1 = k1
        self.b = b
        self.query_tf = query_tf  # "count" or "binary"
        self.vectorizer = CountVectorizer(analyzer=_identity, lowercase=False)
        self.idf = np.zeros(0)
        # (n_terms, n_docs): the layout a query product needs, so scoring
        # never converts it; ``weights`` is its (n_docs, n_terms) transpose view.
        self.weights_t: sp.csr_matrix = sp.csr_matrix((0, 0))
        self.n_docs = 0
        self.vocabulary: dict[str, int] = {}
        self._postings = Postings()

    def fit(self, docs: Sequence[list[str]]) -> BM25:
        self.n_docs = len(docs)
        if not docs or not any(docs):
            self.vocabulary = {}
            self.idf = np.zeros(0)
            self.weights_t = sp.csr_matrix((0, len(docs)), dtype=np.float32)
            return self
        tf = self.vectorizer.fit_transform(list(docs)).tocsr().astype(np.float32)
        return self._fit_tf(tf, dict(self.vectorizer.vocabulary_))

    def fit_counts(self, tf: sp.csr_matrix, vocab: Sequence[str]) -> BM25:
        """Fit from a (n_docs, len(vocab)) term-count matrix (``vocab`` sorted, as
        ``CountVectorizer`` sorts it: the same weights as ``fit`` on the token
        lists). Terms no document uses are dropped."""
        tf = sp.csr_matrix(tf, dtype=np.float32)
        self.n_docs = tf.shape[0]
        df = np.bincount(tf.indices, minlength=len(vocab))  # np.unique sorted them: 0.08-0.1 s at 250k rows
        used = np.flatnonzero(df)
        if len(used) == 0:
            self.vocabulary = {}
            self.idf = np.zeros(0)
            self.weights_t = sp.csr_matrix((0, self.n_docs), dtype=np.float32)
            return self
        remap = np.full(len(vocab), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        tf = sp.csr_matrix((tf.data, remap[tf.indices], tf.indptr), shape=(self.n_docs, len(used)))
        return self._fit_tf(tf, {vocab[j]: k for k, j in enumerate(used.tolist())}, df[used])

    def _fit_tf(self, tf: sp.csr_matrix, vocabulary: dict[str, int], df: np.ndarray | None = None) -> BM25:
        self.vocabulary = vocabulary
        if df is None:
            df = np.bincount(tf.indices, minlength=tf.shape[1])
        df = np.asarray(df, dtype=np.float64)
        n = float(tf.shape[0])
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5))
        dl = np.asarray(tf.sum(axis=1)).ravel()
        avgdl = float(dl.mean()) or 1.0
        norm = self.k1 * (1.0 - self.b + self.b * dl / avgdl)
        rows = np.repeat(np.arange(tf.shape[0]), np.diff(tf.indptr))
        data = tf.data * (self.k1 + 1.0) / (tf.data + norm[rows])
        data = data * self.idf[tf.indices]
        weights = sp.csr_matrix(
            (data.astype(np.float32), tf.indices.copy(), tf.indptr.copy()), shape=tf.shape
        )
        self.weights_t = weights.T.tocsr()
        return self

    @property
    def weights(self) -> sp.csc_matrix:
        """(n_docs, n_terms) BM25 weights (a transpose view of ``weights_t``)."""
        return self.weights_t.T

    def query_matrix(self, queries: Sequence[list[str]]) -> sp.csr_matrix:
        vocab = self.vocabulary
        rows: list[int] = []
        cols: list[int] = []
        for r, toks in enumerate(queries):
            for t in toks:
                j = vocab.get(t)
                if j is not None:
                    rows.append(r)
                    cols.append(j)
        data = np.ones(len(rows), dtype=np.float32)
        q = sp.csr_matrix((data, (rows, cols)), shape=(len(queries), len(vocab)), dtype=np.float32)
        q.sum_duplicates()
        if self.query_tf == "binary":
            q.data[:] = 1.0
        return q

    def score(self, queries: Sequence[list[str]]) -> np.ndarray:
        """Dense (n_queries, n_docs) BM25 scores."""
        if not self.vocabulary or self.n_docs == 0:
            return np.zeros((len(queries), self.n_docs), dtype=np.float32)
        q = self.query_matrix(queries)
        return postings_product(q, self.weights_t, self._postings.of(self.weights_t))

    def term_idf(self, term: str) -> float:
        j = self.vocabulary.get(term)
        return float(self.idf[j]) if j is not None else 0.0


def group_reduce(scores: np.ndarray, owner: np.ndarray, n_groups: int, how: str = "max",
                 temperature: float | np.ndarray = 0.1) -> np.ndarray:
    """Reduce item columns of ``scores`` (n_q, n_items) to groups (n_q, n_groups).

    ``owner[i]`` is the group of item i. ``how``: "max", "mean", or "softmax"
    (``temperature * log sum exp(s / temperature)``, a smooth max that adds a
    bonus for several near-best items; ``temperature`` may be an (n_q, 1)
    array). Groups without items get 0.
    """
    n_q = scores.shape[0]
    out = np.zeros((n_q, n_groups), dtype=np.float32)
    if scores.shape[1] == 0 or n_groups == 0:
        return out
    if owner.size < 2 or bool(np.all(owner[1:] >= owner[:-1])):
        # items in owner order (a snapshot's, a gathered shortlist's): no sort, no copy
        s, o = scores, owner
        starts = np.flatnonzero(np.r_[True, o[1:] != o[:-1]])
        groups = o[starts]
    else:
        order = np.argsort(owner, kind="stable")
        s = scores[:, order]
        o = owner[order]
        groups, starts = np.unique(o, return_index=True)
    if how == "max":
        out[:, groups] = np.maximum.reduceat(s, starts, axis=1)
    elif how == "mean":
        counts = np.diff(np.append(starts, len(o)))
        out[:, groups] = np.add.reduceat(s, starts, axis=1) / counts
    elif how == "softmax":
        mx = np.maximum.reduceat(s, starts, axis=1)
        ex = np.exp((s - np.repeat(mx, np.diff(np.append(starts, len(o))), axis=1)) / temperature)
        out[:, groups] = mx + temperature * np.log(np.add.reduceat(ex, starts, axis=1))
    else:
        raise ValueError(f"unknown reduction {how!r}")
    return out


class ItemBM25:
    """BM25 over profile items; a candidate's score is reduced from its items."""

    def __init__(self, k1: float = 1.2, b: float = 0.75, how: str = "max") -> None:
        self.bm25 = BM25(k1=k1, b=b)
        self.how = how
        self.owner = np.zeros(0, dtype=np.int64)
        self.n_candidates = 0

    def fit(self, items: Sequence[list[str]], owner: Sequence[int], n_candidates: int) -> ItemBM25:
        self.bm25.fit(items)
        self.owner = np.asarray(owner, dtype=np.int64)
        self.n_candidates = n_candidates
        return self

    def fit_counts(self, counts: sp.csr_matrix, vocab: Sequence[str], owner: Sequence[int] | np.ndarray,
                   n_candidates: int) -> ItemBM25:
        self.bm25.fit_counts(counts, vocab)
        self.owner = np.asarray(owner, dtype=np.int64)
        self.n_candidates = n_candidates
        return self

    def score_items(self, queries: Sequence[list[str]]) -> np.ndarray:
        return self.bm25.score(queries)

    def score(self, queries: Sequence[list[str]]) -> np.ndarray:
        return group_reduce(self.score_items(queries), self.owner, self.n_candidates, self.how)

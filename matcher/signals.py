"""Per-pair relevance signals of a demand against candidates of one snapshot.

Each signal is one column of a (n_queries, n_rows, n_signals) array:

``bm25``          word BM25 of the demand's focus text against the whole profile
``char``          character 2–3-gram TF-IDF cosine (catches terms jieba splits)
``dense_profile`` encoder cosine, focus text vs the whole-profile vector
``dense_item``    encoder cosine, focus text vs the best profile item
``dense_lse``     the item soft-max blend the ranker used before (see ranker.py)
``title_item``    encoder cosine, demand title vs the best profile item
``title_bm25``    BM25 of the title's words
``part_item``     best sub-problem: max over sub-problems of the z-scored best-item cosine
``part_bm25``     best sub-problem by BM25, z-scored per sub-problem
``coverage``      share of the sub-problems for which the candidate is among the closest 2 %
``bm25_rare``     BM25 of the focus text's rare words only (in at most 1 % of profiles):
                  company language shares common words with everyone
``dense_prf``     pseudo-relevance feedback: the focus vector moved towards the mean of
                  the five profiles that BM25 + e5 put first, against the whole profile

Raw signals have different scales and query-dependent baselines, so fusion
works on per-query z-scores. The mean and spread are measured over a fixed
sample of the snapshot's rows (all rows when small): a pair's normalised
signals then do not depend on which other rows are being scored, which keeps
the forward ranking, the reverse direction (expert -> demands) and the event
planner's score matrix on one scale.

Cost per query over n candidates with m items: one focus, one title and up to
``MAX_PARTS`` sub-problem encodings (e5 ~85 ms each for long texts, short parts
less), products of those vectors with the item matrix (n_texts x m x d), two
sparse products (BM25, char n-grams).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.demand_text import DemandText, understand
from matcher.encoders.base import Encoder
from matcher.gathered import ItemRows, as_float32
from matcher.lexical import group_reduce
from matcher.snapshot import Snapshot

Segmenter = Callable[[str], list[str]]

SIGNALS: tuple[str, ...] = (
    "bm25", "char", "dense_profile", "dense_item", "dense_lse", "title_item", "title_bm25",
    "part_item", "part_bm25", "coverage", "bm25_rare", "dense_prf",
)
# signals that are already per-query normalised when computed
_PRE_NORMALISED = {"part_item", "part_bm25", "coverage"}
STATS_SAMPLE = 2048  # rows whose scores give a query's mean and spread (all rows below)
COVER_SHARE = 0.02
RARE_SHARE = 0.01  # a word in more profiles than this is not "rare"
RARE_MIN_DF = 2  # ... but in a small collection a word in two profiles still is
PRF_DEPTH = 5
PRF_WEIGHT = 0.5


@dataclass
class EncodedQueries:
    """Everything about a batch of demands that scoring needs, encoded once."""

    texts: list[DemandText]
    focus_vecs: np.ndarray  # (n_q, d)
    title_vecs: np.ndarray  # (n_q, d)
    part_vecs: np.ndarray  # (n_parts_total, d)
    part_owner: np.ndarray  # (n_parts_total,) query of each part
    focus_tokens: list[list[str]]
    title_tokens: list[list[str]]
    part_tokens: list[list[str]]
    _char: tuple[int, Any] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def focus_char(self, snap: Snapshot) -> Any:
        """The focus texts as character n-gram vectors of ``snap`` (computed once)."""
        key = id(snap.char_ngrams)
        if self._char is None or self._char[0] != key:
            self._char = (key, snap.char_ngrams.transform([t.focus for t in self.texts]))
        return self._char[1]

    def subset(self, queries: Sequence[int]) -> EncodedQueries:
        """The same encodings for some of the queries (renumbered 0..)."""
        qs = list(queries)
        keep = np.isin(self.part_owner, qs)
        renum = {q: i for i, q in enumerate(qs)}
        return EncodedQueries(
            texts=[self.texts[q] for q in qs], focus_vecs=self.focus_vecs[qs],
            title_vecs=self.title_vecs[qs], part_vecs=self.part_vecs[keep],
            part_owner=np.array([renum[int(o)] for o in self.part_owner[keep]], dtype=np.int64),
            focus_tokens=[self.focus_tokens[q] for q in qs],
            title_tokens=[self.title_tokens[q] for q in qs],
            part_tokens=[t for t, k in zip(self.part_tokens, keep, strict=True) if k],
        )


def as_demand_text(query: str | DemandText | tuple[str, str]) -> DemandText:
    """A query as given (plain text, (title, body) or already understood)."""
    if isinstance(query, DemandText):
        return query
    if isinstance(query, tuple):
        return understand(*query)
    return understand("", query)


def encode_queries(queries: Sequence[str | DemandText | tuple[str, str]], encoder: Encoder,
                   segment: Segmenter) -> EncodedQueries:
    texts = [as_demand_text(q) for q in queries]
    focus = [t.focus or t.title for t in texts]
    titles = [t.title or t.focus for t in texts]
    parts = [p for t in texts for p in t.parts]
    owner = np.array([qi for qi, t in enumerate(texts) for _ in t.parts], dtype=np.int64)
    # one encoder call for all texts (batches better, one cache round trip)
    vecs = encoder.encode_queries(focus + titles + parts) if texts else np.zeros((0, 1), np.float32)
    n = len(texts)
    return EncodedQueries(
        texts=texts, focus_vecs=vecs[:n], title_vecs=vecs[n: 2 * n], part_vecs=vecs[2 * n:],
        part_owner=owner, focus_tokens=[segment(t) for t in focus],
        title_tokens=[segment(t) for t in titles], part_tokens=[segment(p) for p in parts],
    )


def stats_rows(n: int, sample: int = STATS_SAMPLE) -> np.ndarray:
    """The fixed rows whose scores give each query's mean and spread."""
    step = max(1, -(-n // sample))
    return np.arange(0, n, step, dtype=np.int64)


def snapshot_stats_rows(snap: Snapshot) -> np.ndarray:
    """``stats_rows`` of a snapshot, one array object per snapshot (so its items can be reused)."""
    ref = snap.memo.get("stats_rows")
    if ref is None:
        ref = stats_rows(len(snap))
        ref.flags.writeable = False  # a fixed set: scorers may keep what they derive from it
        snap.memo["stats_rows"] = ref
    return ref


def _zscore(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    mu = ref.mean(axis=-1, keepdims=True)
    sd = ref.std(axis=-1, keepdims=True)
    return (x - mu) / np.maximum(sd, 1e-6)


@dataclass
class _Rows:
    """What the dense signals read of some rows, gathered once per scoring (the stats
    rows' once per snapshot): float32 profile vectors, the rows' items when an item
    signal needs them, and the best-item cosines of the stacked query vectors."""

    prof: np.ndarray
    items: ItemRows | None
    best: np.ndarray | None = None  # (n_stacked, n_rows), see ``_stacked``


def row_profiles(snap: Snapshot, rows: np.ndarray) -> np.ndarray:
    """float32 profile vectors of ``rows``; the stats rows' are gathered once per snapshot."""
    ref = snap.memo.get("stats_rows")
    if ref is not None and rows is ref:
        cached = snap.memo.get("stats_profile")
        if cached is None:
            cached = snap.memo["stats_profile"] = as_float32(snap.profile_of(rows))
        return cached  # type: ignore[no-any-return]
    return as_float32(snap.profile_of(rows))


def _row_items(snap: Snapshot, rows: np.ndarray) -> ItemRows:
    """The items of ``rows``; the stats rows' are gathered once per snapshot."""
    ref = snap.memo.get("stats_rows")
    if ref is not None and rows is ref:
        cached = snap.memo.get("stats_items")
        if cached is None:
            cached = _gather_items(snap, rows)
            cached.vecs  # noqa: B018 - scored with every query: gathered as float32 once
            snap.memo["stats_items"] = cached
        return cached
    return _gather_items(snap, rows)


def _gather_items(snap: Snapshot, rows: np.ndarray) -> ItemRows:
    counts = snap.item_start[rows + 1] - snap.item_start[rows]  # not a diff over every row
    owner = np.repeat(np.arange(len(rows)), counts)
    offsets = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    sel = snap.item_start[rows][owner] + offsets
    return ItemRows(snap.items, snap.item_rows(sel), owner, len(rows), counts > 0)


def _best_item(vecs: np.ndarray, it: ItemRows, fallback: np.ndarray | Callable[[np.ndarray], np.ndarray]
               ) -> np.ndarray:
    """Each vector's cosine with the closest item of each row; rows without items
    get ``fallback`` (an array for every row, or a function of the rows lacking items)."""
    sims = it.products(vecs)
    best = (group_reduce(sims, it.owner, it.n_rows, "max") if sims.shape[1]
            else np.zeros((len(vecs), it.n_rows), dtype=np.float32))
    lacking = np.flatnonzero(~it.has_items)
    if len(lacking):
        best[:, lacking] = fallback(lacking) if callable(fallback) else fallback[:, lacking]
    return best


def _stacked(eq: EncodedQueries, need: frozenset[str]) -> tuple[np.ndarray, dict[str, slice]]:
    """The query vectors whose best-item cosines the signals in ``need`` read, stacked
    so that one matrix product over the items serves them all (the items are read
    once, not once per vector set): focus, title, sub-problems."""
    n_p = len(eq.part_vecs)
    parts: list[tuple[str, np.ndarray]] = []
    if need & {"dense_item", "part_item"}:
        parts.append(("focus", eq.focus_vecs))
    if "title_item" in need:
        parts.append(("title", eq.title_vecs))
    if n_p and need & {"part_item", "coverage"}:
        parts.append(("parts", eq.part_vecs))
    where: dict[str, slice] = {}
    pos = 0
    for name, v in parts:
        where[name] = slice(pos, pos + len(v))
        pos += len(v)
    vecs = np.vstack([v for _, v in parts]) if parts else np.zeros((0, eq.focus_vecs.shape[1]), np.float32)
    return np.ascontiguousarray(vecs, dtype=np.float32), where


def _gather_rows(snap: Snapshot, rows: np.ndarray, vecs: np.ndarray) -> _Rows:
    """Profiles, items (if ``vecs`` has rows) and best-item cosines of ``vecs`` for ``rows``."""
    prof = row_profiles(snap, rows)
    if len(vecs) == 0:
        return _Rows(prof, None)
    it = _row_items(snap, rows)
    return _Rows(prof, it, _best_item(vecs, it, lambda lacking: vecs @ prof[lacking].T))


def needed_signals(used: set[str] | frozenset[str] | None) -> frozenset[str]:
    """The signals to compute for a fusion that reads ``used`` (None: all of them):
    ``used`` plus what they are derived from."""
    if used is None:
        return frozenset(SIGNALS)
    need = set(used) | {"bm25", "dense_profile"}  # the feedback and fallbacks start from these
    if "part_item" in need:
        need.add("dense_item")  # a demand without sub-problems is its own single part
    return frozenset(need)


def raw_signals(snap: Snapshot, eq: EncodedQueries, rows: np.ndarray,
                semantic_blend: Callable[[np.ndarray, np.ndarray], np.ndarray] | None,
                lexical: tuple[np.ndarray, np.ndarray | None] | None = None,
                need: frozenset[str] = frozenset(SIGNALS), data: _Rows | None = None) -> np.ndarray:
    """(n_q, len(rows), len(SIGNALS)) raw signals; the part and feedback signals
    are left 0 here, and so are those not in ``need``. ``lexical``: the focus and
    title BM25 against every row, if already computed (the title's may be None
    when ``title_bm25`` is not needed); ``data``: what ``_gather_rows`` gathered
    of ``rows`` for ``_stacked(eq, need)``."""
    n_q = len(eq)
    out = np.zeros((n_q, len(rows), len(SIGNALS)), dtype=np.float32)
    if n_q == 0 or len(rows) == 0:
        return out
    col = {s: i for i, s in enumerate(SIGNALS)}
    vecs, where = _stacked(eq, need)
    data = data if data is not None else _gather_rows(snap, rows, vecs)
    focus_lex, title_lex = lexical or (snap.bm25.score(eq.focus_tokens), None)
    out[:, :, col["bm25"]] = focus_lex[:, rows]
    if "title_bm25" in need:
        title_lex = snap.bm25.score(eq.title_tokens) if title_lex is None else title_lex
        out[:, :, col["title_bm25"]] = title_lex[:, rows]
    if "char" in need:
        out[:, :, col["char"]] = snap.char_ngrams.score(eq.focus_char(snap), rows)
    out[:, :, col["dense_profile"]] = eq.focus_vecs @ data.prof.T
    if data.best is not None:
        if "dense_item" in need:
            out[:, :, col["dense_item"]] = data.best[where["focus"]]
        if "title_item" in need:
            out[:, :, col["title_item"]] = data.best[where["title"]]
    if semantic_blend is not None:  # None: the caller's fusion does not use it
        out[:, :, col["dense_lse"]] = semantic_blend(eq.focus_vecs, rows)
    return out


def _part_signals(snap: Snapshot, eq: EncodedQueries, rows: np.ndarray, ref: np.ndarray,
                  raw: np.ndarray, ref_raw: np.ndarray, need: frozenset[str],
                  data: _Rows, ref_data: _Rows) -> None:
    """Fill the sub-problem columns of ``raw``/``ref_raw`` in place (already z-scored);
    those not in ``need`` stay 0. ``data``/``ref_data``: what was gathered of
    ``rows`` and ``ref`` (with the sub-problems' best-item cosines)."""
    col = {s: i for i, s in enumerate(SIGNALS)}
    di, bm = col["dense_item"], col["bm25"]
    want_item, want_bm25, want_cover = ("part_item" in need, "part_bm25" in need, "coverage" in need)
    # a demand with no sub-problems is its own single part
    if want_item:
        raw[:, :, col["part_item"]] = _zscore(raw[:, :, di], ref_raw[:, :, di])
        ref_raw[:, :, col["part_item"]] = _zscore(ref_raw[:, :, di], ref_raw[:, :, di])
    if want_bm25:
        raw[:, :, col["part_bm25"]] = _zscore(raw[:, :, bm], ref_raw[:, :, bm])
        ref_raw[:, :, col["part_bm25"]] = _zscore(ref_raw[:, :, bm], ref_raw[:, :, bm])
    if len(eq.part_owner) == 0 or not (want_item or want_bm25 or want_cover):
        return
    n = len(rows)
    z_item = covered = z_bm25 = None
    if want_item or want_cover:
        where = _stacked(eq, need)[1]["parts"]
        p_item = np.concatenate([data.best[where], ref_data.best[where]], axis=1)  # type: ignore[index]
        z_item = _zscore(p_item, p_item[:, n:])
        cut = np.quantile(p_item[:, n:], 1 - COVER_SHARE, axis=1, keepdims=True)
        covered = (p_item >= cut).astype(np.float32)
    if want_bm25:
        p_bm25 = snap.bm25.score(eq.part_tokens)[:, np.concatenate([rows, ref])]
        z_bm25 = _zscore(p_bm25, p_bm25[:, n:])
    for qi in np.unique(eq.part_owner):
        sel = eq.part_owner == qi
        for arr, z in ((raw, slice(0, n)), (ref_raw, slice(n, None))):
            if want_item and z_item is not None:
                arr[qi, :, col["part_item"]] = z_item[sel, z].max(axis=0)
            if z_bm25 is not None:
                arr[qi, :, col["part_bm25"]] = z_bm25[sel, z].max(axis=0)
            if want_cover and covered is not None:
                arr[qi, :, col["coverage"]] = covered[sel, z].mean(axis=0)


def rare_tokens(snap: Snapshot, tokens: Sequence[list[str]]) -> list[list[str]]:
    """The words of each query found in at most ``RARE_SHARE`` of the profiles."""
    n = len(snap)
    df_max = max(RARE_SHARE * n, RARE_MIN_DF)
    # BM25 idf = log1p((n - df + .5) / (df + .5)) falls as df grows
    floor = float(np.log1p(max(n - df_max + 0.5, 0.0) / (df_max + 0.5)))
    return [[t for t in toks if snap.bm25.term_idf(t) >= floor] for toks in tokens]


def prf_vectors(snap: Snapshot, eq: EncodedQueries, ref: np.ndarray, dense_ref: np.ndarray,
                bm25_ref: np.ndarray) -> np.ndarray:
    """The ``dense_prf`` query vectors: each focus moved towards the mean profile
    of the ``PRF_DEPTH`` stats rows that e5 + BM25 (z-scored) put first."""
    first = _zscore(dense_ref, dense_ref) + 0.5 * _zscore(bm25_ref, bm25_ref)
    depth = min(PRF_DEPTH, len(ref))
    top = np.argsort(-first, axis=1, kind="stable")[:, :depth]
    q = eq.focus_vecs + PRF_WEIGHT * np.asarray(snap.profile_of(ref[top]), dtype=np.float32).mean(axis=1)
    return np.asarray(q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-9), dtype=np.float32)


def _feedback_signals(snap: Snapshot, eq: EncodedQueries, rows: np.ndarray, ref: np.ndarray,
                      raw: np.ndarray, ref_raw: np.ndarray, need: frozenset[str],
                      data: _Rows, ref_data: _Rows, rare_lex: np.ndarray | None = None) -> None:
    """Fill ``bm25_rare`` and ``dense_prf`` of ``raw``/``ref_raw`` in place (those in
    ``need``). The feedback profiles come from the stats rows only, so a row's
    signal does not depend on which other rows are scored. ``rare_lex``: the
    rare-word BM25 against every row, if already computed."""
    col = {s: i for i, s in enumerate(SIGNALS)}
    if "bm25_rare" in need:
        lex = snap.bm25.score(rare_tokens(snap, eq.focus_tokens)) if rare_lex is None else rare_lex
        raw[:, :, col["bm25_rare"]] = lex[:, rows]
        ref_raw[:, :, col["bm25_rare"]] = lex[:, ref]
    if "dense_prf" not in need:
        return
    q = prf_vectors(snap, eq, ref, ref_raw[:, :, col["dense_profile"]], ref_raw[:, :, col["bm25"]])
    raw[:, :, col["dense_prf"]] = q @ data.prof.T
    ref_raw[:, :, col["dense_prf"]] = q @ ref_data.prof.T


def normalised_signals(snap: Snapshot, eq: EncodedQueries, rows: np.ndarray,
                       semantic_blend: Callable[[np.ndarray, np.ndarray], np.ndarray] | None,
                       lexical: tuple[np.ndarray, np.ndarray | None] | None = None,
                       need: frozenset[str] = frozenset(SIGNALS),
                       rare_lex: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(raw, z) signals of ``rows``; z-scores use the snapshot's fixed stats rows.
    Signals not in ``need`` (see ``needed_signals``) are left 0. ``lexical``: the
    focus and title BM25 against every row, ``rare_lex`` the rare-word BM25, if
    already computed."""
    ref = snapshot_stats_rows(snap)
    if lexical is None:
        lexical = (snap.bm25.score(eq.focus_tokens),
                   snap.bm25.score(eq.title_tokens) if "title_bm25" in need else None)
    vecs = _stacked(eq, need)[0]
    ref_data = _gather_rows(snap, ref, vecs)  # the stats rows' profiles and items: kept per snapshot
    ref_raw = raw_signals(snap, eq, ref, semantic_blend, lexical, need, ref_data)
    # scoring every row of a small collection: the rows are the stats rows
    same = len(rows) == len(ref) and bool(np.array_equal(rows, ref))
    data = ref_data if same else _gather_rows(snap, rows, vecs)  # once for every dense signal
    raw = ref_raw.copy() if same else raw_signals(snap, eq, rows, semantic_blend, lexical, need, data)
    _part_signals(snap, eq, rows, ref, raw, ref_raw, need, data, ref_data)
    _feedback_signals(snap, eq, rows, ref, raw, ref_raw, need, data, ref_data, rare_lex)
    z = np.empty_like(raw)
    for i, name in enumerate(SIGNALS):
        if name in _PRE_NORMALISED:
            z[:, :, i] = raw[:, :, i]
        else:
            z[:, :, i] = _zscore(raw[:, :, i], ref_raw[:, :, i])
    return raw, z

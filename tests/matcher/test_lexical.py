from __future__ import annotations

import math

import numpy as np
import pytest

from matcher.lexical import BM25, ItemBM25, group_reduce


def test_bm25_hand_checked_scores() -> None:
    docs = [["a", "b"], ["b", "c", "c"], ["d"]]
    bm = BM25(k1=1.2, b=0.75).fit(docs)
    # idf(c): n=3, df=1 -> ln(1 + (3-1+0.5)/(1+0.5))
    idf_c = math.log1p(2.5 / 1.5)
    avgdl = 2.0
    tf, dl = 2.0, 3.0
    expected = idf_c * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * dl / avgdl))
    scores = bm.score([["c"]])
    assert scores.shape == (1, 3)
    assert scores[0, 1] == pytest.approx(expected, rel=1e-5)
    assert scores[0, 0] == 0 and scores[0, 2] == 0


def test_bm25_ranking_prefers_rare_terms_and_handles_unknown() -> None:
    docs = [["锂电池", "正极材料"], ["锂电池", "电解液"], ["中医", "针灸"], ["锂电池"]]
    bm = BM25().fit(docs)
    s = bm.score([["正极材料", "锂电池"], ["不存在"]])
    assert int(np.argmax(s[0])) == 0
    assert s[0, 2] == 0
    assert not s[1].any()
    assert bm.term_idf("正极材料") > bm.term_idf("锂电池") > 0
    assert bm.term_idf("不存在") == 0


def test_bm25_empty_collection() -> None:
    bm = BM25().fit([])
    assert bm.score([["x"]]).shape == (1, 0)
    bm2 = BM25().fit([[], []])
    assert bm2.score([["x"]]).tolist() == [[0.0, 0.0]]


def test_binary_query_tf() -> None:
    docs = [["a"], ["b"]]
    count = BM25(query_tf="count").fit(docs).score([["a", "a"]])
    binary = BM25(query_tf="binary").fit(docs).score([["a", "a"]])
    assert count[0, 0] == pytest.approx(2 * binary[0, 0])


def test_group_reduce() -> None:
    s = np.array([[1.0, 3.0, 2.0, 5.0]])
    owner = np.array([0, 0, 2, 2])
    assert group_reduce(s, owner, 3, "max").tolist() == [[3.0, 0.0, 5.0]]
    assert group_reduce(s, owner, 3, "mean").tolist() == [[2.0, 0.0, 3.5]]
    soft = group_reduce(s, owner, 3, "softmax", temperature=1.0)
    assert soft[0, 0] == pytest.approx(math.log(math.e + math.e**3))
    # two equal items score log(2)*t above one such item
    two = group_reduce(np.array([[1.0, 1.0, 1.0]]), np.array([0, 0, 1]), 2, "softmax", 0.1)
    assert two[0, 0] - two[0, 1] == pytest.approx(0.1 * math.log(2), rel=1e-5)
    with pytest.raises(ValueError):
        group_reduce(s, owner, 3, "median")


def test_item_bm25_max_over_items() -> None:
    items = [["锂电池"], ["中医"], ["针灸", "中医"], ["海洋"]]
    owner = [0, 1, 1, 2]
    ib = ItemBM25().fit(items, owner, 3)
    s = ib.score([["针灸"]])
    assert s.shape == (1, 3)
    assert int(np.argmax(s[0])) == 1 and s[0, 0] == 0 and s[0, 2] == 0


def test_bm25_term_major_layout_matches_dense_reference() -> None:
    rng = np.random.default_rng(3)
    vocab = [f"t{i}" for i in range(25)]
    docs = [[str(t) for t in rng.choice(vocab, size=int(rng.integers(0, 12)))] for _ in range(40)]
    bm = BM25().fit(docs)
    assert bm.weights_t.shape == (len(bm.vocabulary), 40) and bm.weights.shape == (40, len(bm.vocabulary))
    queries = [["t1", "t2", "t2"], ["t7", "unknown"], []]
    q = bm.query_matrix(queries).toarray()
    expected = q @ bm.weights.toarray().T
    np.testing.assert_allclose(bm.score(queries), expected, rtol=1e-5)
    assert BM25().fit([[], []]).score([["a"]]).shape == (1, 2)


def test_char_ngrams_match_terms_the_segmenter_splits() -> None:
    from matcher.lexical import CharNgrams, char_text

    assert char_text("机器视觉（ＡＩ）；深度学习") == "机器视觉 ai 深度学习"
    cn = CharNgrams().fit(["工业机器视觉检测", "中医药针灸", ""])
    s = cn.score(["基于机器视觉的缺陷检测"])
    assert s.shape == (1, 3) and s[0, 0] > 0.2 and s[0, 1] == 0 and s[0, 2] == 0
    np.testing.assert_allclose(cn.score(["机器视觉"], np.array([1, 0])), cn.score(["机器视觉"])[:, [1, 0]])
    assert CharNgrams().fit(["", "  "]).score(["x"]).shape == (1, 2)


def test_char_ngram_query_cache_gives_the_same_vectors() -> None:
    from matcher.lexical import CharNgrams

    cn = CharNgrams().fit(["工业机器视觉检测", "中医药针灸", "大黄鱼养殖"])
    cn.QUERY_CACHE = 2  # type: ignore[misc]
    texts = ["机器视觉检测", "针灸", "大黄鱼", "机器视觉检测"]
    first = cn.score(cn.transform(texts))
    again = cn.score(cn.transform(texts))  # partly from the cache, partly evicted
    np.testing.assert_allclose(first, again)
    np.testing.assert_allclose(first[0], first[3])
    assert len(cn._seen) <= 2


def test_postings_product_equals_the_sparse_product() -> None:
    import scipy.sparse as sp

    from matcher.lexical import postings_product

    rng = np.random.default_rng(3)
    dense = (rng.random((40, 300)) * (rng.random((40, 300)) < 0.2)).astype(np.float32)
    dense[39] = 0  # a term no document has
    matrix_t = sp.csr_matrix(dense)  # term-major, as the indexes keep it
    # query rows: repeated terms (count 2), random weights including term 39, an empty query
    qd = np.zeros((3, 40), dtype=np.float32)
    qd[0, [0, 2]] = [2, 1]
    qd[1] = rng.random(40) * (rng.random(40) < 0.3)
    qd[1, 39] = 1.5
    q = sp.csr_matrix(qd)
    got = postings_product(q, matrix_t)
    assert got.shape == (3, 300) and got.dtype == np.float32
    np.testing.assert_allclose(got, (q @ matrix_t).toarray(), rtol=1e-5, atol=1e-6)
    assert not got[2].any()


def test_char_query_without_common_ngrams_keeps_only_the_rare_ones() -> None:
    from matcher.lexical import CharNgrams

    docs = ["机器视觉检测"] + [f"机器学习{i}号" for i in range(9)]  # 机器 in all ten rows
    cn = CharNgrams().fit(docs)
    q = cn.transform(["机器视觉", "", "机器学习"])
    df = np.diff(cn.matrix_t.indptr)
    kept = cn.without_common(q, 0.5)
    assert kept is not None and kept.shape == q.shape
    for r in range(3):
        a, b = q.indptr[r], q.indptr[r + 1]
        want = {int(t): float(w) for t, w in zip(q.indices[a:b], q.data[a:b], strict=True) if df[t] <= 5}
        ka, kb = kept.indptr[r], kept.indptr[r + 1]
        assert dict(zip(kept.indices[ka:kb].tolist(), kept.data[ka:kb].tolist(), strict=True)) == want
    assert kept.nnz < q.nnz  # the common bigram 机器 went
    top = cn.score(kept)[0]
    assert int(np.argmax(top)) == 0 and top[1:].max() == 0  # 视觉 only in the first row
    assert cn.without_common(q, 1.0) is q

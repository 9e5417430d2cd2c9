"""Which FAISS index type to use for a collection of ``n`` vectors.

The thresholds come from ``bench/bench_index.py`` (see bench/README.md for the
measured table). Exact search (``flat``) costs time linear in ``n``; graph
search (``hnsw``) costs near-constant time per query but a build that grows
with ``n`` and recall slightly below 1; ``ivf`` builds fastest among the
approximate types but needs many probes for high recall on our vectors.
"""

from __future__ import annotations

# Below this many vectors exact search is both fast enough and free of recall loss.
FLAT_MAX = 50_000


def choose_index_type(n: int) -> str:
    """``flat`` up to ``FLAT_MAX`` vectors, ``hnsw`` above."""
    if n < 0:
        raise ValueError("n must be >= 0")
    return "flat" if n <= FLAT_MAX else "hnsw"

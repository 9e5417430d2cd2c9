"""Why a plan cannot be made, in words staff can act on.

:func:`diagnose` finds the violations that show without solving (must-pairs
against conflicts, never-pairs, capacities and maximums; demands short of
eligible candidates; total capacity). :func:`hall_diagnosis` finds the group
of demands whose minimums cannot be met together when every simple count
passes (Hall's condition, by a max flow). Both return an
:class:`~matcher.errors.InfeasibleDetail`; the solvers raise it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matcher.errors import InfeasibleDetail
from matcher.plan_problem import Prepared, must_counts

_MAX_LISTED = 8


def _listing(labels: Sequence[str]) -> str:
    shown = "、".join(labels[:_MAX_LISTED])
    return shown + (f" 等 {len(labels)} 项" if len(labels) > _MAX_LISTED else "")


def diagnose(p: Prepared) -> InfeasibleDetail:
    """Constraint violations that can be seen without solving."""
    d = InfeasibleDetail()
    must_d, must_c = must_counts(p)
    for i, j in p.must:
        pair = f"{p.dlabels[i]} 与 {p.clabels[j]}"
        if (i, j) in p.forbidden:
            why = p.forbidden[(i, j)]
            d.conflicting_must_pairs.append(pair)
            d.problems.append(
                f"必配规则 {pair} 存在利益冲突{f'（{why}）' if why else ''}：删除该必配规则，或核实后撤销冲突记录"
            )
        if (i, j) in p.never:
            d.conflicting_must_pairs.append(pair)
            d.problems.append(f"{pair} 同时被设为必配和禁配：删除其中一条规则")
    for j in np.flatnonzero(must_c > p.capacity):
        d.problems.append(
            f"{p.clabels[j]} 有 {must_c[j]} 条必配，但容量只有 {p.capacity[j]}："
            f"将其容量提高到至少 {must_c[j]}，或删去 {must_c[j] - p.capacity[j]} 条必配"
        )
    inverted = np.flatnonzero(p.dmin > p.dmax)
    if inverted.size:
        i = int(inverted[0])
        d.problems.append(
            f"{_listing([p.dlabels[k] for k in inverted])} 的最少人数大于最多人数"
            f"（如最少 {p.dmin[i]} 位、最多 {p.dmax[i]} 位）：调整每条需求的人数上下限"
        )
    for i in range(p.shape[0]):
        if p.dmin[i] <= p.dmax[i] and must_d[i] > p.dmax[i]:
            d.problems.append(
                f"{p.dlabels[i]} 有 {must_d[i]} 条必配，超过每条需求最多 {p.dmax[i]} 位：提高上限或删去必配"
            )
    if d.problems:
        return d
    remaining = p.capacity - must_c
    need = np.maximum(p.dmin - must_d, 0)
    usable = p.eligible & (remaining > 0)[None, :]
    options = usable.sum(axis=1)
    lacking = [int(i) for i in np.flatnonzero(options < need)]
    if lacking:
        d.demands_without_candidates = [p.dlabels[i] for i in lacking]
        parts = [
            f"{p.dlabels[i]}（至少需 {need[i]} 位，合格候选 {options[i]} 位）" for i in lacking
        ]
        d.problems.append(
            f"{len(lacking)} 条需求没有足够的合格候选（得分≥{p.min_score:g}、无利益冲突、未禁配、尚有容量）："
            f"{_listing(parts)}。请降低最低匹配分、邀请更多相关专家，或把这些需求的最少人数降为 0"
        )
    total_need = int(need.sum())
    total_cap = int(remaining.sum())
    d.capacity_needed, d.capacity_available = total_need, total_cap
    if total_need > total_cap:
        d.problems.append(
            f"容量缺口 {total_need - total_cap} 人次：各需求最少共需 {total_need} 人次，候选剩余总容量只有 {total_cap}。"
            f"请增加 {total_need - total_cap} 个名额（邀请更多专家或提高容量），或降低每条需求的最少人数"
        )
    return d


def hall_diagnosis(p: Prepared, need: np.ndarray, remaining: np.ndarray) -> InfeasibleDetail:
    """Find the group of demands whose minimums cannot be met together.

    A max flow over the minimum units only; the demands and candidates reachable
    from the source in its residual graph form the bottleneck (a min cut).
    """
    from ortools.graph.python import max_flow

    n_d, n_c = p.shape
    mf = max_flow.SimpleMaxFlow()
    src, snk = 0, 1
    pairs = [
        (int(i), int(j))
        for i, j in zip(*np.nonzero(p.eligible & (remaining > 0)[None, :]), strict=True)
    ]
    for i in range(n_d):
        if need[i]:
            mf.add_arc_with_capacity(src, 2 + i, int(need[i]))
    pair_arcs = [mf.add_arc_with_capacity(2 + i, 2 + n_d + j, 1) for i, j in pairs]
    for j in range(n_c):
        if remaining[j] > 0:
            mf.add_arc_with_capacity(2 + n_d + j, snk, int(remaining[j]))
    mf.solve(src, snk)
    reachable = set(mf.get_source_side_min_cut())
    group = [i for i in range(n_d) if 2 + i in reachable and need[i] > 0]
    achieved = sum(mf.flow(a) for a, (i, _) in zip(pair_arcs, pairs, strict=True) if i in group)
    wanted = int(sum(need[i] for i in group))
    cands = sorted({j for i, j in pairs if i in group})
    d = InfeasibleDetail(capacity_needed=wanted, capacity_available=int(achieved))
    d.demands_without_candidates = [p.dlabels[i] for i in group]
    d.problems.append(
        f"{_listing([p.dlabels[i] for i in group])} 合计至少需要 {wanted} 人次，"
        f"但它们的全部合格候选（{_listing([p.clabels[j] for j in cands]) or '无'}）"
        f"最多只能提供 {achieved} 人次，缺 {wanted - achieved} 人次：为这些需求邀请更多合格专家、"
        "提高上述候选的容量，或降低这些需求的最少人数"
    )
    return d

"""Free-text search through the match index: ``GET /search?q=...&kind=...``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import IndexDep, SessionDep, StaffUser
from api.presenters import match_views
from api.schemas import MatchResults
from kejie import matching, queries
from kejie.rules import MAX_TOP_K

router = APIRouter(tags=["search 检索"])

_KINDS: dict[str, Literal["expert", "society", "demand"]] = {
    "experts": "expert",
    "societies": "society",
    "demands": "demand",
}


@router.get(
    "/search",
    response_model=MatchResults,
    summary="按文本检索专家、学会或需求 / search by free text",
    description="粘贴一段需求说明即可得到排序结果，不保存。Paste a demand text for a ranking; nothing is saved.",
)
def search(
    index: IndexDep,
    session: SessionDep,
    _user: StaffUser,
    q: Annotated[str, Query(min_length=2, max_length=5000, description="检索文本 / text to match")],
    kind: Annotated[
        Literal["experts", "societies", "demands"], Query(description="experts / societies / demands")
    ] = "experts",
    top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K, description=f"返回条数，最多 {MAX_TOP_K} / how many, at most {MAX_TOP_K}")] = 10,
    region: Annotated[str | None, Query(description="设区市，逗号分隔 / cities")] = None,
    discipline: Annotated[str | None, Query(description="学科，逗号分隔 / disciplines")] = None,
    academician_only: Annotated[bool, Query(description="只看院士 / academicians only")] = False,
) -> MatchResults:
    filters = queries.make_filters(region, discipline, academician_only)
    matches = matching.match_text(index, session, q.strip(), _KINDS[kind], top_k, filters)
    return MatchResults(kind=_KINDS[kind], items=match_views(matches, staff=True))

"""What an expert account may see: the demands recommended to that expert;
and the edge of the organisation scope (``kejie.scope``): its dependency and
the routes a city association's or a society's account may reach.

"Recommended" is the union of the expert's current recommendation list (the
top ``settings.expert_visible_demands``, declined ones left out), the demands
the expert marked as interesting, and the demands an event plan paired the
expert with. Staff see everything (``None``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import CurrentUser, IndexDep, OptionalUser, SessionDep, SettingsDep
from kejie.scope import PROVINCE_ONLY, Scope, scope_for, unscoped
from models import Demand, OrgKind

if TYPE_CHECKING:
    pass

# ---------------------------------------------------------------- organisations (kejie.scope)

async def get_scope(session: SessionDep, user: CurrentUser, index: IndexDep, settings: SettingsDep) -> Scope:
    """The organisation scope of the logged-in account (``kejie.scope``). Async,
    with the database lookups in the thread pool: most requests need none, and a
    plain ``def`` dependency is a thread-pool hop on every request."""
    if unscoped(user):
        return Scope()
    return await run_in_threadpool(scope_for, session, user, index, settings.expert_visible_demands)


ScopeDep = Annotated[Scope, Depends(get_scope)]

# what a city association's or a society's account may call; every other route
# (events, plans, others' jobs, quarterly 统计表, accounts, free-text search ...) is the
# provincial association's, and so is any route added later until listed here
_EVERY_ORG = {
    ("GET", "/"), ("GET", "/auth/me"), ("POST", "/auth/token"), ("POST", "/auth/logout"),
    ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"),
    ("GET", "/demands"), ("GET", "/demands/{demand_id}"),
    ("GET", "/enterprises"), ("GET", "/enterprises/{enterprise_id}"),
    ("GET", "/experts"), ("GET", "/experts/{expert_id}"),
    ("GET", "/societies"), ("GET", "/societies/{society_id}"),
    ("POST", "/imports"), ("GET", "/imports"), ("GET", "/imports/{import_id}"),
    ("GET", "/imports/{import_id}/rejects.xlsx"),
    ("GET", "/web/imports"), ("POST", "/web/imports"), ("GET", "/web/imports/{import_id}"),
    ("GET", "/jobs/{job_id}"), ("GET", "/web/jobs/{job_id}"),  # their own import jobs only
    ("GET", "/outcomes"), ("GET", "/reports/outcomes"),
}
ORG_ROUTES: dict[OrgKind, frozenset[tuple[str, str]]] = {
    OrgKind.city: frozenset(_EVERY_ORG | {
        ("POST", "/demands"), ("PATCH", "/demands/{demand_id}"), ("GET", "/demands/{demand_id}/matches"),
        ("GET", "/demands/{demand_id}/feedback"), ("POST", "/outcomes"),
        ("GET", "/reports/demands.xlsx"), ("GET", "/reports/demands/{demand_id}/matches.xlsx"),
        ("GET", "/web/demands"), ("GET", "/web/demands/new"), ("POST", "/web/demands/new"),
        ("GET", "/web/demands/{demand_id}"), ("GET", "/web/demands/{demand_id}/edit"),
        ("POST", "/web/demands/{demand_id}/edit"), ("POST", "/web/outcomes"),
    }),
    OrgKind.society: frozenset(_EVERY_ORG | {
        ("GET", "/experts/{expert_id}/recommendations"), ("POST", "/experts/{expert_id}/feedback"),
        ("GET", "/societies/{society_id}/recommendations"),
        ("GET", "/web/experts/{expert_id}"), ("GET", "/web/societies/{society_id}"),
    }),
}


async def org_gate(request: Request, session: SessionDep, user: OptionalUser) -> None:
    """Router-level dependency: a city or society account reaches only its routes (403 otherwise)."""
    if unscoped(user):
        return
    scope = await run_in_threadpool(scope_for, session, user)
    if scope.everything:
        return
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    if (request.method.upper(), path) not in ORG_ROUTES.get(scope.kind, frozenset()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, PROVINCE_ONLY)


def keep_visible(matches: list[Any], scope: Scope, session: Session) -> list[Any]:
    """Of a ranking of demands, the ones in ``scope`` (recommendation lists of experts and societies)."""
    if scope.everything:
        return matches
    ids = [int(m.id) for m in matches if str(m.id).isdigit()]
    if not ids:
        return []
    keep = set(session.scalars(scope.demands(select(Demand.id).where(Demand.id.in_(ids)))))
    return [m for m in matches if str(m.id).isdigit() and int(m.id) in keep]

"""Organisations (provincial association, city associations, societies), managed by admins."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import AdminUser, SessionDep
from api.schemas import OrganisationCreate, OrganisationPublic
from kejie.audit import audit
from kejie.organisations import create_organisation, list_organisations

router = APIRouter(prefix="/organisations", tags=["organisations 机构"])


@router.post(
    "",
    response_model=OrganisationPublic,
    status_code=status.HTTP_201_CREATED,
    summary="新建机构 / create an organisation",
    description="设区市科协须填 city，学会须填 society_id。A city association names its city, a society its society record.",
)
def create(body: OrganisationCreate, session: SessionDep, admin: AdminUser) -> OrganisationPublic:
    org = create_organisation(session, body.kind, body.name, city=body.city, society_id=body.society_id)
    audit(session, admin, "create", "organisation", org.id, {"name": org.name, "kind": org.kind.value})
    session.commit()
    return OrganisationPublic.model_validate(org)


@router.get("", response_model=list[OrganisationPublic], summary="机构列表 / list organisations")
def list_all(session: SessionDep, _admin: AdminUser) -> list[OrganisationPublic]:
    return [
        OrganisationPublic.model_validate(org).model_copy(update={"accounts": n})
        for org, n in list_organisations(session)
    ]

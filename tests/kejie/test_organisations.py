"""Organisations and their scope rule (kejie/organisations.py, kejie/scope.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from kejie.accounts import create_user
from kejie.deployment import unsafe_defaults
from kejie.errors import FieldProblem, NotAllowed
from kejie.organisations import create_organisation, seed_demo_organisations
from kejie.scope import scope_for, society_experts
from kejie.settings import Settings
from models import OrgKind, Role
from tests.factories import make_enterprise, make_expert, make_society


def test_demo_organisations_are_seeded_once_and_count_as_demo_passwords(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert seed_demo_organisations(session) == ["fuzhou", "quanzhou"]  # no 学会 record yet: no society account
    make_society(session, name="福建省机械工程学会")
    assert seed_demo_organisations(session) == ["jixie"]
    assert seed_demo_organisations(session) == []
    problems = unsafe_defaults(Settings(var_dir=tmp_path, secret_key="x" * 40, admin_password="a" * 12,
                                        staff_password="s" * 12, expert_password="e" * 12), session)
    assert {"账号 fuzhou 仍在使用演示密码", "账号 jixie 仍在使用演示密码"} <= set(problems)


def test_organisation_inputs_are_checked(session: Session) -> None:
    make_enterprise(session, city="泉州市")
    assert create_organisation(session, "city", "泉州市科协", city="泉州").city == "泉州市"
    for kwargs, field in (({"kind": "city", "name": "无城市科协"}, "city"),
                          ({"kind": "society", "name": "无学会"}, "society_id"),
                          ({"kind": "province", "name": "省科协", "city": "福州市"}, "city"),
                          ({"kind": "town", "name": "镇"}, "kind"),
                          ({"kind": "city", "name": "泉州市科协", "city": "泉州市"}, "name")):
        with pytest.raises(FieldProblem) as err:
            create_organisation(session, **kwargs)  # type: ignore[arg-type]
        assert err.value.field == field


def test_scope_of_each_kind(session: Session) -> None:
    society = make_society(session, name="福建省化学会")
    mine = make_expert(session, societies=["福建省化学会"])
    make_expert(session, societies=["福建省化学会福州分会"])  # a longer name is another society
    city = create_organisation(session, OrgKind.city, "福州市科协", city="福州市")
    soc = create_organisation(session, OrgKind.society, "福建省化学会", society_id=society.id)
    staff = create_user(session, "s1", "secret1", Role.staff)
    fz = create_user(session, "fz", "secret1", Role.staff, organisation_id=city.id)
    chem = create_user(session, "chem", "secret1", Role.staff, organisation_id=soc.id)
    assert scope_for(session, staff).everything
    fz_scope = scope_for(session, fz)
    assert fz_scope.kind == OrgKind.city and fz_scope.write_city("") == "福州市" and fz_scope.write_city("福州") == "福州市"
    with pytest.raises(FieldProblem):
        fz_scope.write_city("厦门市")
    with pytest.raises(NotAllowed):
        fz_scope.require_province()
    chem_scope = scope_for(session, chem)
    assert society_experts(session, "福建省化学会") == {mine.id} and chem_scope.expert_ids == {mine.id}
    with pytest.raises(NotAllowed):
        chem_scope.require_demand_writer()

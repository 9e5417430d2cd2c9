"""The expert visibility rule (kejie/visibility.py) without HTTP: the API tests
(tests/api/test_org_scope.py, the expert tests) cover it through every route."""

from __future__ import annotations

import pytest

from kejie.errors import NotAllowed
from kejie.visibility import NOT_RECOMMENDED, require_visible, sees_everything
from models import Role, User


@pytest.mark.parametrize(("role", "everything"), [(Role.staff, True), (Role.admin, True), (Role.expert, False)])
def test_only_staff_and_admins_see_everything(role: Role, everything: bool) -> None:
    assert sees_everything(User(username="u", role=role)) is everything


def test_an_id_outside_the_visible_set_is_not_allowed() -> None:
    require_visible(None, 7)  # staff: no set, everything visible
    require_visible({3, 7}, 7)
    with pytest.raises(NotAllowed, match="推荐给您"):
        require_visible({3}, 7)
    with pytest.raises(NotAllowed) as err:
        require_visible(set(), 7, "别的说明")
    assert str(err.value) == "别的说明" != NOT_RECOMMENDED

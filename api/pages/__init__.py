"""Server-rendered pages for staff (and experts' own recommendations), one
module per resource. They call the same use cases (``kejie.*``) and the same
presenters (``api.presenters``) as the JSON routers.

Login sets an HttpOnly, SameSite=Lax cookie holding the same signed token the
JSON API accepts; every form carries a CSRF token derived from it.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.pages import auth, demand_edit, demands, events, imports, jobs, people, reports
from api.pages.common import install_html_errors

router = APIRouter(include_in_schema=False)
for _module in (auth, demands, demand_edit, people, imports, events, jobs, reports):
    router.include_router(_module.router)

__all__ = ["install_html_errors", "router"]

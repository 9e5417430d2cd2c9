"""Shared by the pages (``api.pages.*``): templates, labels, the page user and
CSRF checks, redirects and the HTML error pages.

Login sets an HttpOnly, SameSite=Lax cookie holding the same signed token the
JSON API accepts; every form carries a CSRF token derived from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import (
    Depends,
    FastAPI,
    HTTPException,
    Request,
    status,
)
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import (
    SessionDep,
    SettingsDep,
    is_staff,
    load_user,
    token_from_request,
)
from api.errors import plain_errors
from kejie.security import check_csrf, csrf_token
from kejie.settings import Settings
from models import (
    User,
)

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)


CITIES = ["福州市", "厦门市", "莆田市", "三明市", "泉州市", "漳州市", "南平市", "龙岩市", "宁德市", "平潭综合实验区"]
STATUS_LABELS = {
    "open": "待对接",
    "matched": "已匹配",
    "in_progress": "对接中",
    "solved": "已解决",
    "closed": "已关闭",
}
OUTCOME_LABELS = {"contacted": "已联系", "visited": "已走访", "signed": "已签约", "not_a_fit": "不合适"}
FIELD_LABELS = {
    "research_area": "研究方向",
    "achievement": "代表性成果",
    "keyword": "关键词",
    "title": "标题",
    "description": "说明",
    "discipline": "学科",
    "representative_work": "代表性成果",
    "name": "名称",
}
IMPORT_KIND_LABELS = {"demands": "技术需求", "experts": "专家", "societies": "学会"}
CHANGE_ENTITY_LABELS = {"demand": "技术需求", "enterprise": "单位", "expert": "专家", "society": "学会"}
IMPORT_FIELD_LABELS = {
    "title": "技术需求名称", "description": "具体的技术需求说明", "industry": "所属行业", "keywords": "关键词",
    "contact_name": "联系人", "mobile": "手机", "office_phone": "办公电话", "fax": "传真", "email": "E-mail",
    "submitted_by": "填报单位", "submitted_on": "填报时间", "name": "名称", "address": "联系地址",
    "city": "设区市", "county": "区县", "postcode": "邮编", "main_business": "主营业务", "profile": "企业概况",
    "website": "网址",
}
NOTICES = {
    "outcome_saved": "对接结果已记录。",
    "outcome_advanced": "对接结果已记录，需求状态已随之前移（见上方“状态”）。",
    "demand_saved": "技术需求已保存，下方为匹配结果。",
    "demand_updated": "修改已保存，下方为重新匹配的结果。",
    "feedback_interested": "已记录：您对该需求感兴趣，工作人员会与您联系。",
    "feedback_declined": "已记录：您婉拒了该需求，它不会再出现在推荐中。",
    "plan_created": "已生成新一版对接方案。",
    "plan_unchanged": "活动范围和数据都没有变化，沿用现有方案。",
    "plan_infeasible": "无法排定方案，原因见下方说明。",
    "pools_saved": "候选范围与日程设置已保存；重新生成方案后生效。",
}
templates.env.globals.update(
    STATUS_LABELS=STATUS_LABELS,
    OUTCOME_LABELS=OUTCOME_LABELS,
    FIELD_LABELS=FIELD_LABELS,
    IMPORT_KIND_LABELS=IMPORT_KIND_LABELS,
    CHANGE_ENTITY_LABELS=CHANGE_ENTITY_LABELS,
    IMPORT_FIELD_LABELS=IMPORT_FIELD_LABELS,
    CITIES=CITIES,
)


# ---------------------------------------------------------------- auth helpers


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def web_user(request: Request, session: SessionDep, settings: SettingsDep) -> User:
    user = load_user(session, settings, token_from_request(request))
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    request.state.user = user  # for the error page's navigation
    # read while the session is open (an error page renders after it closed)
    request.state.org_kind = user.organisation.kind.value if user.organisation is not None else ""
    return user


WebUser = Annotated[User, Depends(web_user)]


def web_staff(user: WebUser) -> User:
    if not is_staff(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "此页面仅限工作人员。")
    return user


WebStaff = Annotated[User, Depends(web_staff)]


def require_csrf(request: Request, submitted: str) -> None:
    token = token_from_request(request) or ""
    if not check_csrf(_settings(request).secret_key, token, submitted):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "表单已过期，请刷新页面后重试。")


def render(
    request: Request, name: str, user: User | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    token = token_from_request(request) or ""
    context.update(
        user=user,
        is_staff=user is not None and is_staff(user),
        # a city association's or a society's account: its menu leaves out the province's pages
        org_kind=getattr(request.state, "org_kind", "") if user is not None else "",
        csrf=csrf_token(_settings(request).secret_key, token) if token else "",
        notice=NOTICES.get(request.query_params.get("notice", ""), ""),
        path=request.url.path,
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


def _safe_next(target: str | None) -> str:
    # only same-site paths, never //host or scheme URLs
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def install_html_errors(app: FastAPI) -> None:
    """Web paths get HTML error pages and login redirects; the JSON API keeps JSON."""
    from api.errors import _validation_handler

    def is_web(request: Request) -> bool:
        path = request.url.path
        return path == "/" or path.startswith(("/web", "/login", "/logout"))

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return redirect("/login?next=" + quote(exc.next_url, safe=""))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not is_web(request):
            return await http_exception_handler(request, exc)
        detail = exc.detail
        if isinstance(detail, list):
            detail = "；".join(f"{d.get('field')}: {d.get('reason')}" for d in detail)
        user = getattr(request.state, "user", None)
        return render(request, "error.html", user, status_code=exc.status_code, code=exc.status_code, message=detail)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not is_web(request):
            return await _validation_handler(request, exc)
        message = "；".join(f"{e['field']}：{e['reason']}" for e in plain_errors(list(exc.errors())))
        return render(request, "error.html", None, status_code=422, code=422, message=message)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)

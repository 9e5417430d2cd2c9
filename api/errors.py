"""Error bodies: validation errors in plain words, domain errors as HTTP codes.

The one mapping of domain errors to HTTP statuses is :func:`http_error` (used for
JSON and pages alike: the pages' HTTPException handler renders it as a page).

A 422 always looks like ``{"detail": [{"field": "mobile", "reason": "手机号码应为11位数字"}]}``.

Hostile input is stopped here too: a query parameter holding NUL or another
control character is a 422 naming it on every route (pages included), and a
value the database itself refuses (an id beyond its integer range that got past
the schemas) is a 422 rather than a 500.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from ingest.sanitize import illegal_reason
from kejie.errors import DomainError, FieldProblem, NotAllowed, RecordNotFound

_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def _reason(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", err.get("msg", ""))).removeprefix("Value error, ")
    if kind == "assertion_error":
        return str(err.get("msg", "")).removeprefix("Assertion failed, ")
    if kind == "missing":
        return "必填项，不能缺少"
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "不能为空" if n == 1 else f"至少需要{n}个字符"
    if kind == "string_too_long":
        return f"不能超过{ctx.get('max_length')}个字符"
    if kind == "too_long":
        return f"最多{ctx.get('max_length')}项"
    if kind == "too_short":
        return f"至少{ctx.get('min_length')}项"
    if kind == "string_pattern_mismatch":
        return "格式不正确，只能包含字母、数字、下划线、点和连字符"
    if kind == "string_type":
        return "应为文本"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return "应为整数"
    if kind in {"float_parsing", "float_type"}:
        return "应为数字"
    if kind in {"bool_parsing", "bool_type"}:
        return "应为 true 或 false"
    if kind.startswith("date") or kind.startswith("datetime"):
        return "日期格式应为 YYYY-MM-DD"
    if kind in {"enum", "literal_error"}:
        return f"应为以下之一：{ctx.get('expected', '')}"
    if kind == "greater_than_equal":
        return f"不能小于{ctx.get('ge')}"
    if kind == "greater_than":
        return f"应大于{ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"不能大于{ctx.get('le')}"
    if kind == "less_than":
        return f"应小于{ctx.get('lt')}"
    if kind == "list_type":
        return "应为列表"
    if kind in {"dict_type", "model_attributes_type", "model_type"}:
        return "应为 JSON 对象"
    if kind == "json_invalid":
        return "请求内容不是合法的 JSON"
    return str(err.get("msg", "输入不正确"))


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


def plain_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"field": _field(e.get("loc", ())), "reason": _reason(e)} for e in errors]


def field_error(field: str, reason: str, code: int = status.HTTP_422_UNPROCESSABLE_CONTENT) -> HTTPException:
    """An error about one input field, shaped like a validation error."""
    return HTTPException(code, detail=[{"field": field, "reason": reason}])


def http_error(exc: DomainError) -> HTTPException:
    """The HTTP form of a use case's domain error (:mod:`kejie.errors`)."""
    if isinstance(exc, FieldProblem):
        code = status.HTTP_404_NOT_FOUND if exc.missing else status.HTTP_422_UNPROCESSABLE_CONTENT
        return field_error(exc.field, exc.reason, code)
    if isinstance(exc, RecordNotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, NotAllowed):
        return HTTPException(status.HTTP_403_FORBIDDEN, str(exc))
    return HTTPException(status.HTTP_400_BAD_REQUEST, str(exc))


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    # through whatever HTTPException handler is installed: JSON for the API,
    # an error page for /web (api.pages)
    handler = request.app.exception_handlers.get(StarletteHTTPException, http_exception_handler)
    return await handler(request, http_error(exc))


def query_problem(query_string: bytes) -> tuple[str, str] | None:
    """(parameter, reason) of the first query parameter holding a control character."""
    # decoded the way Starlette decodes it, so the check sees what the route sees
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        reason = illegal_reason(value) or illegal_reason(key)
        if reason:
            return key, reason
    return None


class QueryGuard:
    """ASGI middleware: 422 for control characters in any query parameter."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            problem = query_problem(scope["query_string"])
            if problem is not None:
                field, reason = problem
                response = JSONResponse(
                    status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                    content={"detail": [{"field": field, "reason": reason}]},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _TooLarge(HTTPException):
    def __init__(self, reason: str) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE, detail=[{"field": "file", "reason": reason}])


class BodyLimit:
    """ASGI middleware: a request body over ``max_body_size`` is a 413 whose
    ``{field, reason}`` body says the limit (Starlette's own says only
    "Content Too Large")."""

    def __init__(self, app: ASGIApp, max_body_size: int, upload_mb: int) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self.reason = f"上传内容超过 {upload_mb} MB 的上限，请拆分后再上传"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        too_large = JSONResponse(
            status_code=status.HTTP_413_CONTENT_TOO_LARGE, content={"detail": [{"field": "file", "reason": self.reason}]}
        )
        if length.isdigit() and int(length) > self.max_body_size:
            await too_large(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_size:
                    raise _TooLarge(self.reason)
            return message

        async def tracked(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except _TooLarge:
            if started:
                raise
            await too_large(scope, receive, send)


async def _validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content=jsonable_encoder({"detail": plain_errors(list(exc.errors()))}),
    )


async def _data_error(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": [{"field": "request", "reason": "输入超出数据库允许的范围（编号或数值过大，或文本含非法字符）"}]},
    )


def _document_plain_errors(app: FastAPI) -> None:
    """The OpenAPI 422 schema describes the ``{field, reason}`` items actually sent."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.get("components", {}).get("schemas", {})
        if "ValidationError" in components:
            components["ValidationError"] = {
                "title": "ValidationError",
                "type": "object",
                "required": ["field", "reason"],
                "properties": {
                    "field": {"type": "string", "title": "Field", "description": "出错的字段 / the offending field"},
                    "reason": {"type": "string", "title": "Reason", "description": "原因（中文）/ reason in plain words"},
                },
            }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(DomainError, _domain_error)
    _document_plain_errors(app)
    app.add_middleware(QueryGuard)
    if app.max_body_size is not None:  # same limit, with a body that names it
        upload_mb = getattr(getattr(app.state, "settings", None), "max_upload_mb", app.max_body_size // (1024 * 1024))
        app.add_middleware(BodyLimit, max_body_size=app.max_body_size, upload_mb=upload_mb)
        app.max_body_size = None

    from sqlalchemy.exc import DataError

    app.add_exception_handler(DataError, _data_error)

    from matcher.errors import EncoderUnavailable, IndexOutOfDate, MatcherError, NotFound

    async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=status.HTTP_404_NOT_FOUND, content={"detail": str(exc)})

    async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": str(exc)},
        )

    async def _matcher_error(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=status.HTTP_400_BAD_REQUEST, content={"detail": str(exc)})

    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(IndexOutOfDate, _unavailable)
    app.add_exception_handler(EncoderUnavailable, _unavailable)
    app.add_exception_handler(MatcherError, _matcher_error)

    from matcher.errors import EventNotFound, InfeasiblePlan, PlanningError

    async def _infeasible(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InfeasiblePlan)
        return JSONResponse(
            status_code=status.HTTP_409_CONFLICT,
            content={
                "detail": str(exc),
                "problems": list(exc.problems),
                "match_list_id": exc.match_list_id,
                "version": exc.version,
            },
        )

    async def _planning_error(_request: Request, exc: Exception) -> JSONResponse:
        code = status.HTTP_404_NOT_FOUND if isinstance(exc, EventNotFound) else status.HTTP_400_BAD_REQUEST
        return JSONResponse(status_code=code, content={"detail": str(exc)})

    app.add_exception_handler(InfeasiblePlan, _infeasible)
    app.add_exception_handler(PlanningError, _planning_error)

    from ingest.errors import IngestError

    async def _ingest_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, IngestError)
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": [{"field": "file", "reason": str(exc)}]},
        )

    app.add_exception_handler(IngestError, _ingest_error)

"""The FastAPI application: JSON API plus the staff web pages.

``create_app(settings)`` builds an app whose lifespan opens the database,
migrates it, seeds the configured accounts and builds the match index once.
Tests may hand in their own ``session_factory``/``match_service``, or swap the
dependencies in ``api.deps`` with ``app.dependency_overrides``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from api import pages
from api.csrf import CrossSiteGuard
from api.errors import install_error_handlers
from api.headers import SecurityHeaders
from api.routers import (
    auth,
    demands,
    enterprises,
    events,
    experts,
    imports,
    matches,
    organisations,
    outcomes,
    reports,
    societies,
    users,
)
from api.routers import (
    jobs as job_routes,
)
from api.scope import org_gate
from kejie import job_worker, jobs
from kejie.accounts import seed_users
from kejie.deployment import check_serving, with_effective_key
from kejie.login import LoginThrottle
from kejie.settings import Settings, get_settings
from models.db import create_db_engine, make_session_factory, upgrade_database

if TYPE_CHECKING:
    from kejie.match_service import MatchService
    from matcher.encoders.base import Encoder

logger = logging.getLogger("kejie.api")
STATIC_DIR = Path(__file__).resolve().parent / "static"


def docs_assets_dir() -> Path:
    """Swagger UI 5 (renders OpenAPI 3.1) and ReDoc, bundled in the fastapi-offline package."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).resolve().parent / "static"

DESCRIPTION = """
科技供需对接服务接口：企业技术需求与专家、院士、学会的智能匹配。

Matching enterprise technical demands with experts, academicians and societies.
登录 `POST /auth/token` 取得令牌后在请求头带 `Authorization: Bearer <token>`。
联系方式（手机、电话、传真、邮箱）只对工作人员可见。Contact data is visible to staff only.
"""


def build_match_service(
    settings: Settings,
    session_factory: sessionmaker,
    encoder: Encoder | None = None,
    progress: Callable[[str], None] | None = None,
) -> MatchService:
    """Create the MatchService and load its indexes from the database (embeddings are cached)."""
    from kejie.wiring import synced_match_service

    service, counts = synced_match_service(settings, session_factory, encoder=encoder)
    if progress is not None:
        progress("索引已就绪：" + "，".join(f"{k} {v}" for k, v in counts.items()))
    return service


@lru_cache(maxsize=1)
def _redoc_bundle() -> bytes:
    text = (Path(docs_assets_dir()) / "redoc.standalone.js").read_text(encoding="utf-8")
    return text.replace("https://cdn.redoc.ly/redoc/logo-mini.svg", "/docs-assets/favicon.png").encode()


def create_app(
    settings: Settings | None = None,
    *,
    session_factory: sessionmaker | None = None,
    match_service: MatchService | None = None,
    encoder: Encoder | None = None,
) -> FastAPI:
    # never sign tokens with the public placeholder key (see kejie.deployment)
    settings = with_effective_key(settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine: Engine | None = None
        factory = session_factory
        if factory is None:
            url = settings.resolved_database_url
            engine = create_db_engine(url)
            upgrade_database(url, engine=engine)
            factory = make_session_factory(engine)
        with factory() as session:
            created = seed_users(session, settings)
            check_serving(settings, settings.host, session)
        if created:
            logger.info("seeded accounts: %s", ", ".join(created))
        app.state.session_factory = factory
        app.state.match_service = match_service or build_match_service(
            settings, factory, encoder, progress=logger.info
        )
        jobs.bind(factory, app.state.match_service)
        consumer = job_worker.start_embedded_worker(settings) if settings.job_embedded_worker else None
        try:
            yield
        finally:
            if consumer is not None:
                consumer.stop(graceful=True)
            if engine is not None:
                engine.dispose()

    app = FastAPI(
        title="kejie 科技供需对接",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        max_body_size=(settings.max_upload_mb + 1) * 1024 * 1024,
    )
    app.state.settings = settings
    app.state.login_throttle = LoginThrottle(settings)
    if session_factory is not None:
        app.state.session_factory = session_factory
    if match_service is not None:
        app.state.match_service = match_service

    install_error_handlers(app)
    pages.install_html_errors(app)
    app.add_middleware(CrossSiteGuard, trusted_origins=settings.trusted_origins)

    app.add_middleware(SecurityHeaders)

    # a city association's or a society's account reaches only its routes (api.scope.org_gate)
    gate = [Depends(org_gate)]
    for module in (auth, users, organisations, demands, enterprises, experts, societies, matches, imports, events,
                   outcomes, reports, job_routes):
        app.include_router(module.router, dependencies=gate)
    app.include_router(pages.router, dependencies=gate)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Swagger UI's and ReDoc's assets come from the fastapi-offline package, not a
    # CDN: the service must work on machines without internet access.
    @app.get("/docs-assets/redoc.standalone.js", include_in_schema=False)
    def redoc_js() -> Response:
        # the bundle shows a "powered by" logo from cdn.redoc.ly: serve it with
        # that one address pointed at our own favicon, so nothing leaves the server
        return Response(_redoc_bundle(), media_type="application/javascript")

    app.mount("/docs-assets", StaticFiles(directory=docs_assets_dir()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · ReDoc",
            redoc_js_url="/docs-assets/redoc.standalone.js",
            redoc_favicon_url="/docs-assets/favicon.png",
            with_google_fonts=False,
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


app = create_app()

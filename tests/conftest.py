"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL.

Every test that asks for ``engine``/``session`` runs twice, once per backend.
PostgreSQL isolation uses a throw-away schema per test on the server named by
``KEJIE_TEST_PG_URL`` (default: the local ``test`` database).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from models.db import create_db_engine, make_session_factory, upgrade_database

PG_URL = os.environ.get("KEJIE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def redis_url(db: int) -> str:
    """A Redis database URL for one test module's queue (each module its own ``db``);
    skips when no Redis answers on 127.0.0.1:6379 (CI has one)."""
    redis = pytest.importorskip("redis")
    url = f"redis://127.0.0.1:6379/{db}"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return url
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file brought to the head revision once (Alembic); each test gets a copy."""
    path = tmp_path_factory.mktemp("db-template") / "template.db"
    url = f"sqlite:///{path}"
    eng = create_db_engine(url)
    upgrade_database(url, engine=eng)
    eng.dispose()
    return path


@pytest.fixture
def engine(db_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    if db_backend == "sqlite":
        db = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), db)
        eng = create_db_engine(f"sqlite:///{db}")
        yield eng
        eng.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = create_db_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade_database(PG_URL, engine=eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def session_factory(engine: Engine):  # type: ignore[no-untyped-def]
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        yield s


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "societies.csv").exists():
        pytest.fail(f"../shared/data not found at {SHARED_DATA}; clone the project beside shared/")
    return SHARED_DATA


# -- tiny local sentence-transformers encoder (matcher) ---------------------------
@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_st_model"))


@pytest.fixture(scope="session")
def tiny_encoder(tiny_model_dir: Path):  # type: ignore[no-untyped-def]
    """The matcher's sentence-transformers backend loaded from ``tiny_model_dir``."""
    from matcher.encoders.sentence_transformers import SentenceTransformerEncoder

    return SentenceTransformerEncoder(tiny_model_dir)

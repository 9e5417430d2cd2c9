"""Helpers shared by command families: settings, sessions, error reporting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from kejie.settings import Settings, get_settings
from models.db import create_db_engine, make_session_factory


class KejieCommandError(click.ClickException):
    """A one-line message telling the user what went wrong and what to do."""


@contextmanager
def open_session(settings: Settings | None = None) -> Iterator[Session]:
    settings = settings or get_settings()
    engine = create_db_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()

"""How many server processes ``kejie serve`` starts when ``--workers`` is not given."""

from __future__ import annotations

import os

import pytest

from kejie.settings import Settings


def test_one_process_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEJIE_SERVE_WORKERS", raising=False)
    assert Settings().resolved_serve_workers == 1
    monkeypatch.setenv("KEJIE_SERVE_WORKERS", "3")
    assert Settings().resolved_serve_workers == 3


def test_zero_means_one_per_usable_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 5}, raising=False)
    assert Settings(serve_workers=0).resolved_serve_workers == 3


def test_a_negative_count_is_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="serve_workers"):
        Settings(serve_workers=-1)

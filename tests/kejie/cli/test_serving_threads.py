"""``kejie serve`` caps the BLAS/OpenMP threads of one computation before the
numeric libraries load (kejie/cli/__init__.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kejie.cli import _serving_threads
from kejie.settings import get_settings

VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in VARS:
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_serve_gets_one_thread_per_computation(clean_env: pytest.MonkeyPatch) -> None:
    _serving_threads(["kejie", "serve", "--port", "8001"])
    assert [os.environ.get(v) for v in VARS] == ["1", "1", "1"]


def test_other_commands_keep_the_library_defaults(clean_env: pytest.MonkeyPatch) -> None:
    _serving_threads(["kejie", "index", "build"])
    _serving_threads(["kejie", "batch", "serve"])  # only the command itself counts
    assert all(v not in os.environ for v in VARS)


def test_the_setting_and_an_explicit_variable_win(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KEJIE_SERVE_THREADS", "0")
    _serving_threads(["kejie", "serve"])
    assert all(v not in os.environ for v in VARS)
    get_settings.cache_clear()
    clean_env.setenv("KEJIE_SERVE_THREADS", "2")
    clean_env.setenv("OMP_NUM_THREADS", "4")
    _serving_threads(["kejie", "serve"])
    assert os.environ["OMP_NUM_THREADS"] == "4" and os.environ["OPENBLAS_NUM_THREADS"] == "2"


def test_the_cap_reaches_the_loaded_blas() -> None:
    env = {k: v for k, v in os.environ.items() if k not in VARS and k != "KEJIE_SERVE_THREADS"}
    code = ("import sys; sys.argv = ['kejie', 'serve']; import kejie.cli, numpy, threadpoolctl; "
            "print(sorted({i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'}))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[1]"

"""The ``kejie`` command line (``[project.scripts] kejie = "kejie.cli:main"``).

Each command family is a module of this package exposing ``register(group)``
(see :mod:`kejie.cli.families`). The CLI is an edge like ``api/``: it may import
the API (``kejie serve``); nothing else in ``kejie`` imports the CLI.
"""

from __future__ import annotations

import os
import sys


def _serving_threads(argv: list[str]) -> None:
    """For ``kejie serve``: cap the BLAS/OpenMP threads of one computation at
    ``serve_threads`` (default 1). The libraries read these variables once, when
    they are loaded, so this runs before anything imports numpy, FAISS or torch,
    and worker processes (``--workers N``) inherit them. Measured with four
    concurrent rankings of a 250k index: 33.5 requests/s with one thread each
    against 13.5 with the default (bench/README.md). Variables already set win."""
    if "serve" not in argv[1:2]:
        return
    from kejie.settings import get_settings

    n = get_settings().serve_threads
    if n > 0:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, str(n))


_serving_threads(sys.argv)

import click  # noqa: E402  (after the thread caps above)

from kejie.cli.families import register_all  # noqa: E402


@click.group()
@click.version_option(package_name="kejie")
def main() -> None:
    """kejie 科技供需对接: match enterprise technical demands with experts and societies."""


register_all(main)

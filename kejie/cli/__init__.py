"""The ``kejie`` command line (``[project.scripts] kejie = "kejie.cli:main"``).

Each command family is a module of this package exposing ``register(group)``
(see :mod:`kejie.cli.families`). The CLI is an edge like ``api/``: it may import
the API (``kejie serve``); nothing else in ``kejie`` imports the CLI.
"""

from __future__ import annotations

import click

from kejie.cli.families import register_all


@click.group()
@click.version_option(package_name="kejie")
def main() -> None:
    """kejie 科技供需对接: match enterprise technical demands with experts and societies."""


register_all(main)

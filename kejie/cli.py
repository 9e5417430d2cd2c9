"""The ``kejie`` command line. Each command family lives in ``kejie/commands/``."""

from __future__ import annotations

import click

from kejie.commands import register_all


@click.group()
@click.version_option(package_name="kejie")
def main() -> None:
    """kejie 科技供需对接: match enterprise technical demands with experts and societies."""


register_all(main)

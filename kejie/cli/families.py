"""Command families. Each module exposes ``register(group)``; a family that
fails to import (an optional dependency missing) must not break the others."""

from __future__ import annotations

import importlib

import click

FAMILIES = ["db", "ingest_cmd", "matching", "fusion_fit", "serve", "batch", "encoders", "jobs_cmd", "orgs"]


def register_all(group: click.Group) -> None:
    for name in FAMILIES:
        try:
            module = importlib.import_module(f"kejie.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"kejie.cli.{name}":
                continue  # family not written yet
            raise
        module.register(group)

"""Who may import whom (docs/architecture.md). Every import statement of every
module is read with ``ast`` (function-level and ``TYPE_CHECKING`` imports
included), so a violation anywhere fails the suite."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("matcher", "models", "ingest", "kejie", "api")
WEB = ("fastapi", "starlette", "uvicorn", "jinja2", "fastapi_offline")
DATABASE = ("models", "sqlalchemy", "alembic")
CLI = ("click", "kejie.cli")

# (modules the rule covers, modules exempt from it, imports they must not make)
RULES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    # the pure engine: plain data and explicit parameters in, results out
    ("matcher", (), ("kejie", "api", "ingest", *DATABASE, *WEB, *CLI)),
    # the database knows nothing above it
    ("models", (), ("matcher", "ingest", "kejie", "api", *WEB, *CLI)),
    # file -> validated rows -> database; may use the engine's pure rules
    ("ingest", (), ("kejie", "api", *WEB, *CLI)),
    # the application core never imports an edge
    ("kejie", ("kejie.cli",), ("api", *WEB, *CLI)),
    # the HTTP edge does not import the command line
    ("api", (), CLI),
]


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # ``from kejie import cli`` imports kejie.cli
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _modules(root: Path) -> list[Path]:
    out: list[Path] = []
    for package in PACKAGES:
        out += sorted(p for p in (root / package).rglob("*.py") if "migrations" not in p.parts)
    return out


def violations(root: Path = ROOT) -> list[str]:
    found: list[str] = []
    for path in _modules(root):
        module = _module_name(path, root)
        for scope, exempt, forbidden in RULES:
            if not _within(module, scope) or any(_within(module, e) for e in exempt):
                continue
            for line, target in _imports(path, root):
                bad = next((f for f in forbidden if _within(target, f)), None)
                if bad is not None:
                    found.append(f"{path.relative_to(root)}:{line}: {module} imports {target} ({scope} may not import {bad})")
    return sorted(set(found))


def test_every_package_is_checked() -> None:
    assert all((ROOT / p).is_dir() for p in PACKAGES)  # api/ is a namespace package
    assert len(_modules(ROOT)) > 80


def test_import_rules_hold() -> None:
    problems = violations()
    assert not problems, "import rules broken:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from kejie.settings import Settings\n", "matcher/x.py", True),
        ("def f():\n    import sqlalchemy.orm\n", "matcher/x.py", True),
        ("from kejie import cli\n", "kejie/x.py", True),
        ("from api.deps import SessionDep\n", "kejie/x.py", True),
        ("import click\n", "kejie/cli/x.py", False),
        ("from matcher import rules\n", "ingest/x.py", False),
    ],
)
def test_the_check_catches_a_violation(tmp_path: Path, source: str, module: str, expected: bool) -> None:
    """The checker itself: a planted import is reported (or correctly allowed)."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    target = tmp_path / module
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    assert bool(violations(tmp_path)) is expected


MAX_LINES = 400  # modules stay small enough to read in one go


def test_no_oversized_module_in_the_packages() -> None:
    big = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for package in ("api", "kejie", "matcher", "ingest")
        for p in sorted((ROOT / package).rglob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not big, "split these modules:\n" + "\n".join(big)

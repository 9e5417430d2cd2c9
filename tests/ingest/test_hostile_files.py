"""Hostile import files: formulas in the rejects report, control characters,
zip bombs, deep JSON, and the import log of an import that dies half-way."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from kejie.cli import main
from kejie.settings import get_settings
from models import upgrade_database

HEADER = ["单位名称", "所在地区", "联系人", "手机", "E-mail", "技术需求名称", "具体的技术需求说明"]


def demand_row(n: int, **kw: str) -> list[str]:
    values = {
        "单位名称": f"福州示例{n}号科技有限公司",
        "所在地区": "福州市",
        "联系人": "王工",
        "手机": f"138000000{n:02d}",
        "E-mail": f"rd{n}@example.com",
        "技术需求名称": f"需求{n}：电池材料改性",
        "具体的技术需求说明": f"第{n}项需求的说明。",
    }
    values.update(kw)
    return [values[h] for h in HEADER]


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("KEJIE_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade_database(url)
    yield url
    get_settings.cache_clear()


def test_rejects_report_neutralises_formulas(db_url: str, make_csv: Callable[..., Path], tmp_path: Path) -> None:
    rows = [
        HEADER,
        demand_row(1, 手机="=HYPERLINK(\"http://evil.example\",\"x\")"),
        demand_row(2, **{"E-mail": "@SUM(A1:A9)"}),
        demand_row(3, 所在地区="-2+3"),
        demand_row(4),
    ]
    src = make_csv("=cmd|' calc'!A0.csv", rows)
    out = tmp_path / "rejects.csv"
    result = CliRunner().invoke(main, ["ingest", str(src), "--kind", "demands", "--rejects", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rejects = list(csv.reader(fh))[1:]
    assert len(rejects) == 3
    cells = [c for r in rejects for c in r]
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells), cells
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in cells
    assert "'=cmd|' calc'!A0.csv" in cells

"""The plan workbook as it prints: LibreOffice (``soffice --headless``, Debian's
libreoffice-calc-nogui from scripts/system-deps.sh) renders the sample event's
XLSX to PDF, and every per-expert sheet, the one an expert takes along, is one
landscape A4 page; so is a full three-day schedule (six half-days) of one expert."""

from __future__ import annotations

import copy
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

SOFFICE = shutil.which("soffice")
A4_LONG, A4_SHORT = 841.89, 595.28  # points


@dataclass
class SamplePlan:
    data: Any  # kejie.events.export.ExportData, staff copy (contacts: the widest sheets)
    workbook: Path


@pytest.fixture(scope="module")
def sample_plan(tmp_path_factory: pytest.TempPathFactory, tiny_encoder: Any) -> Iterator[SamplePlan]:
    from ingest.sample import load_sample
    from kejie.events import latest_match_list, plan_event
    from kejie.events.export import collect
    from kejie.events.files import write_xlsx
    from kejie.match_service import MatchService
    from kejie.settings import Settings
    from models import Event
    from models.db import create_db_engine, make_session_factory, upgrade_database

    tmp = tmp_path_factory.mktemp("print-layout")
    url = f"sqlite:///{tmp / 'sample.db'}"
    engine = create_db_engine(url)
    upgrade_database(url, engine=engine)
    with make_session_factory(engine)() as session:
        load_sample(session)
        event = session.query(Event).order_by(Event.id).first()
        assert event is not None and event.name == "2026年院士八闽行（泉州站）"
        service = MatchService(Settings(var_dir=tmp / "var", index_dir=tmp / "index"), encoder=tiny_encoder)
        service.sync(session, ["expert"])
        plan_event(session, event.id, service.score_matrix)
        ml = latest_match_list(session, event.id)
        assert ml is not None and ml.items
        data = collect(session, ml, include_contacts=True)
    engine.dispose()
    yield SamplePlan(data, write_xlsx(data, tmp / "sample_plan.xlsx"))


def _to_pdf(sources: list[Path], out: Path) -> list[Path]:
    if SOFFICE is None:
        pytest.skip("soffice (LibreOffice) is not installed: run scripts/system-deps.sh")
    profile = out / "lo-profile"
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(out), *map(str, sources)],
        check=True, timeout=240, capture_output=True,
    )
    pdfs = [out / f"{s.stem}.pdf" for s in sources]
    missing = [p.name for p in pdfs if not p.exists()]
    assert not missing, f"soffice wrote no {missing}"
    return pdfs


def _pages(pdf: Path) -> list[tuple[float, float, str]]:
    from pypdf import PdfReader

    out = []
    for page in PdfReader(pdf).pages:
        box = page.mediabox
        w, h = float(box.width), float(box.height)
        if int(page.get("/Rotate", 0) or 0) % 180:
            w, h = h, w
        out.append((w, h, page.extract_text() or ""))
    return out


def _expert_headers(workbook: Path) -> list[str]:
    from openpyxl import load_workbook

    wb = load_workbook(workbook, read_only=True)
    ws = next(wb[n] for n in wb.sheetnames if n.startswith("专家-"))
    return [str(c.value) for c in next(ws.iter_rows(min_row=2, max_row=2)) if c.value]


def _expert_title(row: dict[str, Any]) -> str:
    return f"专家 {row['candidate_name']}（"


def test_each_expert_schedule_is_one_landscape_page(sample_plan: SamplePlan, tmp_path: Path) -> None:
    data = sample_plan.data
    experts: dict[int, list[dict[str, Any]]] = {}
    for row in data.rows:
        if row["kind"] == "expert":
            experts.setdefault(row["candidate_id"], []).append(row)
    assert len(experts) >= 10
    # a full schedule for one expert: the busiest one's visit repeated on all six half-days
    busiest = max(experts.values(), key=len)
    full = copy.copy(data)
    full.rows = []
    for n in range(6):
        row = copy.deepcopy(busiest[0])
        day = f"2026-12-{8 + n // 2:02d}"
        row.update(visit_day=day, slot=("上午", "下午")[n % 2], visit_when=f"{day} {('上午', '下午')[n % 2]}",
                   visit_order=1, schedule_note=f"第{n + 1}场：同日同一设区市，按区县顺路排定")
        full.rows.append(row)
    from kejie.events.files import write_xlsx

    full_xlsx = write_xlsx(full, tmp_path / "full_schedule.xlsx")

    sample_pdf, full_pdf = _to_pdf([sample_plan.workbook, full_xlsx], tmp_path)

    pages = _pages(sample_pdf)
    assert all(w > h for w, h, _ in pages), [(w, h) for w, h, _ in pages if w <= h]
    assert all(abs(w - A4_LONG) < 2 and abs(h - A4_SHORT) < 2 for w, h, _ in pages)
    headers = _expert_headers(sample_plan.workbook)
    assert headers[-1] == "电子邮箱"  # the staff copy: the widest per-expert sheet
    for rows in experts.values():
        title = _expert_title(rows[0])
        # the title and header rows repeat on every printed page of the sheet: one
        # page with the title (not two tall), holding every column header (not two wide)
        on = [n for n, (_w, _h, text) in enumerate(pages) if title in text and "对接安排" in text]
        assert len(on) == 1, (title, on)
        text = pages[on[0]][2]
        assert f"共 {len(rows)} 场" in text
        assert all(h in text for h in headers), (title, [h for h in headers if h not in text])
        for r in rows:
            assert r["enterprise_name"] in text.replace("\n", ""), (title, r["enterprise_name"])

    full_pages = _pages(full_pdf)
    title = _expert_title(busiest[0])
    on = [n for n, (_w, _h, text) in enumerate(full_pages) if title in text and "对接安排：共 6 场" in text]
    assert len(on) == 1, on
    w, h, text = full_pages[on[0]]
    assert w > h and all(h in text for h in headers)
    for n in range(6):
        assert f"第{n + 1}场" in text, n

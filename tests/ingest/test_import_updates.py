"""Re-imports: a corrected 具体的技术需求说明 updates the demand; in-file duplicates
are counted so the report adds up; rejects are kept as the rows were read, and
download as an XLSX laid out like the upload (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import import_file
from ingest.rejects import rejects_xlsx
from models import Demand, ImportLog
from tests.ingest.conftest import (
    GOOD_A1,
    GOOD_A2,
    MESSY_HEADER,
    MESSY_REJECTS,
    MESSY_ROWS,
    write_csv,
    write_xlsx,
)

DESC = MESSY_HEADER.index("具体的技术需求说明（包括技术难点、预期目标等）")


def _demands(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Demand)) or 0


def test_a_corrected_description_updates_the_demand(session: Session, tmp_path: Path) -> None:
    first = import_file(session, write_xlsx(tmp_path / "泉州.xlsx", [MESSY_HEADER, GOOD_A1, GOOD_A2]), "demands")
    assert (first.inserted, first.updated) == (2, 0)
    corrected = list(GOOD_A1)
    corrected[DESC] = "中底材料回弹率偏低（55%），需要新的发泡配方，目标回弹率65%以上。"
    second = import_file(session, write_xlsx(tmp_path / "泉州_更正.xlsx", [MESSY_HEADER, corrected, GOOD_A2]),
                         "demands")
    assert (second.rows_total, second.inserted, second.updated, second.unchanged) == (2, 0, 1, 1)
    assert _demands(session) == 2
    [change] = [c for c in second.changes if c["entity"] == "demand"]
    assert change["fields"] == ["description"] and change["label"] == "运动鞋中底回弹提升"
    demand = session.scalar(select(Demand).where(Demand.title == "运动鞋中底回弹提升"))
    assert demand is not None and "65%" in demand.description
    log = session.get(ImportLog, second.import_log_id)
    assert log is not None and log.updated == 1 and log.changes[0]["fields"] == ["description"]


def test_in_file_duplicates_make_the_report_add_up(session: Session, tmp_path: Path) -> None:
    changed_twin = list(GOOD_A2)
    changed_twin[DESC] = "另一段说明"
    rows = [MESSY_HEADER, GOOD_A1, GOOD_A2, GOOD_A1, changed_twin,
            ["9", "泉州示例机械有限公司", "泉州市", "装备制造", "", "张工", "1380000", "", "",
             "zhang@example.com", "", "焊接变形控制", "薄板焊接变形大。", "", "", ""]]
    report = import_file(session, write_xlsx(tmp_path / "重复.xlsx", rows), "demands")
    assert report.rows_total == 5
    assert (report.inserted, report.updated, report.unchanged, report.rejected, report.duplicates) == (2, 0, 0, 1, 2)
    assert report.rows_total == (report.inserted + report.updated + report.unchanged
                                 + report.rejected + report.duplicates)
    dup_exact, dup_changed = report.duplicate_rows
    assert (dup_exact["row"], dup_exact["duplicate_of"], dup_exact["differs"]) == (4, 2, [])
    assert (dup_changed["row"], dup_changed["duplicate_of"]) == (5, 3)
    assert dup_changed["differs"] == [MESSY_HEADER[DESC]] and "与第3行是同一条记录" in dup_changed["reason"]
    log = session.get(ImportLog, report.import_log_id)
    assert log is not None and log.duplicates == 2 and [d["row"] for d in log.duplicate_rows] == [4, 5]
    again = import_file(session, write_xlsx(tmp_path / "重复2.xlsx", rows), "demands")
    assert (again.unchanged, again.rejected, again.duplicates, again.rows_total) == (2, 1, 2, 5)


def test_rejects_download_is_laid_out_like_the_upload(session: Session, messy_xlsx: Path) -> None:
    report = import_file(session, messy_xlsx, "demands")
    log = session.get(ImportLog, report.import_log_id)
    assert log is not None
    assert log.reject_header[: len(MESSY_HEADER)] == MESSY_HEADER
    assert [r["row"] for r in log.reject_rows] == [row for row, _f, _r in MESSY_REJECTS]
    wb = load_workbook(io.BytesIO(rejects_xlsx(log.reject_header, log.reject_rows)))
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert header == [*MESSY_HEADER, "原因"]
    assert ws.max_row == 1 + len(MESSY_REJECTS)
    by_row = {n: MESSY_ROWS[n - 1] for n, _f, _r in MESSY_REJECTS}
    for i, (n, field, fragment) in enumerate(MESSY_REJECTS, start=2):
        cells = [c.value for c in ws[i]]
        expected = [None if v in ("", None) else v for v in by_row[n]]
        assert [None if v in ("", None) else v for v in cells[:-1]] == expected
        assert cells[-1].startswith(f"第{n}行：") and field in cells[-1] and fragment in cells[-1]


def test_rejects_download_neutralises_formulas(session: Session, tmp_path: Path) -> None:
    bad = list(GOOD_A1)
    bad[MESSY_HEADER.index("联系人")] = "=HYPERLINK(\"http://x\",\"1\")"
    bad[MESSY_HEADER.index("所在地区（设区市）")] = "杭州市"
    report = import_file(session, write_csv(tmp_path / "公式.csv", [MESSY_HEADER, bad]), "demands")
    assert report.rejected == 1
    log = session.get(ImportLog, report.import_log_id)
    assert log is not None
    ws = load_workbook(io.BytesIO(rejects_xlsx(log.reject_header, log.reject_rows))).active
    cell = ws.cell(row=2, column=MESSY_HEADER.index("联系人") + 1)
    assert cell.data_type == "s" and str(cell.value).startswith("'=")

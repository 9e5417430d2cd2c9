"""The report of one import, without a database."""

from __future__ import annotations

import json

from ingest.report import Counts, ImportReport


def test_a_report_without_rejects_is_ok() -> None:
    report = ImportReport(kind="experts", filename="experts.csv", rows_total=2, inserted=2)
    assert report.ok
    report.rejected = 1
    assert not report.ok


def test_to_dict_is_plain_json_including_the_enterprise_counts() -> None:
    report = ImportReport(kind="demands", filename="demands.xlsx", enterprises=Counts(inserted=3))
    data = report.to_dict()
    assert data["enterprises"] == {"inserted": 3, "updated": 0, "unchanged": 0}
    assert data["kind"] == "demands" and data["import_log_id"] is None
    json.dumps(data, ensure_ascii=False)

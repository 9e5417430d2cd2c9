"""The columns of an export: contact columns only in the staff copy."""

from __future__ import annotations

from kejie.events.export_data import (
    CANDIDATE_CONTACTS,
    COLUMNS,
    CONTACT_COLUMNS,
    ENTERPRISE_CONTACTS,
    ExportData,
)


def test_contact_columns_only_when_asked_for() -> None:
    public = ExportData(event={}, match_list={}, rows=[])
    staff = ExportData(event={}, match_list={}, rows=[], include_contacts=True)
    assert public.columns == COLUMNS
    assert staff.columns == COLUMNS + CONTACT_COLUMNS
    assert public.slots == ["上午", "下午"]


def test_every_contact_key_is_a_contact_column() -> None:
    keys = [k for k, _, _ in CONTACT_COLUMNS]
    assert set(ENTERPRISE_CONTACTS) | set(CANDIDATE_CONTACTS) == set(keys)
    assert not set(keys) & {k for k, _, _ in COLUMNS}

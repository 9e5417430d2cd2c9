"""Stable dedup keys: sha256 hex of normalised identifying fields.

Anything that creates these records outside the importer (API forms ...) should
use the same functions so that a later import recognises the record.
"""

from __future__ import annotations

from ingest.normalize import dedup_hash, key_text


def enterprise_key(name: str) -> str:
    return dedup_hash("enterprise", key_text(name))


def demand_key(enterprise_name: str, title: str) -> str:
    """A demand is its enterprise and title: a corrected 具体的技术需求说明 in a later
    sheet updates the demand instead of adding a second one."""
    return dedup_hash("demand", "v2", key_text(enterprise_name), key_text(title))


def expert_key(external_id: str, name: str, affiliation: str) -> str:
    if key_text(external_id):
        return dedup_hash("expert", "id", key_text(external_id))
    return dedup_hash("expert", "name", key_text(name), key_text(affiliation))


def society_key(external_id: str, name: str) -> str:
    if key_text(external_id):
        return dedup_hash("society", "id", key_text(external_id))
    return dedup_hash("society", "name", key_text(name))

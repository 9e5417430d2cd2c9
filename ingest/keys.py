"""Stable dedup keys: sha256 hex of normalised identifying fields.

Anything that creates these records outside the importer (API forms ...) should
use the same functions so that a later import recognises the record.
"""

from __future__ import annotations

from ingest.normalize import dedup_hash, key_text


def enterprise_key(name: str) -> str:
    return dedup_hash("enterprise", key_text(name))


def demand_key(enterprise_name: str, title: str, description: str) -> str:
    return dedup_hash("demand", key_text(enterprise_name), key_text(title), key_text(description))


def expert_key(external_id: str, name: str, affiliation: str) -> str:
    if key_text(external_id):
        return dedup_hash("expert", "id", key_text(external_id))
    return dedup_hash("expert", "name", key_text(name), key_text(affiliation))


def society_key(external_id: str, name: str) -> str:
    if key_text(external_id):
        return dedup_hash("society", "id", key_text(external_id))
    return dedup_hash("society", "name", key_text(name))

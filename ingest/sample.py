"""Load the bundled sample (data/sample/) through the normal importer, then add
stations, conflicts of interest and the sample event. Running it twice creates
nothing new."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.errors import IngestError
from ingest.importer import import_file
from ingest.keys import enterprise_key
from ingest.report import ImportReport
from models import Conflict, Enterprise, Event, Expert, Society, Station

# the bundled sample beside the packages (data/sample/); ingest reads no settings
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
SAMPLE_IMPORTS = (("societies.csv", "societies"), ("experts.csv", "experts"), ("demands.xlsx", "demands"))


@dataclass
class SampleReport:
    imports: list[ImportReport] = field(default_factory=list)
    stations_created: int = 0
    conflicts_created: int = 0
    events_created: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "imports": [
                {k: v for k, v in r.to_dict().items() if k in _SUMMARY_KEYS} for r in self.imports
            ],
            "stations_created": self.stations_created,
            "conflicts_created": self.conflicts_created,
            "events_created": self.events_created,
        }


_SUMMARY_KEYS = {"kind", "filename", "rows_total", "inserted", "updated", "unchanged", "duplicates", "rejected", "enterprises"}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


class _Refs:
    """Look up sample records by their natural identifiers."""

    def __init__(self, session: Session, file: str) -> None:
        self.session = session
        self.file = file

    def enterprise(self, name: str) -> Enterprise:
        ent = self.session.scalars(select(Enterprise).where(Enterprise.dedup_key == enterprise_key(name))).first()
        if ent is None:
            raise IngestError(self.file, f"样例数据引用了不存在的单位“{name}”")
        return ent

    def expert(self, external_id: str) -> Expert:
        obj = self.session.scalars(select(Expert).where(Expert.external_id == external_id)).first()
        if obj is None:
            raise IngestError(self.file, f"样例数据引用了不存在的专家编号“{external_id}”")
        return obj

    def society(self, external_id: str) -> Society:
        obj = self.session.scalars(select(Society).where(Society.external_id == external_id)).first()
        if obj is None:
            raise IngestError(self.file, f"样例数据引用了不存在的学会编号“{external_id}”")
        return obj


def _load_stations(session: Session, path: Path) -> int:
    refs = _Refs(session, path.name)
    created = 0
    for row in _read_csv(path):
        ent = refs.enterprise(row["enterprise"])
        society_id = refs.society(row["society_id"]).id if row["society_id"] else None
        expert_id = refs.expert(row["expert_id"]).id if row["expert_id"] else None
        exists = session.scalars(
            select(Station).where(
                Station.kind == row["kind"],
                Station.enterprise_id == ent.id,
                Station.society_id.is_(None) if society_id is None else Station.society_id == society_id,
                Station.expert_id.is_(None) if expert_id is None else Station.expert_id == expert_id,
            )
        ).first()
        if exists is not None:
            continue
        session.add(
            Station(
                kind=row["kind"],
                name=row["name"],
                enterprise_id=ent.id,
                society_id=society_id,
                expert_id=expert_id,
                established_on=date.fromisoformat(row["established_on"]) if row["established_on"] else None,
            )
        )
        created += 1
    return created


def _load_conflicts(session: Session, path: Path) -> int:
    refs = _Refs(session, path.name)
    created = 0
    for row in _read_csv(path):
        expert = refs.expert(row["expert_id"])
        ent = refs.enterprise(row["enterprise"])
        exists = session.scalars(
            select(Conflict).where(Conflict.expert_id == expert.id, Conflict.enterprise_id == ent.id)
        ).first()
        if exists is None:
            session.add(Conflict(expert_id=expert.id, enterprise_id=ent.id, reason=row["reason"]))
            created += 1
    return created


def _load_events(session: Session, path: Path) -> int:
    created = 0
    for spec in json.loads(path.read_text(encoding="utf-8")):
        starts_on = date.fromisoformat(spec["starts_on"])
        exists = session.scalars(select(Event).where(Event.name == spec["name"], Event.starts_on == starts_on)).first()
        if exists is not None:
            continue
        values = dict(spec)
        values["starts_on"] = starts_on
        values["ends_on"] = date.fromisoformat(spec["ends_on"]) if spec.get("ends_on") else None
        session.add(Event(**values))
        created += 1
    return created


def load_sample(session: Session, sample_dir: Path | None = None, *, imported_by: str = "sample",
                register: Callable[[str, str], AbstractContextManager[Any]] | None = None) -> SampleReport:
    """Import the sample societies, experts and demands, then stations, conflicts
    and the sample event. Idempotent. ``register(kind, filename)``: a context
    around each file's import whose value has ``import_id`` (the log the import
    writes) and ``progress`` (the application registers each import as a running
    job with it, so a killed load's logs end failed)."""
    directory = Path(sample_dir) if sample_dir is not None else SAMPLE_DIR
    report = SampleReport()
    for filename, kind in SAMPLE_IMPORTS:
        if register is None:
            report.imports.append(import_file(session, directory / filename, kind, imported_by))
            continue
        with register(kind, filename) as running:
            report.imports.append(import_file(session, directory / filename, kind, imported_by,
                                              progress=running.progress, log_id=running.import_id))
    report.stations_created = _load_stations(session, directory / "stations.csv")
    report.conflicts_created = _load_conflicts(session, directory / "conflicts.csv")
    report.events_created = _load_events(session, directory / "events.json")
    session.commit()
    return report

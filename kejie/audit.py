"""Attribution of every write: one AuditLog row plus a log line."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from models import AuditLog, User

logger = logging.getLogger("kejie.audit")


def audit(
    session: Session,
    user: User | None,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row to ``session``; the caller commits it with the change itself."""
    row = AuditLog(
        user_id=user.id if user is not None else None,
        action=action,
        entity=entity,
        entity_id=entity_id,
        detail=detail or {},
    )
    session.add(row)
    logger.info(
        "%s %s %s#%s %s", user.username if user else "-", action, entity, entity_id, detail or ""
    )
    return row

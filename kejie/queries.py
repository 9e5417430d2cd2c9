"""Query helpers shared by every list: term splitting, LIKE patterns that take
the user's text literally, JSON-list containment portable across SQLite and
PostgreSQL, the demand list query and paging."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, String, cast, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from kejie.errors import FieldProblem
from matcher.types import Filters
from models import Demand, DemandStatus, Enterprise


def split_terms(text: str | None) -> list[str]:
    """``福州市,厦门市`` or ``福州市；厦门市`` -> a list; blanks dropped."""
    if not text:
        return []
    for sep in "；;，、|":
        text = text.replace(sep, ",")
    return [t.strip() for t in text.split(",") if t.strip()]


def make_filters(
    region: str | None = None,
    discipline: str | None = None,
    academician_only: bool = False,
    available_only: bool = False,
    exclude_ids: Iterable[str] = (),
) -> Filters:
    return Filters(
        cities=split_terms(region) or None,
        disciplines=split_terms(discipline) or None,
        academician_only=academician_only,
        available_only=available_only,
        exclude_ids=set(exclude_ids),
    )


def like_escape(text: str) -> str:
    """``text`` with the LIKE wildcards ``%`` and ``_`` (and the escape ``!``) escaped, for ``escape="!"``."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def like_contains(text: str) -> str:
    """A LIKE pattern (``escape="!"``) matching values that contain ``text`` literally: ``q=%`` is a percent sign."""
    return f"%{like_escape(text)}%"


def json_list_contains(column: Any, values: list[str]) -> Any:
    """Rows whose JSON list of strings has an element matching any of ``values``.

    Portable across SQLite and PostgreSQL: a LIKE over the stored JSON text. The
    default serializer escapes non-ASCII (``\\u6750``), so the pattern is
    escaped the same way, with ``!`` as the LIKE escape (PostgreSQL would
    otherwise read the backslashes as escapes). A value starting with a Chinese
    character may sit anywhere in an element (``中药`` finds ``中药学``): its
    pattern starts with ``\\u`` and so lines up with whole escapes. Any other
    value must start an element (``"1`` ...), so ``1`` never matches the hex
    digits inside ``\\u6751``.
    """
    conditions = []
    for value in values:
        encoded = like_escape(json.dumps(value)[1:-1])
        pattern = f"%{encoded}%" if encoded.startswith("\\u") else f'%"{encoded}%'
        conditions.append(cast(column, String).like(pattern, escape="!"))
    return or_(*conditions) if conditions else false()


def demand_query(
    city: str | None = None,
    industry: str | None = None,
    status_: str | None = None,
    q: str | None = None,
    enterprise_id: int | None = None,
) -> Select[tuple[Demand]]:
    query = select(Demand).join(Demand.enterprise).options(selectinload(Demand.enterprise))
    if cities := split_terms(city):
        query = query.where(Enterprise.city.in_(cities))
    if industries := split_terms(industry):
        query = query.where(or_(Demand.industry.in_(industries), Enterprise.industry.in_(industries)))
    if statuses := split_terms(status_):
        allowed = [s.value for s in DemandStatus]
        unknown = [s for s in statuses if s not in allowed]
        if unknown:
            raise FieldProblem("status", f"未知的状态“{unknown[0][:40]}”，应为以下之一：{', '.join(allowed)}")
        query = query.where(Demand.status.in_(statuses))
    if enterprise_id is not None:
        query = query.where(Demand.enterprise_id == enterprise_id)
    if q and q.strip():
        like = like_contains(q.strip())
        query = query.where(
            or_(
                Demand.title.ilike(like, escape="!"),
                Demand.description.ilike(like, escape="!"),
                Enterprise.name.ilike(like, escape="!"),
            )
        )
    return query


def count_and_page(
    session: Session, query: Select[Any], order_by: Any, limit: int, offset: int
) -> tuple[int, list[Any]]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.scalars(query.order_by(*order_by).limit(limit).offset(offset)).unique())
    return total, rows

"""Small factories for ORM records; every field has a plausible default."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from models import Demand, Enterprise, Expert, Society

_seq = itertools.count(1)


def make_enterprise(session: Session, **kw: Any) -> Enterprise:
    n = next(_seq)
    values: dict[str, Any] = {
        "dedup_key": f"ent-{n}",
        "name": f"福州示例科技有限公司{n}",
        "main_business": "锂电池正极材料研发与生产",
        "profile": "高新技术企业，拥有省级企业技术中心。",
        "city": "福州市",
        "industry": "新材料",
    }
    values.update(kw)
    obj = Enterprise(**values)
    session.add(obj)
    session.flush()
    return obj


def make_demand(session: Session, enterprise: Enterprise | None = None, **kw: Any) -> Demand:
    n = next(_seq)
    enterprise = enterprise or make_enterprise(session)
    values: dict[str, Any] = {
        "dedup_key": f"dem-{n}",
        "enterprise_id": enterprise.id,
        "title": "高镍三元正极材料循环寿命提升",
        "description": "现有高镍正极材料在高温循环中容量衰减快，需要表面包覆与掺杂改性技术。",
        "industry": enterprise.industry,
        "contact_name": "王工",
        "mobile": "13800000000",
        "email": "rd@example.com",
    }
    values.update(kw)
    obj = Demand(**values)
    session.add(obj)
    session.flush()
    return obj


def make_expert(session: Session, **kw: Any) -> Expert:
    n = next(_seq)
    values: dict[str, Any] = {
        "dedup_key": f"exp-{n}",
        "external_id": f"E{n:04d}",
        "name": f"专家{n}",
        "title": "教授",
        "affiliation": "福州大学",
        "disciplines": ["材料科学与工程"],
        "research_areas": ["锂离子电池正极材料", "表面包覆改性"],
        "achievements": ["高镍三元材料产业化"],
        "city": "福州市",
        "capacity": 3,
    }
    values.update(kw)
    obj = Expert(**values)
    session.add(obj)
    session.flush()
    return obj


def make_society(session: Session, **kw: Any) -> Society:
    n = next(_seq)
    values: dict[str, Any] = {
        "dedup_key": f"soc-{n}",
        "external_id": f"S{n:03d}",
        "name": f"福建省材料学会{n}",
        "disciplines": ["材料科学与工程"],
        "keywords": ["复合材料", "电池材料"],
    }
    values.update(kw)
    obj = Society(**values)
    session.add(obj)
    session.flush()
    return obj

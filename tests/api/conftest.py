"""API test fixtures: an app wired to the per-test database and a MatchService
over the tiny local encoder, plus a small realistic data set and accounts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.deps import get_index, get_session
from api.main import create_app
from kejie.accounts import create_user
from kejie.match_service import MatchService
from kejie.settings import Settings
from models import Role
from tests.factories import make_demand, make_enterprise, make_expert, make_society


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Full-cost scrypt takes ~0.1 s a hash; the cost is stored in each hash, so a
    lower one in tests exercises the same code."""
    import kejie.security

    monkeypatch.setattr(kejie.security, "SCRYPT_N", 2**8)


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        index_dir=tmp_path / "index",
        secret_key="test-secret-key",
        expert_username="",
    )


@dataclass
class World:
    """Ids of the records every API test can rely on."""

    battery_demand: int
    tcm_demand: int
    software_demand: int
    battery_enterprise: int
    battery_expert: int
    tcm_expert: int
    academician: int
    other_expert: int
    materials_society: int
    tcm_society: int
    staff_id: int
    expert_user_id: int


def build_world(session: Session) -> World:
    battery_ent = make_enterprise(
        session, name="宁德新能源材料有限公司", city="宁德市", industry="新能源", main_business="锂电池正极材料"
    )
    tcm_ent = make_enterprise(
        session, name="漳州片仔癀中药科技有限公司", city="漳州市", industry="生物医药", main_business="中成药"
    )
    soft_ent = make_enterprise(
        session, name="厦门云图软件有限公司", city="厦门市", industry="软件", main_business="工业软件"
    )
    battery = make_demand(
        session,
        battery_ent,
        title="高镍三元正极材料循环寿命提升",
        description="高镍三元正极材料在高温循环中容量衰减快，需要表面包覆与掺杂改性技术。联系电话：13912345678",
        contact_name="陈工",
        mobile="13912345678",
        office_phone="0593-2345678",
        fax="0593-2345679",
        email="chen@ndxny.example.com",
    )
    tcm = make_demand(
        session,
        tcm_ent,
        title="中药注射液质量标准提升",
        description="需要建立中药注射液指纹图谱与有效成分含量测定方法，提升中药制剂质量控制水平。",
        contact_name="林经理",
        mobile="13700001111",
        email="lin@pzh.example.com",
    )
    soft = make_demand(
        session,
        soft_ent,
        title="工业设备故障诊断算法",
        description="基于振动信号的工业设备故障诊断与预测性维护算法，需要机器学习方面的专家。",
        mobile="13600002222",
        email="it@yuntu.example.com",
    )
    battery_expert = make_expert(
        session,
        name="李电池",
        city="福州市",
        disciplines=["材料科学与工程"],
        research_areas=["锂离子电池正极材料", "高镍三元材料表面包覆改性"],
        achievements=["高镍三元正极材料产业化"],
        mobile="13800138000",
        email="li@fzu.example.edu.cn",
    )
    tcm_expert = make_expert(
        session,
        name="王中药",
        city="漳州市",
        affiliation="福建中医药大学",
        disciplines=["中药学"],
        research_areas=["中药注射液质量控制", "中药指纹图谱"],
        achievements=["中药制剂质量标准研究"],
        mobile="13800138001",
        email="wang@fjtcm.example.edu.cn",
    )
    academician = make_expert(
        session,
        name="张院士",
        title="院士",
        is_academician=True,
        city="厦门市",
        affiliation="厦门大学",
        disciplines=["化学"],
        research_areas=["电化学储能", "锂电池电极材料"],
        achievements=["锂电池电极材料界面研究"],
        mobile="13800138002",
        email="zhang@xmu.example.edu.cn",
    )
    other = make_expert(
        session,
        name="赵算法",
        city="厦门市",
        affiliation="厦门理工学院",
        disciplines=["计算机科学与技术"],
        research_areas=["机器学习", "设备故障诊断"],
        achievements=["振动信号故障诊断系统"],
        mobile="13800138003",
        email="zhao@xmut.example.edu.cn",
    )
    materials = make_society(
        session,
        name="福建省材料学会",
        disciplines=["材料科学与工程"],
        keywords=["电池材料", "正极材料", "表面包覆"],
        description="材料科学与工程学科专家组，长于电池材料与复合材料。",
    )
    tcm_soc = make_society(
        session,
        name="福建省中医药学会",
        disciplines=["中药学"],
        keywords=["中药注射液", "指纹图谱", "质量控制"],
        description="中医药学科专家组。",
    )
    staff = create_user(session, "staff", "staff123", Role.staff)
    create_user(session, "admin", "admin123", Role.admin)
    expert_user = create_user(session, "expert", "expert123", Role.expert, expert_id=battery_expert.id)
    create_user(session, "expert2", "expert234", Role.expert, expert_id=tcm_expert.id)
    session.commit()
    return World(
        battery_demand=battery.id,
        tcm_demand=tcm.id,
        software_demand=soft.id,
        battery_enterprise=battery_ent.id,
        battery_expert=battery_expert.id,
        tcm_expert=tcm_expert.id,
        academician=academician.id,
        other_expert=other.id,
        materials_society=materials.id,
        tcm_society=tcm_soc.id,
        staff_id=staff.id,
        expert_user_id=expert_user.id,
    )


@pytest.fixture
def world(session_factory: sessionmaker) -> World:
    with session_factory() as session:
        return build_world(session)


@pytest.fixture
def match_service(api_settings: Settings, tiny_encoder: Any) -> MatchService:
    return MatchService(api_settings, encoder=tiny_encoder)


@pytest.fixture
def app(api_settings: Settings, session_factory: sessionmaker, match_service: MatchService) -> FastAPI:
    application = create_app(api_settings)

    def session_override() -> Iterator[Session]:
        with session_factory() as s:
            yield s

    application.dependency_overrides[get_session] = session_override
    application.dependency_overrides[get_index] = lambda: match_service
    return application


@pytest.fixture
def worker(api_settings: Settings, session_factory: sessionmaker, match_service: MatchService) -> Iterator[None]:
    """One embedded job worker on the test's SQLite queue, as the web process runs."""
    from kejie import job_worker, jobs

    jobs.bind(session_factory, match_service)
    consumer = job_worker.start_embedded_worker(api_settings)
    yield
    consumer.stop(graceful=True)


@pytest.fixture
def client(app: FastAPI, world: World) -> TestClient:
    return TestClient(app)


@pytest.fixture
def login(client: TestClient) -> Callable[[str, str], dict[str, str]]:
    def _login(username: str, password: str) -> dict[str, str]:
        r = client.post("/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return _login


@pytest.fixture
def staff(login: Callable[[str, str], dict[str, str]]) -> dict[str, str]:
    return login("staff", "staff123")


@pytest.fixture
def admin(login: Callable[[str, str], dict[str, str]]) -> dict[str, str]:
    return login("admin", "admin123")


@pytest.fixture
def expert(login: Callable[[str, str], dict[str, str]]) -> dict[str, str]:
    return login("expert", "expert123")

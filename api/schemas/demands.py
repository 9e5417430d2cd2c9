"""Technical demands (技术需求) and the enterprises behind them.

Contact data (联系人、手机、电话、传真、邮箱) only appear in the ``*Staff`` schemas;
the ``*Public`` ones cannot carry them, so a wrong choice of schema cannot leak.
Records become these schemas in ``api.presenters`` only (which also redacts free
text for non-staff viewers).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import (
    ORMModel,
    clean_city,
    clean_email,
    clean_mobile,
    clean_phone,
    clean_terms,
)
from api.schemas.inputs import InputModel, id_field
from ingest.fields import DESCRIPTION_MAX, TITLE_MAX
from models import DemandStatus


class EnterprisePublic(ORMModel):
    """An enterprise without its contact details. 企业（不含联系方式）。"""

    id: int
    name: str = Field(description="单位名称 / enterprise name")
    main_business: str = Field(description="主营业务 / main business")
    profile: str = Field(description="企业概况 / profile")
    website: str = Field(description="网址 / website")
    city: str = Field(description="设区市 / city")
    county: str = Field(description="区县 / county")
    industry: str = Field(description="所属行业 / industry")


class EnterpriseStaff(EnterprisePublic):
    """An enterprise with its address, for staff. 企业（含地址，仅工作人员可见）。"""

    address: str = Field(description="联系地址 / postal address")
    postcode: str = Field(description="邮编 / postcode")
    demand_count: int = Field(0, description="技术需求数 / number of demands")


class DemandPublic(BaseModel):
    """A demand as anyone logged in may see it: no contact data. 技术需求（不含联系方式）。"""

    id: int
    enterprise_id: int = Field(description="企业编号 / enterprise id")
    enterprise_name: str = Field(description="单位名称 / enterprise name")
    city: str = Field(description="设区市 / city of the enterprise")
    title: str = Field(description="技术需求名称 / demand title")
    description: str = Field(description="具体的技术需求说明 / what is needed")
    industry: str = Field(description="所属行业 / industry")
    keywords: list[str] = Field(description="关键词 / keywords")
    status: DemandStatus = Field(description="状态 / status")
    submitted_by: str = Field(description="填报单位 / submitting association")
    submitted_on: date | None = Field(description="填报时间 / date submitted")
    created_at: datetime | None = Field(description="录入时间 / created at")


class DemandStaff(DemandPublic):
    """A demand with its contact person, for staff only. 技术需求（含联系人，仅工作人员可见）。"""

    contact_name: str = Field(description="联系人 / contact person")
    mobile: str = Field(description="手机 / mobile")
    office_phone: str = Field(description="办公电话 / office phone")
    fax: str = Field(description="传真 / fax")
    email: str = Field(description="电子邮箱 / e-mail")
    source_file: str = Field(description="来源文件 / imported from file")
    source_row: int | None = Field(description="来源行号 / row in that file")


class _DemandFields(InputModel):
    @field_validator("mobile", check_fields=False)
    @classmethod
    def _mobile(cls, v: str | None) -> str | None:
        return None if v is None else clean_mobile(v)

    @field_validator("office_phone", check_fields=False)
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return None if v is None else clean_phone(v, "办公电话")

    @field_validator("fax", check_fields=False)
    @classmethod
    def _fax(cls, v: str | None) -> str | None:
        return None if v is None else clean_phone(v, "传真")

    @field_validator("city", check_fields=False)
    @classmethod
    def _city(cls, v: str | None) -> str | None:
        return None if v is None else clean_city(v)

    @field_validator("email", check_fields=False)
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return None if v is None else clean_email(v)

    @field_validator("keywords", check_fields=False)
    @classmethod
    def _keywords(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else clean_terms(v)

    @field_validator("title", "description", check_fields=False)
    @classmethod
    def _not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("不能为空")
        return None if v is None else v.strip()


class DemandCreate(_DemandFields):
    """A new demand. Give ``enterprise_id`` of a known enterprise, or ``enterprise_name``
    (found by name or created). 新增技术需求：填写已有企业编号，或填写单位名称。"""

    enterprise_id: int | None = id_field("已有企业编号 / id of a known enterprise", None)
    enterprise_name: str | None = Field(
        None, max_length=200, description="单位名称（新企业）/ enterprise name if new"
    )
    city: str = Field("", max_length=40, description="设区市 / city")
    county: str = Field("", max_length=40, description="区县 / county")
    title: str = Field(min_length=1, max_length=TITLE_MAX, description="技术需求名称 / demand title")
    description: str = Field(min_length=1, max_length=DESCRIPTION_MAX, description="具体的技术需求说明 / details")
    industry: str = Field("", max_length=60, description="所属行业 / industry")
    keywords: list[str] = Field(default_factory=list, max_length=50, description="关键词 / keywords")
    contact_name: str = Field("", max_length=60, description="联系人 / contact person")
    mobile: str = Field("", max_length=20, description="手机（11位）/ mobile, 11 digits")
    office_phone: str = Field("", max_length=40, description="办公电话 / office phone")
    fax: str = Field("", max_length=40, description="传真 / fax")
    email: str = Field("", max_length=120, description="电子邮箱 / e-mail")
    submitted_by: str = Field("", max_length=120, description="填报单位 / submitting association")
    submitted_on: date | None = Field(None, description="填报时间 / date submitted")
    status: DemandStatus = Field(DemandStatus.open, description="状态 / status")


class DemandUpdate(_DemandFields):
    """Change some fields of a demand; omitted fields stay. 修改技术需求（未提供的字段不变）。"""

    title: str | None = Field(None, min_length=1, max_length=TITLE_MAX, description="技术需求名称 / title")
    description: str | None = Field(None, min_length=1, max_length=DESCRIPTION_MAX,
                                    description="需求说明 / details")
    industry: str | None = Field(None, max_length=60, description="所属行业 / industry")
    keywords: list[str] | None = Field(None, max_length=50, description="关键词 / keywords")
    contact_name: str | None = Field(None, max_length=60, description="联系人 / contact person")
    mobile: str | None = Field(None, max_length=20, description="手机（11位）/ mobile")
    office_phone: str | None = Field(None, max_length=40, description="办公电话 / office phone")
    fax: str | None = Field(None, max_length=40, description="传真 / fax")
    email: str | None = Field(None, max_length=120, description="电子邮箱 / e-mail")
    submitted_by: str | None = Field(None, max_length=120, description="填报单位 / submitting association")
    submitted_on: date | None = Field(None, description="填报时间 / date submitted")
    status: DemandStatus | None = Field(None, description="状态 / status")
    city: str | None = Field(None, max_length=40, description="企业所在设区市 / the enterprise's city")
    county: str | None = Field(None, max_length=40, description="企业所在区县 / the enterprise's county")
    address: str | None = Field(None, max_length=300, description="企业联系地址 / the enterprise's address")

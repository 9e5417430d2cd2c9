"""What each kind of import looks like: canonical fields, their Chinese labels and
the header spellings (Chinese and English) that map onto them."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.normalize import header_key

IGNORED = "_ignored"  # a known column (序号 ...) that carries nothing to store

# Longest free text a demand field may hold, the same in the importer and the API
# (a longer description is refused with the limit named, never cut silently).
# What the matcher encodes of a field is capped further (matcher/demand_text.py).
TITLE_MAX = 300
DESCRIPTION_MAX = 20_000


@dataclass(frozen=True)
class KindSpec:
    kind: str
    labels: dict[str, str]  # canonical field -> Chinese label used in messages
    aliases: dict[str, tuple[str, ...]]  # canonical field -> header spellings
    required_columns: tuple[tuple[str, ...], ...]  # each tuple: at least one of these must be a column
    main_columns: tuple[str, ...] = ()  # named in "header not found" messages
    lookup: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        table: dict[str, str] = {}
        for canonical, spellings in self.aliases.items():
            for spelling in (canonical, *spellings):
                table.setdefault(header_key(spelling), canonical)
        object.__setattr__(self, "lookup", table)

    def field_for(self, header: object) -> str | None:
        key = header_key(header)
        if not key:
            return None
        return self.lookup.get(key)

    def label(self, canonical: str) -> str:
        return self.labels.get(canonical, canonical)

    def expected_headers(self) -> list[str]:
        names = self.main_columns or tuple(self.labels)
        return [self.label(name) for name in names if name != IGNORED]


_COMMON_IGNORED = ("序号", "seq", "no", "编号序号", "备注", "remark", "remarks", "note", "notes")

DEMANDS = KindSpec(
    kind="demands",
    labels={
        "enterprise_name": "单位名称",
        "main_business": "主营业务",
        "contact_name": "联系人",
        "mobile": "手机",
        "office_phone": "办公电话",
        "fax": "传真",
        "email": "E-mail",
        "website": "网址",
        "address": "联系地址",
        "postcode": "邮编",
        "address_postcode": "联系地址/邮编",
        "title": "技术需求名称",
        "description": "具体的技术需求说明",
        "profile": "企业概况",
        "region": "所在地区",
        "county": "区县",
        "industry": "所属行业",
        "submitted_by": "填报单位",
        "submitted_on": "填报时间",
        "keywords": "关键词",
    },
    aliases={
        "enterprise_name": ("单位名称", "企业名称", "单位", "企业", "公司名称", "需求单位", "需求企业",
                            "企业单位名称", "enterprise", "company", "companyname", "organization", "unitname"),
        "main_business": ("主营业务", "主营产品", "主要产品", "主营业务及产品", "经营范围", "mainbusiness", "business"),
        "contact_name": ("联系人", "联系人姓名", "姓名", "contact", "contactname", "contactperson"),
        "mobile": ("手机", "手机号", "手机号码", "移动电话", "联系人手机", "mobile", "mobilephone", "cellphone", "cell"),
        "office_phone": ("办公电话", "电话", "固定电话", "联系电话", "座机", "办公室电话", "officephone", "phone", "tel", "telephone"),
        "fax": ("传真", "传真号码", "fax"),
        "email": ("E-mail", "email", "邮箱", "电子邮箱", "电子邮件", "邮件", "mail"),
        "website": ("网址", "网站", "公司网址", "单位网址", "网页", "主页", "website", "url", "homepage", "web"),
        "address": ("联系地址", "地址", "通讯地址", "单位地址", "详细地址", "address"),
        "postcode": ("邮编", "邮政编码", "postcode", "zip", "zipcode", "postalcode"),
        "address_postcode": ("联系地址/邮编", "地址/邮编", "通讯地址/邮编", "联系地址及邮编", "地址及邮编",
                             "联系地址邮编", "地址邮编", "address/postcode"),
        "title": ("技术需求名称", "需求名称", "技术需求项目名称", "项目名称", "技术难题名称", "需求标题",
                  "技术需求标题", "demandtitle", "title"),
        "description": ("具体的技术需求说明", "具体技术需求说明", "技术需求说明", "需求说明", "需求描述",
                        "技术需求描述", "技术需求内容", "具体技术需求", "技术需求", "技术难题描述",
                        "主要技术难题", "需求内容", "description", "demanddescription", "details", "demand"),
        "profile": ("企业概况", "企业简介", "单位简介", "单位概况", "公司简介", "公司概况", "企业基本情况",
                    "profile", "companyprofile", "enterpriseprofile"),
        "region": ("所在地区", "设区市", "所在设区市", "地区", "所在地", "所在城市", "城市", "地市", "所属地区",
                   "所属设区市", "region", "city"),
        "county": ("区县", "县区", "所在区县", "县", "区", "county", "district"),
        "industry": ("所属行业", "行业", "行业领域", "所属领域", "产业领域", "所属产业", "产业", "技术领域",
                     "industry", "sector"),
        "submitted_by": ("填报单位", "推荐单位", "报送单位", "submittedby"),
        "submitted_on": ("填报时间", "填报日期", "报送时间", "submittedon", "date"),
        "keywords": ("关键词", "关键字", "keywords", "tags"),
        IGNORED: _COMMON_IGNORED,
    },
    required_columns=(("enterprise_name",), ("title", "description")),
    main_columns=("enterprise_name", "title", "description", "contact_name", "mobile", "email", "region"),
)

EXPERTS = KindSpec(
    kind="experts",
    labels={
        "external_id": "专家编号",
        "name": "姓名",
        "title": "职称",
        "is_academician": "是否院士",
        "affiliation": "工作单位",
        "disciplines": "学科",
        "research_areas": "研究方向",
        "achievements": "主要成果",
        "keywords": "关键词",
        "societies": "所属学会",
        "region": "所在地区",
        "mobile": "手机",
        "email": "E-mail",
        "capacity": "可接待次数",
        "available": "是否可用",
    },
    aliases={
        "external_id": ("expert_id", "专家编号", "专家id", "编号", "id", "externalid", "expertid"),
        "name": ("姓名", "专家姓名", "名字", "name", "expertname"),
        "title": ("职称", "职务/职称", "职称/职务", "职称职务", "技术职称", "title", "professionaltitle", "rank"),
        "is_academician": ("是否院士", "院士", "是否为院士", "isacademician", "academician"),
        "affiliation": ("工作单位", "单位", "所在单位", "单位名称", "任职单位", "affiliation", "organization",
                        "institution", "employer", "workunit"),
        "disciplines": ("学科", "学科领域", "所属学科", "一级学科", "学科专业", "专业", "disciplines", "discipline"),
        "research_areas": ("研究方向", "研究领域", "专业方向", "专长", "技术专长", "专业特长", "researchareas",
                           "research", "researcharea", "expertise"),
        "achievements": ("主要成果", "代表性成果", "科研成果", "主要业绩", "成果", "主要贡献", "achievements",
                         "achievement"),
        "keywords": ("关键词", "关键字", "keywords", "tags"),
        "societies": ("所属学会", "学会", "任职学会", "学会任职", "所在学会", "societies", "society"),
        "region": ("所在地区", "设区市", "所在设区市", "地区", "所在地", "所在城市", "城市", "region", "city"),
        "mobile": ("手机", "手机号", "手机号码", "移动电话", "mobile", "mobilephone", "cellphone", "phone"),
        "email": ("E-mail", "email", "邮箱", "电子邮箱", "电子邮件", "mail"),
        "capacity": ("容量", "可接待次数", "接待容量", "可对接次数", "对接容量", "可对接企业数", "capacity"),
        "available": ("是否可用", "可用", "是否可参加", "是否可参与", "是否可对接", "available", "active"),
        IGNORED: _COMMON_IGNORED,
    },
    required_columns=(("name",),),
    main_columns=("external_id", "name", "title", "affiliation", "disciplines", "research_areas", "region"),
)

SOCIETIES = KindSpec(
    kind="societies",
    labels={
        "external_id": "学会编号",
        "name": "学会名称",
        "category": "类别",
        "disciplines": "学科",
        "keywords": "关键词",
        "representative_works": "代表性成果",
        "description": "能力描述",
        "region": "所在地区",
        "capacity": "可接待次数",
    },
    aliases={
        "external_id": ("society_id", "学会编号", "编号", "id", "externalid", "societyid"),
        "name": ("name", "学会名称", "名称", "学会", "专家组名称", "学会（专家组）名称", "societyname"),
        "category": ("category", "类别", "学科门类", "门类", "分类"),
        "disciplines": ("disciplines", "discipline", "学科", "学科领域", "所属学科", "涉及学科"),
        "keywords": ("keywords", "关键词", "关键字", "tags"),
        "representative_works": ("representative_work", "representative_works", "代表性成果", "代表作",
                                 "代表性工作", "主要成果", "works"),
        "description": ("description", "能力描述", "服务能力", "学会简介", "简介", "服务领域", "能力简介",
                        "capability", "capabilities"),
        "region": ("所在地区", "设区市", "地区", "所在城市", "region", "city"),
        "capacity": ("capacity", "容量", "可接待次数", "接待容量"),
        IGNORED: _COMMON_IGNORED,
    },
    required_columns=(("name",),),
    main_columns=("external_id", "name", "category", "disciplines", "keywords", "representative_works"),
)

KINDS: dict[str, KindSpec] = {spec.kind: spec for spec in (DEMANDS, EXPERTS, SOCIETIES)}

"""Fixtures for the ingest tests: a deliberately messy 技术需求征集表 written as
XLSX and as a GBK CSV, with the rows and expectations spelled out once."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

MESSY_HEADER = [
    "序号", "单位名称*", "所在地区（设区市）", "所属行业", "主营业务", "联系人", "手机", "办公电话", "传真",
    "E-mail", "联系地址/邮编", "技术需求名称 *", "具体的技术需求说明（包括技术难点、预期目标等）",
    "企业概况", "填报时间", "备用列",
]

ENT_A = "泉州示例鞋服科技有限公司"
ENT_C = "莆田示例海洋装备有限公司"
ENT_D = "厦门示例软件有限公司"

GOOD_A1 = [
    "1", ENT_A, "泉州市", "纺织鞋服", "运动鞋研发生产", "王工", "１３８０００００５０１", "0595-22880011", "",
    "ＷＡＮＧ@Example.COM", "泉州市晋江市示例路1号/362200", "运动鞋中底回弹提升",
    "公司中底材料回弹率偏低，需要新的发泡配方。", "公司成立于2008年，是国家高新技术企业。", "", "",
]
GOOD_A2 = [
    "2", ENT_A, "泉州", "新材料", "", "王工", "13800000501", "", "",
    "wang@example.com", "", "鞋面再生纤维应用",
    "希望用再生涤纶替代原生纤维，保持耐磨性能。", "", "2026-03-20", "",
]
MESSY_ROWS: list[list[Any]] = [
    ["福建省企事业单位技术需求征集表"],
    ["填报单位：泉州市科协", None, None, None, "填报时间：2026年3月15日"],
    [],
    MESSY_HEADER,
    GOOD_A1,  # row 5
    GOOD_A2,  # row 6
    ["3", "泉州示例食品有限公司", "泉州市", "食品加工", "", "李工", "13800000502", "", "",  # row 7: no demand text
     "li@example.com", "", "", "", "", "", ""],
    ["4", "泉州示例机械有限公司", "泉州市", "装备制造", "", "张工", "1380000", "", "",  # row 8: short mobile
     "zhang@example.com", "", "焊接变形控制", "薄板焊接变形大。", "", "", ""],
    ["5", "泉州示例化工有限公司", "泉州市", "石化", "", "赵工", "13800000504", "", "",  # row 9: bad e-mail
     "zhao#example.com", "", "催化剂寿命", "催化剂失活快。", "", "", ""],
    ["6", "杭州示例电子有限公司", "杭州市", "电子信息", "", "钱工", "13800000505", "", "",  # row 10: region
     "qian@example.com", "", "芯片散热", "功率芯片散热不足。", "", "", ""],
    GOOD_A1,  # row 11: exact duplicate of row 5
    [],  # row 12: blank
    ["7", "泉州示例茶业有限公司", "泉州市", "茶产业", "", "孙工", "13800000507", "", "",  # row 13: bad date
     "sun@example.com", "", "做青控制", "做青全凭经验。", "", "三月中旬", ""],
    ["8", "", "泉州市", "建材", "", "周工", "13800000508", "", "",  # row 14: no 单位名称
     "zhou@example.com", "", "釉料配方", "釉面针孔多。", "", "", ""],
    ["9", ENT_C, "莆田市", "海洋经济", "养殖装备", "吴工", "138 0000 0509", "0594-2233445-806", "(0594)22334456",
     "wu@example.cn", "莆田市秀屿区示例路9号（351100）", "网衣防附着", "网衣附着严重，需要环保涂层。",
     "", "", "多余内容"],  # row 15: good, phone with spaces, extension, fax in parentheses
    ["10", "莆田示例家具有限公司", "莆田市", "文旅经济", "", "郑工", "13800000510", "22334455", "",  # row 16: no area code
     "zheng@example.com", "", "红木干燥", "红木开裂。", "", "", ""],
    ["11", ENT_D, "", "数字经济", "", "冯工", "19900000511", "", "",  # row 17: good, city from address
     "feng@example.cn", "厦门市思明区示例路11号/361000", "", "客流数据需要预测模型。", "", "", ""],
    ["注：带*的为必填项。"],
]

#: every bad row: (row, header as written, reason fragment)
MESSY_REJECTS = [
    (7, "具体的技术需求说明（包括技术难点、预期目标等）", "至少要填写一项"),
    (8, "手机", "手机号码应为11位数字"),
    (9, "E-mail", "E-mail格式不正确"),
    (10, "所在地区（设区市）", "所在地区应为福建省设区市"),
    (13, "填报时间", "不是有效日期"),
    (14, "单位名称*", "单位名称不能为空"),
    (16, "办公电话", "区号"),
]
MESSY_GOOD_ROWS = [5, 6, 15, 17]
MESSY_DUPLICATES = [(11, 5)]

# the smallest demands table: a header and one row
SIMPLE = [
    ["单位名称", "技术需求名称", "具体的技术需求说明", "手机"],
    ["福州示例科技有限公司", "正极包覆", "高镍正极循环衰减快，需要包覆改性。", "13800000601"],
]


def write_xlsx(path: Path, rows: list[list[Any]], merges: Sequence[str] = ()) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "泉州市"
    for row in rows:
        ws.append(row)
    for ref in merges:
        ws.merge_cells(ref)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


@pytest.fixture
def messy_xlsx(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "泉州市技术需求.xlsx", MESSY_ROWS, merges=["A1:P1"])


@pytest.fixture
def messy_csv_gbk(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "泉州市技术需求.csv", MESSY_ROWS, encoding="gbk")


@pytest.fixture
def make_csv(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str, rows: list[list[Any]], **kw: Any) -> Path:
        return write_csv(tmp_path / name, rows, **kw)

    return make

"""Demand understanding: the technical problem apart from company boilerplate,
split into its sub-problems.

An enterprise demand mixes the problem (需求内容, 技术难题, 研究内容, the
numbered list of what is needed) with text that describes the company (企业概况,
现有工作基础, 公司成立于…, awards, turnover) and the expected profit
(产业化后年利税…). The boilerplate shares words with every profile and none
with the problem, so it is dropped before scoring. A multi-part demand
(1）… 2）… ③…) is also split so that an expert who squarely covers one part can
rank well even when the others are someone else's field.

Pure functions over strings; no jieba, no model.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Section headings whose section is about the company, not the problem. The
# section runs until the next heading of any kind.
_BOILER_HEADINGS = (
    "企业概况", "企业简介", "公司简介", "公司概况", "单位简介", "单位概况", "现有工作基础", "现有基础",
    "工作基础", "前期基础", "已有基础", "合作方式", "经济效益", "社会效益", "预期效益", "投资情况",
    "联系方式", "联系人",
)
_PROBLEM_HEADINGS = (
    "需求内容", "技术需求", "技术难题", "需要解决", "拟解决", "研究内容", "主要内容", "需求说明",
    "具体需求", "预期目标", "达到目的", "技术指标", "研究目标", "目标", "需求", "背景", "内容",
)
_HEADING = re.compile(
    r"(?:^|(?<=[\s。；;，,]))(?:[一二三四五六七八九十]+[、.]\s*)?"
    r"(" + "|".join(sorted(_BOILER_HEADINGS + _PROBLEM_HEADINGS, key=len, reverse=True)) + r")"
    r"[^：:\n。]{0,12}[：:]"
)
# Sentences that describe the company or its profits wherever they stand.
_BOILER_SENTENCE = re.compile(
    r"成立于|注册资本|注册资金|占地面积|建筑面积|员工\d|职工\d|在职员工|高新技术企业|"
    r"专精特新|荣获|获评|被评为|评为|年产值|年销售|销售收入|营业收入|年利税|利税|"
    r"上市公司|省级|市级|国家级|工程技术(?:研究)?中心|企业技术中心|重点实验室|院士工作站|博士后"
)
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|\n+")
# Enumeration markers that start a sub-problem.
_ENUM = re.compile(
    r"(?:^|(?<=[\s。；;：:，,]))"
    r"(?:\(?\d{1,2}\s*[)）]|（\d{1,2}）|\d{1,2}\s*[、．]|\d{1,2}\.(?!\d)|[一二三四五六七八九十]{1,2}、|[?？•·●▪]\s*)"
)

MIN_PART = 6  # characters; shorter pieces are headings or fragments
MAX_PARTS = 8
# Bounded work per query: the encoder reads ~512 tokens anyway, and segmenting or
# n-gramming a 100,000-character description would hold a query up for seconds.
FOCUS_MAX_CHARS = 3000
PART_MAX_CHARS = 500


@dataclass
class DemandText:
    title: str
    focus: str  # title + the problem text, boilerplate removed
    parts: list[str] = field(default_factory=list)  # sub-problems (may be empty)
    dropped: list[str] = field(default_factory=list)  # what was taken out, for display


_CIRCLED = {chr(0x2460 + i): f"({i + 1})" for i in range(20)}  # ① .. ⑳; NFKC would make them bare digits


def _norm(text: str) -> str:
    text = "".join(_CIRCLED.get(ch, ch) for ch in text or "")
    return unicodedata.normalize("NFKC", text).replace("\r", "\n")


def _drop_sections(text: str) -> tuple[str, list[str]]:
    """Remove boilerplate sections (from their heading to the next heading)."""
    marks = list(_HEADING.finditer(text))
    if not marks:
        return text, []
    kept = [text[: marks[0].start()]]
    dropped: list[str] = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[m.end(): end]
        if m.group(1) in _BOILER_HEADINGS:
            dropped.append(m.group(0) + body)
        else:
            kept.append(body)
    return "\n".join(kept), dropped


def _drop_sentences(text: str) -> tuple[str, list[str]]:
    kept: list[str] = []
    dropped: list[str] = []
    for sent in _SENTENCE_END.split(text):
        s = sent.strip()
        if not s:
            continue
        (dropped if _BOILER_SENTENCE.search(s) and len(s) < 160 else kept).append(s)
    return "\n".join(kept), dropped


def split_parts(text: str) -> list[str]:
    """Sub-problems of a numbered or itemised demand ([] when it is one piece)."""
    starts = [m.start() for m in _ENUM.finditer(text)]
    if len(starts) < 2:
        return []
    pieces = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
    out: list[str] = []
    for p in pieces:
        p = _ENUM.sub("", p, count=1).strip(" \n\t。；;，,")
        if len(p) >= MIN_PART and p not in out:
            out.append(p)
    return out[:MAX_PARTS] if len(out) >= 2 else []


def understand(title: str, body: str) -> DemandText:
    """Split a demand into its title, focus text and sub-problems."""
    title = " ".join(_norm(title[:PART_MAX_CHARS * 2]).split())
    body = body[: FOCUS_MAX_CHARS * 10]  # the rest could never reach the focus text
    text = _norm(body)
    text, dropped = _drop_sections(text)
    text, dropped_s = _drop_sentences(text)
    dropped += dropped_s
    text = text.strip()
    if len(text) < MIN_PART:  # nothing technical left: fall back to what we were given
        text = " ".join(_norm(body).split())
        dropped = []
    focus = "。".join(p for p in (title, " ".join(text.split())) if p)[:FOCUS_MAX_CHARS]
    parts = [p[:PART_MAX_CHARS] for p in split_parts(text[: FOCUS_MAX_CHARS * 4])]
    return DemandText(title=title[:PART_MAX_CHARS], focus=focus, parts=parts, dropped=dropped)

"""Cleaning and checking of single cell values.

Each ``parse_*`` function takes a raw cell (str, number, date, list or None) and
returns the cleaned value, or raises :class:`ValueError` whose message is the
plain-Chinese reason shown to the user.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from matcher import rules

# Full-width ASCII (！..～) and the ideographic space; Chinese punctuation such as
# ，。、；： is left alone in free text so descriptions keep their house style.
_FULLWIDTH_ALNUM = {cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)}
_FULLWIDTH_ALNUM.update({cp: cp - 0xFEE0 for cp in range(0xFF21, 0xFF3B)})
_FULLWIDTH_ALNUM.update({cp: cp - 0xFEE0 for cp in range(0xFF41, 0xFF5B)})
_FULLWIDTH_ALNUM[0x3000] = 0x20
_FULLWIDTH_ALNUM[0x00A0] = 0x20
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_TEXT_TABLE = {**_FULLWIDTH_ALNUM, **_ZERO_WIDTH}
_NEEDS_FOLD = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000\u00a0\u200b-\u200d\u2060\ufeff]")


def _nfkc(text: str) -> str:
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)

_SPACES = re.compile(r"[ \t\f\v]+")
_WHITESPACE = re.compile(r"\s+")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def cell_text(value: Any) -> str:
    """Render any cell as text: numbers without a spurious ``.0``, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "；".join(cell_text(v) for v in value)
    return str(value)


def clean_text(value: Any) -> str:
    """Free text: full-width letters/digits to ASCII, tidy whitespace, keep line breaks."""
    text = cell_text(value)
    if not text:
        return ""
    if _NEEDS_FOLD.search(text):
        text = text.translate(_TEXT_TABLE)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in text:
        return _SPACES.sub(" ", text).strip()
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def clean_line(value: Any) -> str:
    """A one-line value (names, titles): like :func:`clean_text` but newlines become spaces."""
    text = clean_text(value)
    return _SPACES.sub(" ", text.replace("\n", " ")) if "\n" in text else text


def clean_code(value: Any) -> str:
    """Structured values (phones, e-mails, ids): NFKC and no whitespace at all."""
    text = cell_text(value)
    if not text:
        return ""
    text = _nfkc(text.translate(_ZERO_WIDTH) if _NEEDS_FOLD.search(text) else text)
    return _WHITESPACE.sub("", text)


def header_key(value: Any) -> str:
    """Normalise a header cell for lookup: NFKC, no spaces, no ``*`` markers or notes."""
    text = unicodedata.normalize("NFKC", cell_text(value).translate(_ZERO_WIDTH))
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】|<[^>]*>", "", text)
    text = re.sub(r"[\s*※★:_\-]+", "", text)
    return text.casefold()


def key_text(value: Any) -> str:
    """Text as it enters a dedup key: NFKC, no whitespace, case-folded."""
    return _WHITESPACE.sub("", _nfkc(cell_text(value))).casefold()


def dedup_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- lists

STRONG_SEPARATORS = "；;\n|｜"
WEAK_SEPARATORS = "、，,"


def parse_list(value: Any, *, weak: str = WEAK_SEPARATORS) -> list[str]:
    """Split a list cell. ``；``/``;``/newlines always separate; the ``weak``
    characters only when the cell has no strong separator (so a research area
    like 合成、改性与加工 survives inside a ``；``-separated list)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = [clean_line(v) for v in value]
    else:
        text = clean_text(value)
        if not text:
            return []
        seps = STRONG_SEPARATORS if any(c in text for c in STRONG_SEPARATORS) or not weak else weak
        items = [clean_line(p) for p in re.split("[" + re.escape(seps) + "]", text)]
    out: list[str] = []
    seen: set[str] = set()
    for item in items:
        item = item.strip(" .。·•-–—")
        item = re.sub(r"^(?:\d{1,2}[、)）]|\d{1,2}\.(?!\d)|[(（]\d{1,2}[)）]|[①-⑳])\s*", "", item)
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out


# ---------------------------------------------------------------- contacts

_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(
    r"(?:\+?86-?)?\(?(0\d{2,3})\)?-?(\d{7,8})(?:(?:-|转|ext\.?|x|#)(\d{1,6}))?", re.IGNORECASE
)
_SERVICE = re.compile(r"([48]00)-?(\d{3})-?(\d{4})")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}")


def parse_mobile(value: Any) -> str:
    text = clean_code(value).replace("-", "")
    if not text:
        return ""
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not _MOBILE.fullmatch(text):
        raise ValueError("手机号码应为11位数字，以13-19开头")
    return text


def parse_landline(value: Any, *, label: str = "办公电话") -> str:
    """Office phone or fax with area code (0591-87654321, extensions allowed).
    A mobile number is accepted as-is; 400/800 service numbers too."""
    text = clean_code(value)
    if not text:
        return ""
    m = _LANDLINE.fullmatch(text)
    if m:
        area, number, ext = m.groups()
        return f"{area}-{number}" + (f"-{ext}" if ext else "")
    m = _SERVICE.fullmatch(text)
    if m:
        return "-".join(m.groups())
    digits = text.replace("-", "").removeprefix("+86")
    if _MOBILE.fullmatch(digits):
        return digits
    raise ValueError(f"{label}格式应为“区号-号码”，如0591-87654321（分机可写作-801）")


def parse_email(value: Any) -> str:
    text = unicodedata.normalize("NFKC", cell_text(value).translate(_ZERO_WIDTH)).strip().removeprefix("mailto:")
    if not text:
        return ""
    if not _EMAIL.fullmatch(text):
        raise ValueError("E-mail格式不正确，应如name@example.com")
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def parse_postcode(value: Any) -> str:
    text = clean_code(value)
    if not text:
        return ""
    if not re.fullmatch(r"\d{6}", text):
        raise ValueError("邮编应为6位数字")
    return text


_ADDRESS_POSTCODE = re.compile(r"^(.*?)[\s/／,，;；、:：]*(?:邮编[:：]?)?[(（]?(\d{6})[)）]?$")


def split_address_postcode(value: Any) -> tuple[str, str]:
    """``福州市鼓楼区工业路523号/350002`` -> (address, postcode); no postcode -> (text, "")."""
    text = clean_line(value)
    digits = text.translate(_FULLWIDTH_ALNUM)
    m = _ADDRESS_POSTCODE.match(digits)
    if m and not re.search(r"\d$", m.group(1)):
        return m.group(1).strip(), m.group(2)
    return text, ""


def parse_website(value: Any) -> str:
    text = clean_code(value)
    if text and not re.fullmatch(r"(?:https?://)?[\w\-]+(?:\.[\w\-]+)+(?:[/?#]\S*)?", text, re.IGNORECASE):
        raise ValueError("网址格式不正确，应如www.example.com")
    return text


# ---------------------------------------------------------------- regions

FUJIAN_CITIES = (
    "福州市",
    "厦门市",
    "莆田市",
    "三明市",
    "泉州市",
    "漳州市",
    "南平市",
    "龙岩市",
    "宁德市",
    "平潭综合实验区",
)
_CITY_PREFIXES = [(c.removesuffix("市"), c) for c in FUJIAN_CITIES[:-1]]
_CITY_PREFIXES += [("平潭综合实验区", "平潭综合实验区"), ("平潭", "平潭综合实验区")]
REGION_REASON = "所在地区应为福建省设区市：福州、厦门、莆田、三明、泉州、漳州、南平、龙岩、宁德或平潭综合实验区"


def parse_region(value: Any) -> tuple[str, str]:
    """``福州`` / ``福建省福州市鼓楼区`` -> (``福州市``, ``鼓楼区``); unknown -> ValueError."""
    text = clean_code(value)
    if not text:
        return "", ""
    text = text.removeprefix("中国").removeprefix("福建省").removeprefix("福建")
    for prefix, city in _CITY_PREFIXES:
        if text.startswith(prefix):
            rest = text[len(prefix) :]
            if city != "平潭综合实验区":
                rest = rest.removeprefix("市")
            else:
                rest = rest.removeprefix("综合实验区").removeprefix("县")
            return city, rest.strip("/-、")
    raise ValueError(REGION_REASON)


def guess_city(*texts: str) -> str:
    """First Fujian city named in any of the texts (an address, 福州市科协 ...)."""
    for text in texts:
        if not text:
            continue
        for prefix, city in _CITY_PREFIXES:
            if prefix in text:
                return city
    return ""


# ---------------------------------------------------------------- scalars

def parse_bool(value: Any, *, label: str) -> bool | None:
    """是/否-like cells; blank -> None (= not given). The rule itself is :func:`matcher.rules.parse_bool`."""
    return rules.parse_bool(value, None, label=label)


def parse_int(value: Any, *, label: str, minimum: int = 0, maximum: int = 1000) -> int | None:
    if isinstance(value, bool):
        raise ValueError(f"{label}应为整数")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{label}应为整数")
        number = int(value)
    else:
        text = clean_code(value).removesuffix("次").removesuffix("人").removesuffix("场")
        if not text:
            return None
        if not re.fullmatch(r"[+-]?\d+(?:\.0+)?", text):
            raise ValueError(f"{label}应为整数")
        number = int(float(text))
    if number < minimum or number > maximum:
        raise ValueError(f"{label}应在{minimum}到{maximum}之间")
    return number


_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(value: Any, *, label: str) -> date | None:
    """2026-03-15, 2026/3/15, 2026.3.15, 2026年3月15日, 2026年3月 (-> the 1st), Excel dates."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 20000 <= value <= 80000:  # an Excel serial day number that lost its format
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raise ValueError(f"{label}不是有效日期，应如2026-03-15或2026年3月")
    text = clean_code(value)
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?|月?)", text)
    if m is None:
        m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if m is None:
        raise ValueError(f"{label}不是有效日期，应如2026-03-15或2026年3月")
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{label}不是有效日期，应如2026-03-15或2026年3月") from None

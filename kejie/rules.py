"""Domain rules of the application, one definition each.

* yes/no parsing, city keys and conflicts of interest live in the pure
  :mod:`matcher.rules` (the engine and the importer use them too, and neither
  may import ``kejie``); they are re-exported here so the application has one
  place to look;
* contact redaction for every non-staff view: :func:`redact_contacts` folds
  full-width forms (NFKC) and then masks mobile phones, landlines and fax
  numbers, e-mail addresses and QQ/WeChat ids written into free text;
* :data:`MAX_TOP_K`, the largest ranking any endpoint returns.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

from matcher.rules import (
    FALSE_WORDS,
    MIN_ORG_CHARS,
    TRUE_WORDS,
    affiliation_conflict,
    affiliation_parts,
    bool_word,
    city_key,
    contains_either,
    normalise_org,
    parse_bool,
)

__all__ = [
    "FALSE_WORDS",
    "MASK",
    "MAX_TOP_K",
    "MIN_ORG_CHARS",
    "TRUE_WORDS",
    "affiliation_conflict",
    "affiliation_parts",
    "bool_word",
    "city_key",
    "contains_either",
    "fold",
    "has_contact",
    "normalise_org",
    "parse_bool",
    "redact_contacts",
    "redact_deep",
]

#: the most results one ranking request may ask for (``top_k``); more is a 422
MAX_TOP_K = 50

MASK = "［联系方式已隐藏］"

# ---------------------------------------------------------------- contact patterns
# Matched on the NFKC-folded text, so １３９…, ＠, （０５９１） and － are caught too.

# one optional separator between digit groups: 139-1111-2222, 139.1111.2222, 139 1111 2222
_SEP = r"(?:[ \t]*[-.\u2010-\u2015\u00b7/][ \t]*|[ \t]+)?"
_D = rf"{_SEP}\d"
_COUNTRY = rf"(?:(?:\+|00)\s*86{_SEP})?"
_MOBILE = rf"(?<![\d.]){_COUNTRY}1[3-9]\d(?:{_D}){{8}}(?!{_SEP}\d)"
_LOCAL = rf"[2-9]\d{{2,3}}{_SEP}\d{{4}}"
_LANDLINE = (
    rf"(?<![\d.]){_COUNTRY}(?:\(\s*0\d{{2,3}}\s*\)|\[\s*0\d{{2,3}}\s*\]|0\d{{2,3}})"
    rf"{_SEP}{_LOCAL}(?:(?:转|分机|ext\.?|x)[ \t]*\d{{1,6}})?(?!{_SEP}\d)"
)
_SERVICE = rf"(?<![\d.])[48]00{_SEP}\d{{3}}{_SEP}\d{{4}}(?!\d)"
_EMAIL = r"[A-Za-z0-9][A-Za-z0-9._%+\-]*\s*@\s*[A-Za-z0-9\-]+(?:\s*\.\s*[A-Za-z0-9\-]+)+"


def _after(*labels: str) -> str:
    # one fixed-width look-behind per label (Python needs fixed width)
    return "(?:" + "|".join(f"(?<={re.escape(label)})" for label in labels) + ")"


_LABELLED_NUMBER = (
    _after("电话", "传真", "座机", "手机", "固话", "方式", "tel", "phone", "mobile", "fax")
    + rf"\s*(?:号码)?\s*[:：]?\s*\d(?:{_D}){{6,11}}(?!\d)"
)
_IM_ID = _after("qq", "微信", "wechat", "vx") + r"\s*(?:号)?\s*[:：]?\s*[A-Za-z0-9_\-]{5,20}"

_CONTACT_RE = re.compile(
    "|".join(f"(?:{p})" for p in (_EMAIL, _MOBILE, _LANDLINE, _SERVICE, _LABELLED_NUMBER, _IM_ID)),
    re.IGNORECASE,
)


def fold(text: str) -> tuple[str, list[int]]:
    """NFKC-fold ``text`` character by character; returns the folded text and,
    for each folded character, the index of the original character it came from."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch) if ord(ch) > 0x7F else ch
        if ch in "\u3000\u00a0":
            folded = " "
        out.append(folded)
        origin.extend([i] * len(folded))
    return "".join(out), origin


def redact_contacts(text: str | None) -> str:
    """``text`` with every phone, fax, e-mail or QQ/WeChat id replaced by :data:`MASK`.

    Matching runs on the folded text; the rest of the original text (its
    full-width punctuation included) is kept as written.
    """
    if not text:
        return ""
    folded, origin = fold(text)
    spans = [(m.start(), m.end()) for m in _CONTACT_RE.finditer(folded) if m.end() > m.start()]
    if not spans:
        return text
    pieces: list[str] = []
    last = 0
    for start, end in spans:
        o_start, o_end = origin[start], origin[end - 1] + 1
        if o_start < last:
            continue
        pieces.append(text[last:o_start])
        pieces.append(MASK)
        last = o_end
    pieces.append(text[last:])
    return "".join(pieces)


def has_contact(text: str | None) -> bool:
    """Whether :func:`redact_contacts` would mask anything in ``text``."""
    return bool(text) and _CONTACT_RE.search(fold(text or "")[0]) is not None


T = TypeVar("T")


def redact_deep(value: T, redact: Callable[[str], str] = redact_contacts) -> T:
    """Every string inside ``value`` (dicts, lists, tuples, pydantic models) redacted.

    Pydantic models are copied with their string fields redacted; keys of dicts
    are left alone. Other values pass through unchanged.
    """
    return _deep(value, redact)  # type: ignore[no-any-return]


def _deep(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _deep(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v, redact) for v in value]
    if isinstance(value, tuple):
        return tuple(_deep(v, redact) for v in value)
    fields = getattr(type(value), "model_fields", None)
    if fields is not None and hasattr(value, "model_copy"):
        update = {name: _deep(getattr(value, name), redact) for name in fields}
        return value.model_copy(update=update)
    return value

"""Pure domain rules shared by the engine, the importer and the application.

Standard library only, so every layer may import it (``ingest`` and ``matcher``
use it directly; the application reaches it through :mod:`kejie.rules`). Each
rule has exactly one definition here:

* :func:`parse_bool`: 是/否-like cells (``不`` is *no* everywhere);
* :func:`city_key`: the comparison key of a 设区市 (``泉州市`` = ``泉州``);
* :func:`normalise_org` / :func:`affiliation_conflict`: conflict of interest
  between an expert's affiliation and an enterprise, by normalised containment.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# ---------------------------------------------------------------- yes / no

TRUE_WORDS = frozenset(
    {"是", "y", "yes", "true", "t", "1", "√", "✓", "✔", "对", "有", "院士", "可", "可用", "在"}
)
FALSE_WORDS = frozenset(
    {"否", "n", "no", "false", "f", "0", "×", "✗", "✘", "不是", "无", "非", "不可", "不可用", "不"}
)


def bool_word(value: Any) -> bool | None:
    """``是`` -> True, ``否``/``不`` -> False, blank -> None; anything else raises ValueError.

    Full-width forms are folded and whitespace dropped first (``ＹＥＳ`` = ``yes``).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value))).casefold()
    if not text:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"not a yes/no value: {value!r}")


def parse_bool(value: Any, default: bool | None = None, *, label: str | None = None) -> bool | None:
    """The one yes/no rule.

    Blank gives ``default``. An unrecognised word raises ``ValueError`` with a
    plain-Chinese reason when ``label`` is given (the importer reports it); without
    a label it gives ``default`` (lenient readers such as ``kejie rank``).
    """
    try:
        parsed = bool_word(value)
    except ValueError:
        if label is not None:
            raise ValueError(f"{label}应填写“是”或“否”") from None
        return default
    return default if parsed is None else parsed


# ---------------------------------------------------------------- cities

_CITY_SUFFIXES = ("市", "地区", "区", "县")


def city_key(city: str | None) -> str:
    """Comparison key of a city: ``福建省泉州市`` = ``泉州市`` = ``泉州`` = ``泉州`` (full-width too);
    ``平潭综合实验区`` = ``平潭``."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(city or "")))
    text = text.removeprefix("中国").removeprefix("福建省")
    if text.startswith("平潭"):
        return "平潭"
    for suffix in _CITY_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


# ---------------------------------------------------------------- conflicts of interest

_LEGAL_FORMS = re.compile(r"(股份有限公司|有限责任公司|有限公司|股份公司|集团公司|分公司|总公司|公司)")
_NOT_WORD = re.compile(r"[^\w]|_", re.UNICODE)
_SPLIT = re.compile(r"[;；,，、/|\n]+")
MIN_ORG_CHARS = 4


def normalise_org(name: str | None) -> str:
    """Organisation name reduced for comparison: full-width folded, punctuation
    and brackets dropped (their content kept), legal forms removed."""
    text = unicodedata.normalize("NFKC", name or "").lower()
    text = _NOT_WORD.sub("", text)
    return _LEGAL_FORMS.sub("", text)


def affiliation_parts(affiliation: str | None) -> list[str]:
    """The units of an affiliation (``；、,/`` separate several), normalised; short ones dropped."""
    parts = (normalise_org(p) for p in _SPLIT.split(unicodedata.normalize("NFKC", affiliation or "")))
    return [p for p in parts if len(p) >= MIN_ORG_CHARS]


def contains_either(parts: list[str], enterprise_norm: str) -> bool:
    """The containment test on already normalised names (for loops over many pairs)."""
    return len(enterprise_norm) >= MIN_ORG_CHARS and any(
        a in enterprise_norm or enterprise_norm in a for a in parts
    )


def affiliation_conflict(affiliation: str | None, enterprise_name: str | None) -> bool:
    """True when one name contains the other after :func:`normalise_org`.

    ``福建某某集团有限公司`` vs ``福建某某集团厦门分公司`` -> ``福建某某集团`` is in
    ``福建某某集团厦门``. Names shorter than four characters after normalisation
    are too generic to decide anything and never conflict.
    """
    return contains_either(affiliation_parts(affiliation), normalise_org(enterprise_name))

"""Hostile text: control characters on the way in, formulas on the way out.

One definition of "a character that must not be stored" (:data:`ILLEGAL_CHARS`:
NUL and the other C0 controls except tab, line feed and carriage return, lone
surrogates and the non-characters U+FFFE/U+FFFF, i.e. what XML 1.0 and
therefore XLSX cannot hold, and what PostgreSQL refuses for NUL) is shared by
the importer, the API schemas and the exports.

:func:`safe_cell` is the one function every export (event plans as XLSX, CSV
and JSON, rejects reports) runs its text cells through: it drops the illegal
characters and neutralises spreadsheet formulas the way OWASP's CSV-injection
guidance says, by prefixing a single quote to a cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return.
"""

from __future__ import annotations

import re
from typing import Any

ILLEGAL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Excel also starts a formula after leading blanks or from the full-width signs
_LEADING_BLANKS = " \u3000\u00a0"
_WIDE_TRIGGERS = ("＝", "＋", "－", "＠")


def char_name(ch: str) -> str:
    """``U+0000`` style name of one character, for messages."""
    return f"U+{ord(ch):04X}"


def find_illegal(text: str) -> str | None:
    """The first character of ``text`` that may not be stored, or ``None``."""
    m = ILLEGAL_CHARS.search(text)
    return m.group(0) if m else None


def illegal_reason(text: str) -> str | None:
    """A plain-Chinese reason when ``text`` holds a control character, else ``None``."""
    ch = find_illegal(text)
    if ch is None:
        return None
    where = text.index(ch) + 1
    return f"含有不可见的控制字符 {char_name(ch)}（第{where}个字符），请删除后重试"


def check_text(value: Any) -> Any:
    """Raise :class:`ValueError` (with the reason) when a string, or a string in a
    list or dict, holds a control character; returns ``value`` unchanged."""
    if isinstance(value, str):
        reason = illegal_reason(value)
        if reason:
            raise ValueError(reason)
    elif isinstance(value, (list, tuple)):
        for item in value:
            check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_text(item)
    return value


def strip_illegal(text: str) -> str:
    """``text`` without the characters XML (and so XLSX) cannot hold."""
    return ILLEGAL_CHARS.sub("", text) if ILLEGAL_CHARS.search(text) else text


def is_formula_like(text: str) -> bool:
    if not text:
        return False
    if text.startswith(FORMULA_TRIGGERS):
        return True
    rest = text.lstrip(_LEADING_BLANKS)
    return rest.startswith(FORMULA_TRIGGERS[:4] + _WIDE_TRIGGERS)


def safe_cell(value: Any) -> Any:
    """A value as an export may write it: text without illegal characters and,
    when it would start a formula, prefixed with ``'``. Numbers, dates, booleans
    and ``None`` are returned as they are."""
    if not isinstance(value, str):
        return value
    text = strip_illegal(value)
    if is_formula_like(text):
        return "'" + text
    return text


def safe_tree(value: Any) -> Any:
    """:func:`safe_cell` applied to every string in nested lists and dicts (JSON exports)."""
    if isinstance(value, dict):
        return {k: safe_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [safe_tree(v) for v in value]
    return safe_cell(value)


def put_cell(ws: Any, row: int, column: int, value: Any) -> Any:
    """Write one worksheet cell through :func:`safe_cell`: text is always a string
    cell, never a formula. The one way every XLSX export writes a value."""
    cell = ws.cell(row=row, column=column)
    value = safe_cell(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell

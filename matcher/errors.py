"""Domain exceptions of the matching engine.

Callers (API routers, CLI commands) turn these into HTTP errors or one-line
messages; nothing in ``matcher`` prints or exits.
"""

from __future__ import annotations


class MatcherError(Exception):
    """Base class for every matcher error."""


class UnknownEncoder(MatcherError):
    def __init__(self, name: str, choices: list[str]) -> None:
        self.name = name
        self.choices = choices
        super().__init__(f"未知的编码器 {name!r}；可选：{', '.join(choices)}")


class EncoderUnavailable(MatcherError):
    """The configured model cannot be loaded (missing directory, broken files)."""


class UnknownFusion(MatcherError):
    def __init__(self, name: str, choices: list[str]) -> None:
        self.name = name
        self.choices = choices
        super().__init__(f"未知的融合策略 {name!r}；可选：{', '.join(choices)}")


class NotFound(MatcherError):
    def __init__(self, kind: str, id: int | str) -> None:
        self.kind = kind
        self.id = id
        super().__init__(f"{kind} {id} 不存在")


class IndexOutOfDate(MatcherError):
    """The on-disk index is missing or was built with another encoder."""


class BadInput(MatcherError):
    """A candidates/queries file cannot be read; the message names file, row and field."""

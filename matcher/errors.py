"""Domain exceptions of the matching engine.

Callers (API routers, CLI commands) turn these into HTTP errors or one-line
messages; nothing in ``matcher`` prints or exits.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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


# Event planning: messages are Chinese and say which constraint to relax.


class PlanningError(MatcherError):
    """Base class for event-planning failures."""


class EventNotFound(PlanningError, LookupError):
    def __init__(self, event_id: int) -> None:
        self.event_id = event_id
        super().__init__(f"活动 #{event_id} 不存在：请用 events 列表核对活动编号")


class ScorerError(PlanningError):
    """The scoring function returned something the planner cannot use."""


@dataclass
class InfeasibleDetail:
    """Structured reasons behind an :class:`InfeasiblePlan`, for callers that
    want more than the message (the API returns it as JSON)."""

    problems: list[str] = field(default_factory=list)
    demands_without_candidates: list[str] = field(default_factory=list)
    capacity_needed: int = 0
    capacity_available: int = 0
    conflicting_must_pairs: list[str] = field(default_factory=list)

    @property
    def capacity_shortfall(self) -> int:
        return max(0, self.capacity_needed - self.capacity_available)


class InfeasiblePlan(PlanningError):
    """The constraints cannot all hold at once.

    ``detail.problems`` lists each violated constraint in plain words together
    with what to relax; ``match_list_id``/``version`` are set by
    :func:`kejie.events.plan_event` once the failure has been recorded.
    """

    def __init__(self, detail: InfeasibleDetail) -> None:
        self.detail = detail
        self.match_list_id: int | None = None
        self.version: int | None = None
        super().__init__(self.summary())

    @property
    def problems(self) -> list[str]:
        return self.detail.problems

    def summary(self) -> str:
        if len(self.detail.problems) == 1:
            return f"无法排定计划：{self.detail.problems[0]}"
        numbered = "；".join(f"({n}) {p}" for n, p in enumerate(self.detail.problems, 1))
        return f"无法排定计划，需放宽以下约束：{numbered}"

    @classmethod
    def from_message(cls, message: str) -> InfeasiblePlan:
        """Rebuild the error from a stored MatchList message (idempotent re-runs)."""
        err = cls(InfeasibleDetail(problems=[message]))
        err.args = (message,)
        return err

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self.summary()

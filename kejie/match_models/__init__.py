"""Fitted match models (learned fusion weights, calibration and grade thresholds)
per candidate kind, shipped as package data.

``<kind>.json`` here is the model fitted on the team's judged dev demands with
``kejie fusion fit``; a deployment re-fits on its own judged outcomes and points
``KEJIE_MATCH_MODEL_DIR`` at the folder holding its ``<kind>.json``. A kind
without a model (societies, demands) keeps its two-channel fusion and shows no
grade.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from matcher.errors import MatcherError
from matcher.learn import MatchModel


@lru_cache(maxsize=16)
def _load(directory: str, kind: str) -> MatchModel | None:
    if directory:
        path = Path(directory) / f"{kind}.json"
        if not path.is_file():
            return None
        text = path.read_text(encoding="utf-8")
    else:
        res = resources.files(__name__) / f"{kind}.json"
        if not res.is_file():
            return None
        text = res.read_text(encoding="utf-8")
    try:
        return MatchModel.from_json(text)
    except (KeyError, TypeError, ValueError) as exc:
        where = directory or "kejie/match_models"
        raise MatcherError(f"{where}/{kind}.json 不是有效的匹配模型：{exc}") from exc


def load_model(kind: str, directory: Path | str | None = None) -> MatchModel | None:
    """The model for ``kind``: from ``directory`` if given, else the bundled one."""
    return _load(str(directory) if directory else "", kind)

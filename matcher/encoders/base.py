"""The encoder interface. One module per backend in this package."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors.

    ``name`` identifies the model and its settings; the embedding cache keys on
    it, so two encoders that can give different vectors must not share a name.
    """

    name: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


class EncoderConfig(Protocol):
    """What choosing an encoder needs: any object with these attributes
    (``kejie.settings.Settings`` is one). The engine never reads settings itself."""

    @property
    def encoder(self) -> str: ...

    @property
    def encoder_model(self) -> str: ...

    @property
    def encoder_threads(self) -> int: ...

    @property
    def var_dir(self) -> Path: ...

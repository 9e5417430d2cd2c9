"""The encoder interface. One module per backend in this package."""

from __future__ import annotations

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

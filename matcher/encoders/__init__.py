"""Encoder backends. ``load_encoder(config)`` picks one by ``config.encoder``
(``config`` is any :class:`EncoderConfig`, e.g. the application settings)."""

from __future__ import annotations

import importlib

from matcher.encoders.base import Encoder, EncoderConfig
from matcher.errors import UnknownEncoder

ENCODERS = ["e5", "sentence-transformers", "static"]


def load_encoder(settings: EncoderConfig) -> Encoder:
    name = (settings.encoder or "").strip().lower()
    if name == "e5":
        from matcher.encoders.e5 import E5Encoder

        return E5Encoder(threads=settings.encoder_threads)
    if name in ("sentence-transformers", "sentence_transformers", "st"):
        from matcher.encoders.sentence_transformers import SentenceTransformerEncoder

        return SentenceTransformerEncoder(settings.encoder_model, threads=settings.encoder_threads)
    if name == "static":
        # Owned by another module; imported lazily so a missing backend only
        # matters when it is chosen.
        static = importlib.import_module("matcher.encoders.static")
        return static.load(settings)  # type: ignore[no-any-return]
    raise UnknownEncoder(settings.encoder, ENCODERS)


__all__ = ["ENCODERS", "Encoder", "EncoderConfig", "load_encoder"]

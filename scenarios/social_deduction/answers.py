"""Answer shapes shared by social-deduction games (the JSON a model writes)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SPEECH_MAX_CHARS = 1000
"""Longest speech or summary accepted (about 150 words); the JSON schema carries it, so
constrained decoding stops there."""


class Speech(BaseModel):
    """What a player says aloud: ``{"say": ...}`` (with ``reasoning`` first when asked)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    say: str = Field(min_length=1, max_length=SPEECH_MAX_CHARS)


class Summary(BaseModel):
    """A player's notes to itself: ``{"summary": ...}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    summary: str = Field(min_length=1, max_length=SPEECH_MAX_CHARS)

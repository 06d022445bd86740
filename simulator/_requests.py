"""What crosses the engine–backend boundary: typed requests and responses, nothing else."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from societas.simulator._questions import Question
from societas.simulator._text import clean_model_text

Message = dict[str, str]
"""A chat message: ``{"role": "system" | "user" | "assistant", "content": ...}``."""


@dataclass(frozen=True, slots=True)
class RequestKey:
    """The identity of one model request; it alone decides the request's seed.

    ``k`` counts the questions put to ``agent`` within ``step`` of simulation ``sim``, so the key
    (and with it every sampled answer) never depends on batching or completion order.
    """

    sim: int
    agent: str
    step: int
    k: int
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class Sampling:
    """Decoding settings for one request."""

    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 256


@dataclass(slots=True)
class Request:
    """One question to one agent, as the backend sees it.

    Args:
        key: the request's identity (simulation, agent, step, question index, attempt).
        policy: ``"model"`` for the run's model backend, else the name of a scripted strategy.
        question: the question with its answer shape.
        messages: the rendered chat conversation (empty for scripted policies, which read the
            question's typed view instead).
        seed: the per-request sampling seed derived from the run seed and ``key``.
        sampling: decoding settings.
    """

    key: RequestKey
    policy: str
    question: Question[Any]
    messages: list[Message]
    seed: int
    sampling: Sampling = field(default_factory=Sampling)

    def prompt_hash(self) -> str | None:
        """Hash of what the model is shown (messages and answer constraint); None if no model."""
        if not self.messages:
            return None
        constraint = self.question.constraint()
        payload = json.dumps([self.messages, constraint.choice, constraint.json_schema],
                             sort_keys=True, ensure_ascii=False)
        return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


@dataclass(slots=True)
class Response:
    """A backend's answer to one request: raw text plus accounting.

    This is where model output enters the engine: `text` and `error` pass through
    `clean_model_text` here, once, so whatever is parsed, logged or shown later is clean
    (no lone surrogates, one kind of line break, no control characters).
    """

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    cached_tokens: int = 0
    error: str | None = None
    option_logprobs: dict[str, float] | None = None
    """For choice questions scored option by option: log-probability of every option."""

    def __post_init__(self) -> None:
        self.text = clean_model_text(self.text)
        if self.error is not None:
            self.error = clean_model_text(self.error)

"""Backends answer batches of requests: scripted here; vLLM, OpenAI-compatible and others lazily."""

from simulator.backends._base import Backend
from simulator.backends.scripted import ScriptedBackend

__all__ = ["Backend", "ScriptedBackend"]

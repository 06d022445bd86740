"""Backends answer batches of requests: scripted here; vLLM, OpenAI-compatible and others lazily."""

from societas.simulator.backends._base import Backend
from societas.simulator.backends.scripted import ScriptedBackend

__all__ = ["Backend", "ScriptedBackend"]

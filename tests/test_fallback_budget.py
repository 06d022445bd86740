"""The fallback budget: a run against a dead or rate-limiting server ends "failed", not "completed".

The servers are real HTTP servers on loopback (stdlib `ThreadingHTTPServer` in a thread of the
test process) speaking just enough of the OpenAI protocol: ``/v1/models`` lists the model,
``/v1/chat/completions`` fails with 500 or 429, or answers with a valid instance of the
request's structured-output constraint. Runs go through the ``societas`` console script.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from societas import simulator
from societas.simulator._budget import FallbackBudget, Tally, error_kind
from societas.simulator._errors import FallbackBudgetExceeded
from societas.simulator._log import read_rows
from societas.simulator._rows import CallRow
from tests._servers import LoopbackServer, instance


class Server(LoopbackServer):
    """An OpenAI-compatible server on loopback whose chat answers follow `mode`."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.chats = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def reply(self, status: int, payload: Any, headers: dict[str, str] | None = None
                      ) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self.reply(200, {"object": "list", "data": [{"id": "m", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.chats += 1
                    n = server.chats
                if server.mode == "500" or (server.mode == "one_500" and n == 3):
                    self.reply(500, {"error": {"message": f"engine crashed (request {n})"}})
                elif server.mode == "429":
                    self.reply(429, {"error": {"message": f"slow down ({n})"}},
                               {"Retry-After": "0"})
                else:
                    constraint = body.get("structured_outputs", {})
                    if "choice" in constraint:
                        text = constraint["choice"][0]
                    else:
                        text = json.dumps(instance(constraint["json"]))
                    self.reply(200, {"choices": [{"message": {"content": text}}],
                                     "usage": {"prompt_tokens": 10, "completion_tokens": 5}})

        super().__init__(Handler)



@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with Server(request.param) as running:
        yield running


def societas(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("societas")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def donor_run(server: Server, tmp_path: Path, *extra: str, simulations: int = 4
              ) -> subprocess.CompletedProcess[str]:
    """A small donor game answered by `server` (no backend retries: failures count at once)."""
    return societas(
        "run", "scenario=donor_game", "scenario.generations=1", "scenario.rounds=2",
        "scenario.reasoning=false", "population.size=6", f"simulations={simulations}",
        "backend=openai", f"backend.base_url={server.url}", "backend.model=m",
        "backend.max_retries=0", "backend.backoff_s=0", f"out_dir={tmp_path}", "run_id=r",
        "progress=false", *extra, cwd=tmp_path)


def assert_failed_with_one_line(done: subprocess.CompletedProcess[str], run_dir: Path,
                                needle: str) -> dict[str, Any]:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    reasons = [line for line in done.stderr.splitlines() if "max_fallback_share" in line]
    assert len(reasons) == 1 and needle in reasons[0], done.stderr
    manifest = simulator.read_manifest(run_dir)
    assert manifest["status"] == "failed"
    assert manifest["error"]["type"] == "FallbackBudgetExceeded"
    assert needle in manifest["error"]["message"]
    assert "\n" not in manifest["error"]["message"]
    return manifest


@pytest.mark.parametrize("server", ["500"], indirect=True)
def test_a_server_answering_500_fails_the_run_naming_the_error(server, tmp_path):
    done = donor_run(server, tmp_path)
    manifest = assert_failed_with_one_line(done, tmp_path / "r",
                                           "most frequent backend error (")
    counts = manifest["counts"]
    assert counts["model_fallbacks"] == counts["model_answers"] > 0
    assert counts["transport_failures"] == counts["requests"] == server.chats
    assert counts["parse_failures"] == 0
    assert counts["backend_errors"] == {f"HTTP 500 from {server.url}": server.chats}
    message = manifest["error"]["message"]
    assert message.startswith(f"{counts['model_answers']} of {counts['model_answers']} model "
                              "answers (100%) were fallbacks, over max_fallback_share=0.05")
    assert message.endswith(f"({server.chats} times): HTTP 500 from {server.url}")
    # everything logged stays on disk, and the retries resent the same prompt (no repair)
    calls = read_rows(tmp_path / "r", CallRow)
    assert len(calls) == counts["call_rows"] == server.chats
    by_question = {}
    for row in calls:
        by_question.setdefault((row.sim, row.agent, row.step, row.k), set()).add(row.messages)
    assert all(len(prompts) == 1 for prompts in by_question.values())


@pytest.mark.parametrize("server", ["429"], indirect=True)
def test_a_rate_limiting_server_fails_the_run_early(server, tmp_path):
    done = donor_run(server, tmp_path, "backend.max_retries=1", simulations=20)
    manifest = assert_failed_with_one_line(done, tmp_path / "r",
                                           f"HTTP 429 from {server.url}")
    assert "(run stopped early)" in manifest["error"]["message"]
    # 20 games ask 240 questions; the run stopped after the first wave (>= 50 answers)
    counts = manifest["counts"]
    assert 50 <= counts["model_answers"] < 240
    # every logged attempt failed with 429 after the backend's own retry (requests still in
    # flight when the run stopped were cancelled, not logged)
    assert counts["backend_errors"] == {f"HTTP 429 from {server.url}": counts["call_rows"]}
    assert server.chats >= 2 * counts["call_rows"]


@pytest.mark.parametrize("server", ["one_500"], indirect=True)
def test_one_failure_passes_the_default_budget(server, tmp_path):
    done = donor_run(server, tmp_path, "max_attempts=1")
    assert done.returncode == 0, done.stderr
    manifest = simulator.read_manifest(tmp_path / "r")
    assert manifest["status"] == "completed"
    counts = manifest["counts"]
    assert (counts["model_fallbacks"], counts["transport_failures"]) == (1, 1)
    assert counts["model_answers"] == 48 == counts["decisions"] + 1


@pytest.mark.parametrize("server", ["one_500"], indirect=True)
def test_strict_mode_fails_on_the_first_fallback(server, tmp_path):
    done = donor_run(server, tmp_path, "max_attempts=1", "max_fallback_share=0")
    manifest = assert_failed_with_one_line(done, tmp_path / "r", "over max_fallback_share=0 ")
    assert manifest["counts"]["model_fallbacks"] == 1
    assert manifest["error"]["message"].startswith("1 of ")
    assert manifest["error"]["message"].endswith(f"(once): HTTP 500 from {server.url}")


@pytest.mark.parametrize("server", ["healthy"], indirect=True)
def test_a_healthy_server_completes_with_no_fallbacks(server, tmp_path):
    done = donor_run(server, tmp_path, "max_fallback_share=0")
    assert done.returncode == 0, done.stderr
    counts = simulator.read_manifest(tmp_path / "r")["counts"]
    assert counts["model_answers"] == 48 and counts["model_fallbacks"] == 0
    assert counts["backend_errors"] == {}


def test_error_kinds_group_variants_of_one_failure():
    assert error_kind('HTTP 500: {"error": "request 17"}') == "HTTP 500"
    assert error_kind("HTTP 500: <html>oops 2</html>") == error_kind("HTTP 500: other")
    assert error_kind('unexpected reply: {"id": "x1"}') == "unexpected reply"
    assert error_kind("ReadTimeout: timed out after 120 s") == "ReadTimeout: timed out after 120 s"
    assert error_kind("ConnectError: port 51234 refused") == "ConnectError: port N refused"
    assert error_kind("") == "(empty error)"


@pytest.mark.parametrize(("answers", "fallbacks", "share", "over"), [
    (3, 1, 0.05, False),  # a short simulation may hold one fallback
    (3, 2, 0.05, True),
    (20, 1, 0.05, False), (40, 2, 0.05, False), (40, 3, 0.05, True),
    (1000, 50, 0.05, False), (1000, 51, 0.05, True),
    (3, 1, 0.0, True), (1000, 0, 0.0, False),  # strict
    (10, 10, 1.0, False),  # budget off
])
def test_the_budget_rule(answers, fallbacks, share, over):
    assert Tally(answers, fallbacks).over(share) is over


def test_a_simulation_over_budget_fails_the_run_even_when_the_run_is_not():
    budget = FallbackBudget(0.05)
    for sim in range(10):
        for i in range(30):
            budget.record(sim, fallback=sim == 7 and i < 5)
    for sim in range(7):
        budget.finish_sim(sim)
    with pytest.raises(FallbackBudgetExceeded, match=r"^simulation 7: 5 of 30 model answers"):
        budget.finish_sim(7)
    budget.check()  # 5 of 300 overall: within budget


def test_the_early_stop_waits_for_enough_answers():
    budget = FallbackBudget(0.05)
    for _ in range(49):
        budget.record(0, fallback=True)
    with pytest.raises(FallbackBudgetExceeded, match=r"50 of 50 .*stopped early.*no backend"):
        budget.record(0, fallback=True)


@pytest.mark.parametrize("server", ["500"], indirect=True)
def test_a_sweep_reports_budget_failed_runs_as_failed(server, tmp_path):
    from societas.simulator.sweep import sweep

    result = sweep(["scenario=donor_game", "scenario.generations=1", "scenario.rounds=2",
                    "scenario.reasoning=false", "population.size=6", "backend=openai",
                    f"backend.base_url={server.url}", "backend.model=m",
                    "backend.max_retries=0", "backend.backoff_s=0", f"out_dir={tmp_path}",
                    "seed=1,2"], workers=0, progress=False)
    assert [r.status for r in result.runs] == ["failed", "failed"]
    for run in result.runs:
        assert run.error is not None and run.error.startswith("FallbackBudgetExceeded: 12 of 12")
        assert simulator.read_manifest(run.run_dir)["error"]["type"] == "FallbackBudgetExceeded"


@pytest.mark.parametrize("server", ["one_500"], indirect=True)
def test_a_recovered_transport_failure_replays_identically(server, tmp_path):
    done = donor_run(server, tmp_path)  # the failed attempt is retried with the same prompt
    assert done.returncode == 0, done.stderr
    counts = simulator.read_manifest(tmp_path / "r")["counts"]
    assert (counts["transport_failures"], counts["model_fallbacks"]) == (1, 0)
    replayed = societas("replay", str(tmp_path / "r"), cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    assert "event log identical" in replayed.stdout and "calls log identical" in replayed.stdout

"""Malformed OpenAI-compatible replies are counted backend errors, never a crashed run.

`ChatServer` is a real HTTP server on loopback (stdlib `ThreadingHTTPServer` in a thread of the
test process); each test gives it a function that writes the reply to every chat request, so one
server plays every misbehaviour: ``content`` that is a number, an object, a list or null,
``usage.prompt_tokens`` that is a string, HTTP 200 with a body that is not JSON, truncated JSON,
an HTML page, and a ``/v1/models`` list that is not JSON. Runs go through the ``societas`` console
script. A property test pushes generated bodies through `parse_reply` itself.

Before this was fixed (issue 11, failure 7) most of these crashed the run: the backend took
``reply.json()["choices"][0]["message"]["content"]`` as the text whatever it was, so a number, an
object or a list reached ``parse`` and raised ``AttributeError`` (``.strip()``); ``reply.json()``
raised ``JSONDecodeError`` out of ``generate`` for a body that was not JSON (truncated, HTML);
``int(usage["prompt_tokens"])`` raised on a count that was not a number (``[5]``, ``"n/a"``); and a
model list that was not JSON raised ``JSONDecodeError`` from ``open``, a traceback that did not
name the server. A null content passed as an empty answer, counted as the model's mistake.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from societas import simulator
from societas.simulator._text import clean_model_text
from societas.simulator.backends.openai import parse_reply
from tests._servers import LoopbackServer, instance

SOCIETAS = str(Path(sys.executable).with_name("societas"))


@dataclass(frozen=True)
class Reply:
    """One HTTP reply: status, content type and the body's bytes."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"


Chat = Callable[[dict[str, Any], "ChatServer"], Reply]
"""Writes the reply to one chat request (its decoded JSON body) given the server's state."""


def valid_content(request: dict[str, Any]) -> str:
    """Answer text that fits the request's structured-output constraint."""
    constraint = request["structured_outputs"]
    if "choice" in constraint:
        return constraint["choice"][0]
    return json.dumps(instance(constraint["json"]))


def chat_reply(content: Any, usage: Any = None) -> Reply:
    """A well-formed chat-completions envelope around `content` (any JSON value)."""
    payload: dict[str, Any] = {"id": "c", "object": "chat.completion",
                               "choices": [{"index": 0, "message": {"role": "assistant",
                                                                    "content": content}}]}
    payload["usage"] = usage if usage is not None else {"prompt_tokens": 10,
                                                       "completion_tokens": 5}
    return Reply(json.dumps(payload).encode())


def good(request: dict[str, Any], server: ChatServer) -> Reply:
    """A correct reply."""
    return chat_reply(valid_content(request))


class ChatServer(LoopbackServer):
    """An OpenAI-compatible server on loopback whose chat replies `chat` writes.

    Args:
        chat: writes the reply to each chat request.
        models: the reply to ``GET /v1/models`` (default: a list naming model ``m``).
    """

    def __init__(self, chat: Chat, models: Reply | None = None) -> None:
        self.chat = chat
        self.models = models or Reply(json.dumps(
            {"object": "list", "data": [{"id": "m", "object": "model"}]}).encode())
        self.chats = 0
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def do_GET(self) -> None:
                self.send(server.models)

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.chats += 1
                    reply = server.chat(request, server)
                self.send(reply)

        super().__init__(Handler)

    def first_time(self, request: dict[str, Any]) -> bool:
        """Whether this prompt is asked for the first time (a retry resends the same one)."""
        digest = hashlib.blake2b(json.dumps(request["messages"]).encode()).hexdigest()
        new = digest not in self.seen
        self.seen.add(digest)
        return new



@pytest.fixture
def serve() -> Iterator[Callable[..., ChatServer]]:
    """Start a `ChatServer` (``serve(chat, models=None)``); all are shut down afterwards."""
    started: list[ChatServer] = []

    def start(chat: Chat, models: Reply | None = None) -> ChatServer:
        server = ChatServer(chat, models).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__()


def societas(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SOCIETAS, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def donor_run(server: ChatServer, tmp_path: Path, *extra: str
              ) -> subprocess.CompletedProcess[str]:
    """A small donor game (one simulation, 4 agents, 2 rounds) answered by `server`.

    Backend retries are off, so every malformed reply reaches the engine, which asks again with
    the same prompt (up to ``max_attempts=3``).
    """
    return societas(
        "run", "scenario=donor_game", "scenario.generations=1", "scenario.rounds=2",
        "scenario.reasoning=false", "population.size=4", "simulations=1",
        "backend=openai", f"backend.base_url={server.url}", "backend.model=m",
        "backend.max_retries=0", "backend.backoff_s=0", f"out_dir={tmp_path}", "run_id=r",
        "progress=false", *extra, cwd=tmp_path)


def calls_table(run_dir: Path) -> list[dict[str, Any]]:
    """The calls log, read back with pyarrow, in (sim, agent, step, k, attempt) order."""
    rows = pq.read_table(run_dir / "calls").to_pylist()
    return sorted(rows, key=lambda r: (r["sim"], r["agent"], r["step"], r["k"], r["attempt"]))


# -- the malformed-response set ----------------------------------------------------------------
MALFORMED: dict[str, tuple[Reply, str]] = {
    # name: (the reply, what the logged backend error says)
    "content is a number": (chat_reply(3), "malformed reply, content is a number"),
    "content is an object": (chat_reply({"answer": 3}), "malformed reply, content is an object"),
    "content is a list": (chat_reply(["give", 3]), "malformed reply, content is a list"),
    "content is null": (chat_reply(None), "malformed reply, content is null"),
    "not JSON": (Reply(b"all good, here is your answer: 3", content_type="text/plain"),
                 "malformed reply, not JSON"),
    "truncated JSON": (Reply(chat_reply("3").body[:-9]), "malformed reply, not JSON"),
    "an HTML page": (Reply(b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>"
                           b"</body></html>", content_type="text/html"),
                     "malformed reply, not JSON"),
    "no choices": (Reply(b'{"object": "error", "message": "model overloaded"}'),
                   "malformed reply, no choices"),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_reply_is_a_backend_error_that_is_asked_again(kind, serve, tmp_path):
    malformed, logged = MALFORMED[kind]

    def first_malformed(request: dict[str, Any], server: ChatServer) -> Reply:
        return malformed if server.first_time(request) else good(request, server)

    server = serve(first_malformed)
    done = donor_run(server, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    manifest = simulator.read_manifest(tmp_path / "r")
    assert manifest["status"] == "completed"
    counts = manifest["counts"]
    # every question failed once, then got its answer: no fallback, nothing invalid
    assert counts["model_fallbacks"] == 0 and counts["parse_failures"] == 0
    assert counts["transport_failures"] == counts["model_answers"] == len(server.seen) > 0
    (error_kind, times), = counts["backend_errors"].items()
    assert error_kind.startswith(logged) and error_kind.endswith(f" from {server.url}")
    assert times == counts["model_answers"]
    assert counts["call_rows"] == server.chats == 2 * counts["model_answers"]
    calls = calls_table(tmp_path / "r")
    assert len(calls) == counts["call_rows"]
    failed = [c for c in calls if c["attempt"] == 0]
    answered = [c for c in calls if c["attempt"] == 1]
    assert all(c["error"].startswith(f"backend error: {logged}") for c in failed), failed[0]
    assert all("\n" not in c["error"] for c in failed)
    assert all(c["error"] is None and c["answer"] is not None and not c["fallback"]
               for c in answered)
    # the retry resent the very prompt that got the malformed reply
    assert [c["messages"] for c in failed] == [c["messages"] for c in answered]


@pytest.mark.parametrize("kind", ["content is a list", "an HTML page"])
def test_a_server_whose_every_reply_is_malformed_fails_the_run_in_one_line(kind, serve,
                                                                           tmp_path):
    malformed, logged = MALFORMED[kind]
    server = serve(lambda request, server: malformed)
    done = donor_run(server, tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    reasons = [line for line in lines if "max_fallback_share" in line]
    assert len(reasons) == 1, done.stderr
    assert reasons[0].startswith("societas: ")
    assert f"most frequent backend error ({server.chats} times): {logged}" in reasons[0]
    assert f" from {server.url}" in reasons[0]
    manifest = simulator.read_manifest(tmp_path / "r")
    assert manifest["status"] == "failed"
    assert manifest["error"]["type"] == "FallbackBudgetExceeded"
    counts = manifest["counts"]
    assert counts["model_fallbacks"] == counts["model_answers"] > 0
    assert counts["transport_failures"] == counts["call_rows"] == server.chats
    assert all(c["error"].startswith(f"backend error: {logged}")
               for c in calls_table(tmp_path / "r"))


def test_token_counts_that_are_not_numbers_spoil_nothing(serve, tmp_path):
    def string_tokens(request: dict[str, Any], server: ChatServer) -> Reply:
        return chat_reply(valid_content(request),
                          {"prompt_tokens": "n/a", "completion_tokens": [5]})

    server = serve(string_tokens)
    done = donor_run(server, tmp_path, "max_fallback_share=0")
    assert done.returncode == 0, done.stderr
    manifest = simulator.read_manifest(tmp_path / "r")
    counts = manifest["counts"]
    assert manifest["status"] == "completed"
    assert counts["model_fallbacks"] == counts["transport_failures"] == 0
    assert counts["call_rows"] == counts["model_answers"] == server.chats
    calls = calls_table(tmp_path / "r")
    assert all(c["error"] is None for c in calls)
    assert all((c["tokens_in"], c["tokens_out"]) == (0, 0) for c in calls)
    stats = json.dumps(manifest)
    assert f'"malformed_usage": {server.chats}' in stats


@pytest.mark.parametrize("models", [
    Reply(b"<html><body>It works!</body></html>", content_type="text/html"),
    Reply(b'{"data": [{"id": "m"'),
    Reply(b'{"data": "m"}'),
])
def test_a_model_list_that_is_not_json_is_a_one_line_config_error(models, serve, tmp_path):
    server = serve(good, models)
    done = donor_run(server, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    line, = done.stderr.strip().splitlines()
    assert line.startswith(f"societas: config error: backend.base_url: {server.url}/models "
                           "is not an "
                           "OpenAI-compatible server: its model list is "), line
    assert server.chats == 0


# -- parse_reply on generated bodies ---------------------------------------------------------------
REPLY_EXAMPLES = 800
"""Generated bodies per property below (three properties: 2,400 in all)."""

_NASTY = "\ud800\udfff\x00\x1b\x7f\x85\x9b\u2028\u2029\r\x0b\x0c\"\\{}[]"
any_text = st.text(st.one_of(st.characters(exclude_categories=()),
                             st.sampled_from(_NASTY)), max_size=40)
"""Any Python string: lone surrogates, controls and line separators included."""
huge_ints = st.integers(4300, 4400).map(lambda digits: 7 * 10**digits)
"""Integers past Python's 4,300-digit limit (made by arithmetic: str() would refuse them)."""
numbers = st.one_of(st.integers(), huge_ints, st.floats(), st.booleans())
json_values = st.recursive(st.none() | numbers | any_text,
                           lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(any_text, inner, max_size=4), max_leaves=12)
"""JSON-like values of random shapes (NaN, Infinity and ints past Python's 4,300 digits too)."""


def dumps(value: Any, ensure_ascii: bool) -> bytes:
    """`value` as JSON bytes the way a careless server might write them (NaN, huge ints)."""
    import sys as _sys

    limit = _sys.get_int_max_str_digits()
    _sys.set_int_max_str_digits(0)  # writing a 4,400-digit integer needs the limit off
    try:
        return json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")
    finally:
        _sys.set_int_max_str_digits(limit)


def assert_clean_response(body: bytes) -> Any:
    """`parse_reply(body)` gives a clean Response (never raises); returns it."""
    response, usage_ok = parse_reply(body)
    assert isinstance(usage_ok, bool)
    assert clean_model_text(response.text) == response.text
    assert response.error is None or clean_model_text(response.error) == response.error
    assert response.error is None or "\n" not in response.error
    for count in (response.tokens_in, response.tokens_out, response.cached_tokens):
        assert type(count) is int and 0 <= count <= 2**53
    return response


REPLY_SETTINGS = settings(max_examples=REPLY_EXAMPLES, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])


def run_counted(prop: Callable[[list[None]], None]) -> None:
    """Run a property (given the list it appends to per example) and check the example count."""
    seen: list[None] = []
    prop(seen)
    assert len(seen) >= REPLY_EXAMPLES


def test_parse_reply_on_valid_envelopes_with_any_content_and_usage():
    @REPLY_SETTINGS
    @given(content=json_values, usage=json_values, details=json_values,
           ensure_ascii=st.booleans())
    def prop(seen: list[None], content: Any, usage: Any, details: Any,
             ensure_ascii: bool) -> None:
        seen.append(None)
        if isinstance(usage, dict):
            usage["prompt_tokens_details"] = details
        payload = {"choices": [{"message": {"role": "assistant", "content": content}}],
                   "usage": usage}
        response = assert_clean_response(dumps(payload, ensure_ascii))
        # error set exactly when content is not a string
        assert (response.error is None) == isinstance(content, str), response.error
        if isinstance(content, str):
            assert response.text == clean_model_text(content)
        else:
            assert response.text == ""
            assert response.error.startswith("malformed reply, content is ")

    run_counted(prop)


def envelope_shapes() -> st.SearchStrategy[Any]:
    """Objects shaped more or less like a reply: choices/message/content at random depths."""
    message = st.one_of(json_values, st.fixed_dictionaries({}, optional={
        "content": json_values, "role": json_values}))
    choice = st.one_of(json_values, st.fixed_dictionaries({}, optional={"message": message}))
    return st.one_of(json_values, st.fixed_dictionaries({}, optional={
        "choices": st.one_of(json_values, st.lists(choice, max_size=3)), "usage": json_values}))


def content_of(payload: Any) -> Any:
    """What the reply's content is, read independently of `parse_reply` (None: no string)."""
    try:
        return payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None


def test_parse_reply_on_json_of_random_shapes():
    @REPLY_SETTINGS
    @given(payload=envelope_shapes(), ensure_ascii=st.booleans())
    def prop(seen: list[None], payload: Any, ensure_ascii: bool) -> None:
        seen.append(None)
        response = assert_clean_response(dumps(payload, ensure_ascii))
        content = content_of(payload)
        assert (response.error is None) == isinstance(content, str), response.error

    run_counted(prop)


BODIES = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda valid, cut: valid[:cut], st.just(chat_reply("give").body),
              st.integers(0, 80)),  # truncated
    st.builds(lambda depth: b'{"choices": ' + b"[" * depth + b"]" * depth + b"}",
              st.integers(1000, 6000)),  # nested deeper than the recursion limit
    st.builds(lambda digits: b'{"choices": [{"message": {"content": "3"}}], "usage": '
              b'{"prompt_tokens": ' + b"7" * digits + b"}}", st.integers(4301, 6000)),
    any_text.map(lambda text: text.encode("utf-8", "surrogatepass")),
)
"""Bytes: random, truncated replies, deep nesting, huge counts, text with surrogates."""


def test_parse_reply_on_bytes_never_raises():
    @REPLY_SETTINGS
    @given(body=BODIES)
    def prop(seen: list[None], body: bytes) -> None:
        seen.append(None)
        response = assert_clean_response(body)
        try:  # read independently: raw controls allowed, every integer as a float
            payload = json.loads(body, strict=False, parse_int=float)
        except (ValueError, RecursionError):
            payload = None
        assert (response.error is None) == isinstance(content_of(payload), str)

    run_counted(prop)


def test_parse_reply_is_lenient_only_where_nothing_is_lost():
    # raw control characters inside the JSON string (strict JSON refuses them): cleaned, kept
    response, usage_ok = parse_reply(b'{"choices": [{"message": {"content": "a\x1bb\x00\rc"}}]}')
    assert (response.text, response.error, usage_ok) == ("ab\nc", None, True)
    # a token count past Python's 4,300-digit limit: the answer stands, the usage does not
    body = (b'{"choices": [{"message": {"content": "give"}}], "usage": {"prompt_tokens": '
            + b"9" * 5000 + b', "completion_tokens": 2}}')
    response, usage_ok = parse_reply(body)
    assert (response.text, response.error, usage_ok) == ("give", None, False)
    assert (response.tokens_in, response.tokens_out) == (0, 2)
    # nesting past the recursion limit anywhere: the reply is unreadable
    response, _ = parse_reply(b'{"choices": [{"message": {"content": "give"}}], "x": '
                              + b"[" * 5000 + b"]" * 5000 + b"}")
    assert response.error == response.error.strip() and response.text == ""
    assert response.error.startswith("malformed reply, not JSON (RecursionError)")

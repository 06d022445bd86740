"""The tests' stand-in OpenAI-compatible servers: a loopback HTTP server, valid answers."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class _Listening(ThreadingHTTPServer):
    request_queue_size = 256  # the backend opens 32 connections at once
    daemon_threads = True


class LoopbackServer:
    """An HTTP server on a free loopback port, serving `handler` in a thread while entered.

    `url` is its OpenAI-style root (``http://127.0.0.1:PORT/v1``).
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.http = _Listening(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()


def instance(schema: dict[str, Any]) -> Any:
    """A small valid instance of a JSON schema (the shapes Societas questions use)."""
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema or "oneOf" in schema:
        return instance((schema.get("anyOf") or schema["oneOf"])[0])
    kind = schema.get("type")
    if kind == "object":
        return {k: instance(v) for k, v in schema.get("properties", {}).items()}
    if kind in ("number", "integer"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return True
    if kind == "array":
        return [instance(schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
    return "keep what I have"

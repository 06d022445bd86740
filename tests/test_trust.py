"""An untrusted run directory cannot make resume or fork connect anywhere or read a secret.

The run directories are real: a donor-game run configured for ``backend=openai`` (or
``ray_replicas``), played by a scripted stand-in model, whose manifest is then edited the way
an attacker would: ``base_url`` (or a Ray ``address``) pointing at a listener thread on
loopback, ``api_key_env`` naming a variable set in the command's environment. The listener
counts every TCP connection, so "no request" means no connection at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from societas import simulator
from societas.simulator import ConfigError, UntrustedManifest
from societas.simulator._trust import sensitive_settings
from societas.simulator.backends.scripted import build as scripted_build
from tests.conftest import small_run_config

SECRET_VAR = "SOCIETAS_TEST_TRUST_SECRET"
SECRET = "s3cret-value-only-the-listener-may-see-0451"
MODEL = "stand-in"


class Listener:
    """An HTTP server on loopback that records every connection and request it receives."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.connections = 0
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.connected = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self) -> None:
                listener.connections += 1
                listener.connected.set()
                super().setup()

            def _record(self) -> None:
                listener.requests.append((self.command, self.path, dict(self.headers)))

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._record()
                self._reply(200, {"data": [{"id": MODEL}]})

            def do_POST(self) -> None:  # noqa: N802
                self._record()
                self._reply(500, {"error": "a listener, not a model"})

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def authorizations(self) -> list[str]:
        return [headers.get("Authorization", "") for _, _, headers in self.requests]


@pytest.fixture
def listener() -> Iterator[Listener]:
    yield from _serving(Listener())


@pytest.fixture
def ray_listener() -> Iterator[Listener]:
    """A listener on every interface: Ray turns a loopback address into the node's own IP."""
    yield from _serving(Listener("0.0.0.0"))  # noqa: S104 - the test's own listener


def _serving(server: Listener) -> Iterator[Listener]:
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def societas(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("societas")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=240, env={**os.environ, SECRET_VAR: SECRET, "COLUMNS": "120"})


def made_run(tmp_path: Path, backend: dict[str, Any], run_id: str) -> Path:
    """A real run under `tmp_path` whose config names `backend`, played by a stand-in model."""
    config = small_run_config("donor_game", tmp_path / "runs", run_id, backend=backend)
    stand_in = scripted_build(simulator.BackendConfig())
    return simulator.run(config, model_backend=stand_in, progress=False).run_dir


def crafted(run_dir: Path, status: str, **backend: Any) -> Path:
    """Edit `run_dir`'s manifest as an attacker would: other backend settings, another status."""
    path = run_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["config"]["backend"].update(backend)
    manifest["status"] = status
    path.write_text(json.dumps(manifest))
    return run_dir


def openai_run(tmp_path: Path, listener: Listener, status: str, run_id: str = "victim") -> Path:
    run_dir = made_run(tmp_path, {"name": "openai", "base_url": "http://127.0.0.1:9/v1",
                                  "model": MODEL, "constrain": "none", "max_retries": 0},
                       run_id)
    return crafted(run_dir, status, base_url=listener.url, api_key_env=SECRET_VAR)


def assert_refused(done: subprocess.CompletedProcess[str], *paths: str) -> None:
    assert done.returncode != 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("societas: ") and "--trust-manifest" in lines[0], lines[0]
    for path in paths:
        assert f"{path}=" in lines[0], lines[0]
    assert SECRET not in done.stdout + done.stderr


# -- resume and fork refuse, and connect nowhere ---------------------------------------------------
def test_resume_refuses_the_manifests_endpoint_and_secret(tmp_path, listener):
    run_dir = openai_run(tmp_path, listener, "interrupted")
    done = societas("resume", str(run_dir), cwd=tmp_path)
    assert_refused(done, "backend.base_url", "backend.api_key_env")
    assert listener.url in done.stderr and SECRET_VAR in done.stderr  # what the manifest asks
    assert listener.connections == 0 and listener.requests == []
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "interrupted"


def test_fork_refuses_the_manifests_endpoint_and_secret(tmp_path, listener):
    run_dir = openai_run(tmp_path, listener, "completed")
    done = societas("fork", str(run_dir), "--at", "1", "--run-id", "child", cwd=tmp_path)
    assert_refused(done, "backend.base_url", "backend.api_key_env")
    assert listener.connections == 0
    assert not (run_dir.parent / "child").exists()


def test_confirming_the_endpoint_alone_still_refuses_the_secret(tmp_path, listener):
    run_dir = openai_run(tmp_path, listener, "interrupted")
    done = societas("resume", str(run_dir), f"backend.base_url={listener.url}", cwd=tmp_path)
    assert_refused(done, "backend.api_key_env")
    assert "backend.base_url=" not in done.stderr
    assert listener.connections == 0


def test_a_manifest_value_is_shown_safely_on_one_line(tmp_path, listener):
    run_dir = openai_run(tmp_path, listener, "interrupted")
    crafted(run_dir, "interrupted", base_url=f"{listener.url}\n\x1b[2J\x1b]8;;http://x\x07")
    done = societas("resume", str(run_dir), cwd=tmp_path)
    assert_refused(done, "backend.base_url")
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert listener.connections == 0


# -- with the user's say, they connect -------------------------------------------------------------
def test_resume_with_trust_manifest_connects_with_the_key(tmp_path, listener):
    run_dir = openai_run(tmp_path, listener, "interrupted")
    done = societas("resume", str(run_dir), "--trust-manifest", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("GET", "/v1/models") in [(m, p) for m, p, _ in listener.requests]
    assert f"Bearer {SECRET}" in listener.authorizations()
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "completed"


def test_resume_with_the_endpoint_and_variable_confirmed_on_the_command_line(tmp_path, listener):
    run_dir = openai_run(tmp_path, listener, "interrupted")
    done = societas("resume", str(run_dir), f"backend.base_url={listener.url}",
                    f"backend.api_key_env={SECRET_VAR}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert listener.authorizations() and set(listener.authorizations()) == {f"Bearer {SECRET}"}


def test_resume_replacing_the_secret_sends_no_key(tmp_path, listener):
    run_dir = openai_run(tmp_path, listener, "interrupted")
    done = societas("resume", str(run_dir), f"backend.base_url={listener.url}",
                    "backend.api_key_env=null", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert listener.requests and listener.authorizations() == [""] * len(listener.requests)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["config"]["backend"]["api_key_env"] is None  # what the run really used


def test_fork_with_overrides_naming_them_connects(tmp_path, listener):
    run_dir = openai_run(tmp_path, listener, "completed")
    done = societas("fork", str(run_dir), "--at", "1000000", "--run-id", "child",
                    f"backend.base_url={listener.url}", f"backend.api_key_env={SECRET_VAR}",
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"Bearer {SECRET}" in listener.authorizations()


def test_fork_with_trust_manifest_connects(tmp_path, listener):
    run_dir = openai_run(tmp_path, listener, "completed")
    done = societas("fork", str(run_dir), "--at", "1000000", "--run-id", "child",
                    "--trust-manifest", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"Bearer {SECRET}" in listener.authorizations()


# -- replay, show and view read the record only ----------------------------------------------------
def test_replay_show_and_view_never_connect(tmp_path, listener):
    run_dir = openai_run(tmp_path, listener, "completed")
    replayed = societas("replay", str(run_dir), cwd=tmp_path)
    assert replayed.returncode == 0 and "identical" in replayed.stdout, replayed.stderr
    for command in ("show", "view"):
        done = societas(command, str(run_dir), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert listener.connections == 0


# -- Ray addresses ---------------------------------------------------------------------------------
def ray_run(tmp_path: Path, listener: Listener) -> Path:
    run_dir = made_run(tmp_path, {"name": "ray_replicas", "replicas": 1,
                                  "replica": {"name": "scripted"}}, "ray-victim")
    return crafted(run_dir, "interrupted", address=f"127.0.0.1:{listener.port}")


def test_resume_refuses_a_ray_address_from_the_manifest(tmp_path, ray_listener):
    listener = ray_listener
    run_dir = ray_run(tmp_path, listener)
    done = societas("resume", str(run_dir), cwd=tmp_path)
    assert_refused(done, "backend.address")
    assert f"127.0.0.1:{listener.port}" in done.stderr
    assert listener.connections == 0


def test_resume_joins_a_confirmed_ray_address(tmp_path, ray_listener):
    listener = ray_listener
    run_dir = ray_run(tmp_path, listener)
    exe = Path(sys.executable).with_name("societas")
    process = subprocess.Popen([str(exe), "resume", str(run_dir),
                                f"backend.address=127.0.0.1:{listener.port}"], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert listener.connected.wait(timeout=120), "resume never tried the confirmed address"
    finally:
        process.kill()
        process.wait()


# -- the Python API --------------------------------------------------------------------------------
def test_the_python_api_refuses_too_unless_the_caller_chose(tmp_path, listener, monkeypatch):
    monkeypatch.setenv(SECRET_VAR, SECRET)
    run_dir = openai_run(tmp_path, listener, "interrupted")
    with pytest.raises(UntrustedManifest, match=r"backend\.base_url=.*backend\.api_key_env="):
        simulator.resume(run_dir, progress=False)
    with pytest.raises(UntrustedManifest):
        simulator.fork(run_dir, at=1, run_id="child", progress=False)
    with pytest.raises(ConfigError, match=r"^backend\.temperature: resume keeps the run's"):
        simulator.resume(run_dir, backend_overrides={"temperature": 1.5}, progress=False)
    assert listener.connections == 0
    started = time.monotonic()
    own = scripted_build(simulator.BackendConfig())  # a caller's own backend: nothing to trust
    result = simulator.resume(run_dir, model_backend=own, progress=False)
    assert result is not None and listener.connections == 0 and time.monotonic() - started < 60


def test_sensitive_settings_cover_nested_and_declared_endpoints():
    backend = {"name": "ray_replicas", "address": "head:6379",
               "replica": {"name": "openai", "base_url": "http://h/v1", "api_key_env": "K",
                           "model": "m"}}
    assert sensitive_settings(backend) == {
        "backend.address": "head:6379", "backend.replica.base_url": "http://h/v1",
        "backend.replica.api_key_env": "K"}
    assert sensitive_settings({"name": "ray_replicas", "address": "auto"}) == {}
    assert sensitive_settings({"name": "openai", "base_url": "http://h/v1",
                               "api_key_env": None}) == {"backend.base_url": "http://h/v1"}

"""`societas run` with no arguments, and what an interrupted or killed run leaves behind.

Each test runs the real command in a child process with its own process group and a unique tag
in its environment, so every process it starts (vLLM's engine core, the reaper) can be found
afterwards in /proc.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests._inference import run_processes, tagged_env

pytestmark = pytest.mark.model  # each child run answers with the embedded model on vLLM

SOCIETAS = str(Path(sys.executable).with_name("societas"))


def wait_for_no_processes(tag: str, group: int, seconds: float = 20.0) -> dict[int, str]:
    deadline = time.monotonic() + seconds
    while (left := run_processes(tag, group)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def test_default_run_uses_the_embedded_model_and_leaves_no_process(tmp_path):
    env, tag = tagged_env()
    process = subprocess.Popen([SOCIETAS, "run", "scenario.generations=1", "scenario.rounds=2"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    stdout, stderr = process.communicate(timeout=600)
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "tok/s" in done.stderr  # the progress bar shows the model's throughput
    run_dir = next((tmp_path / "runs").iterdir())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["backend"]["model"]["name"] == "vllm"
    assert manifest["backend"]["model"]["model"]["name"] == "smollm2-135m"
    assert manifest["counts"]["fallbacks"] == 0
    assert wait_for_no_processes(tag, process.pid) == {}

    shown = subprocess.run([SOCIETAS, "show", str(run_dir)], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "model prefix cache hit rate" in shown.stdout
    rate = manifest["backend_stats"]["model"]["prefix_cache_hit_rate"]
    assert 0 < rate < 1


def start_run_and_wait_for_the_engine(tmp_path: Path) -> tuple[subprocess.Popen, str, Path]:
    env, tag = tagged_env()
    process = subprocess.Popen([SOCIETAS, "run", "run_id=victim", "scenario.generations=5"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    manifest_path = tmp_path / "runs" / "victim" / "manifest.json"
    deadline = time.monotonic() + 300
    while True:  # the manifest names the backend once the engine has started
        assert process.poll() is None, process.communicate()[1][-3000:]
        if manifest_path.exists() and "backend" in json.loads(manifest_path.read_text()):
            break
        assert time.monotonic() < deadline, "the engine did not start within 300 s"
        time.sleep(0.5)
    time.sleep(2)  # let the first batch start
    commands = run_processes(tag, process.pid).values()
    assert any("EngineCore" in c for c in commands), f"no vLLM engine core among {commands}"
    assert any("_WATCHDOG" in c or "targets = {}" in c for c in commands), "no reaper"
    return process, tag, manifest_path


def test_ctrl_c_stops_the_run_and_its_engine(tmp_path):
    process, tag, manifest_path = start_run_and_wait_for_the_engine(tmp_path)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert "interrupted" in stderr
    assert json.loads(manifest_path.read_text())["status"] == "interrupted"
    assert wait_for_no_processes(tag, process.pid) == {}


def test_a_killed_run_leaves_no_engine_behind(tmp_path):
    process, tag, _ = start_run_and_wait_for_the_engine(tmp_path)
    process.kill()  # SIGKILL: no cleanup code runs in the killed process (SIGTERM is the same)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert wait_for_no_processes(tag, process.pid) == {}

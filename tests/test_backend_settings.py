"""Backends declare their settings: unknown keys, `_target_` and pasted keys fail at config time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from societas.simulator import ConfigError, compose_config
from societas.simulator._registry import _BACKENDS, _SETTINGS, backend_settings, register_backend
from societas.simulator._setup import plan_run
from societas.simulator.backends import ScriptedBackend
from societas.simulator.backends.openai import OpenAIOptions

CONF = Path(__file__).resolve().parents[1] / "scenarios" / "conf" / "backend"
BACKENDS = sorted(p.stem for p in CONF.glob("*.yaml"))
#: What each backend's YAML leaves unset (`???`) and a run must give.
REQUIRED = {"openai": ["backend.base_url=http://127.0.0.1:9/v1", "backend.model=m"]}

#: Keys in the formats that leak most often, each accepted by Hydra as an override value.
KEYS = [
    "sk-proj-Zq3xT9aLm2Pw8Rk4Vn6Bc1Hd5Jf7Gs0Y",
    "sk_live_51HqLmZq3xT9aLm2Pw8Rk4Vn6Bc1Hd5Jf",
    "ghp_Zq3xT9aLm2Pw8Rk4Vn6Bc1Hd5Jf7Gs0Yabcd",
    "gho_Zq3xT9aLm2Pw8Rk4Vn6Bc1Hd5Jf7Gs0Yabcd",
    "hf_Zq3xT9aLm2Pw8Rk4Vn6Bc1Hd5Jf7Gs0Yab",
    "xoxb-1234567890-0987654321-Zq3xT9aLm2Pw8Rk4",
    "AKIAIOSFODNN7EXAMPLE",
    "glpat-Zq3xT9aLm2Pw8Rk4Vn6B",
    "Zq3xT9aLm2Pw8Rk4Vn6Bc1Hd5Jf7Gs0Y",  # no prefix: long, mixed case and digits
]
NOT_NAMES = ["1ABC", "A B", "A-B", "$HOME", "A=B", "Ä_KEY", "", "A" * 129, "KEY\x1b[2J"]
NAMES = ["OPENAI_API_KEY", "HF_TOKEN", "my_key", "_X", "GROQ_API_KEY_2", "A" * 128]


def planned(*overrides: str):
    return plan_run(compose_config(["scenario=donor_game", *overrides]))


@pytest.mark.parametrize("name", BACKENDS)
def test_every_backend_yaml_validates_as_shipped(name):
    plan = planned(f"backend={name}", *REQUIRED.get(name, []))
    assert plan.config.backend.name == name
    assert backend_settings(name) is not None or name == "scripted"


@pytest.mark.parametrize("name", BACKENDS)
def test_an_unknown_key_names_the_key_the_backend_and_the_allowed_keys(name):
    with pytest.raises(ConfigError) as caught:
        planned(f"backend={name}", *REQUIRED.get(name, []), "+backend.temprature=0.5")
    message = str(caught.value)
    assert message.startswith(f"backend.temprature: unknown key for backend '{name}'; "
                              "allowed keys here: name, max_batch, temperature, top_p, max_tokens")
    declared = backend_settings(name)
    assert all(key in message for key in (declared.model_fields if declared else ()))


@pytest.mark.parametrize("name", BACKENDS)
def test_target_is_refused_with_its_key_path(name):
    with pytest.raises(ConfigError, match=r"^backend\._target_: a config never names code"):
        planned(f"backend={name}", *REQUIRED.get(name, []), "+backend._target_=os.system")


def test_a_nested_replica_config_is_checked_too():
    for key, message in [("+backend.replica.bse_url=x", r"^backend\.replica\.bse_url: unknown "
                          r"key for backend 'scripted'"),
                         ("+backend.replica._target_=os.system", r"^backend\.replica\._target_:"),
                         ("backend.replica.name=nope",
                          r"^backend\.replica\.name: unknown backend")]:
        with pytest.raises(ConfigError, match=message):
            planned("backend=ray_replicas", key)


def test_values_are_checked_at_config_time_not_when_the_backend_starts():
    with pytest.raises(ConfigError, match=r"^backend\.dtype: .*float8"):
        planned("backend=vllm", "backend.dtype=float8")
    with pytest.raises(ConfigError, match=r"^backend\.base_url: .*http"):
        planned("backend=openai", "backend.base_url=ftp://x", "backend.model=m")
    with pytest.raises(ConfigError, match=r"^backend\.replicas: "):
        planned("backend=ray_replicas", "backend.replicas=0")


def test_a_backend_registered_without_settings_takes_only_the_common_keys():
    register_backend("plain_for_test", lambda config: ScriptedBackend(lambda r: "x"))
    try:
        plan_run({"scenario": {"name": "donor_game"},
                  "backend": {"name": "plain_for_test", "temperature": 0.1}})
        with pytest.raises(ConfigError, match=r"^backend\.model: unknown key for backend "
                           r"'plain_for_test'; allowed keys here: name, max_batch"):
            planned("backend=plain_for_test", "+backend.model=x")
    finally:
        _BACKENDS.pop("plain_for_test"), _SETTINGS.pop("plain_for_test")


def test_a_backend_declaring_settings_gets_exactly_those():
    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        voice: str = "calm"

    register_backend("voiced_for_test", lambda config: ScriptedBackend(lambda r: "x"),
                     settings=Settings)
    try:
        planned("backend=voiced_for_test", "+backend.voice=loud")
        with pytest.raises(ConfigError, match=r"^backend\.voise: .*allowed keys here: name, "
                           r"max_batch, temperature, top_p, max_tokens, voice$"):
            planned("backend=voiced_for_test", "+backend.voise=loud")
    finally:
        _BACKENDS.pop("voiced_for_test"), _SETTINGS.pop("voiced_for_test")


@pytest.mark.parametrize("key", KEYS + NOT_NAMES)
def test_an_api_key_env_that_is_no_variable_name_is_refused_without_echo(key):
    config = compose_config(["scenario=donor_game", "backend=openai", *REQUIRED["openai"]])
    config["backend"]["api_key_env"] = key
    with pytest.raises(ConfigError) as caught:
        plan_run(config)
    assert str(caught.value).startswith("backend.api_key_env: ")
    assert "not shown" in str(caught.value)
    if key:
        assert key not in str(caught.value) and repr(key) not in str(caught.value)
    with pytest.raises(ValidationError) as direct:  # nor when the options are built directly
        OpenAIOptions(base_url="http://127.0.0.1:9/v1", model="m", api_key_env=key)
    assert not key or key not in str(direct.value)


@pytest.mark.parametrize("name", NAMES)
def test_an_environment_variable_name_is_accepted(name):
    plan = planned("backend=openai", *REQUIRED["openai"], f"backend.api_key_env={name}")
    assert plan.config.backend.model_dump()["api_key_env"] == name


@pytest.mark.parametrize("show", [False, True], ids=["run", "show-config"])
def test_a_pasted_key_is_never_printed_nor_written(tmp_path, show):
    key = KEYS[0]
    exe = Path(sys.executable).with_name("societas")
    args = ["run", "scenario=donor_game", "backend=openai", *REQUIRED["openai"],
            f"backend.api_key_env={key}", f"out_dir={tmp_path / 'runs'}", "progress=false",
            *(["--show-config"] if show else [])]
    done = subprocess.run([str(exe), *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "120"})
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert "backend.api_key_env" in done.stderr and "Traceback" not in done.stderr
    assert key not in done.stdout + done.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not any(key.encode() in p.read_bytes() for p in written), written


def test_an_unknown_backend_key_on_the_command_line_is_one_line(tmp_path):
    exe = Path(sys.executable).with_name("societas")
    done = subprocess.run([str(exe), "run", "scenario=donor_game", "backend=scripted",
                           "+backend.temprature=0.5", f"out_dir={tmp_path}"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "backend.temprature: unknown key for backend 'scripted'" in done.stderr
    assert not list(tmp_path.iterdir())  # refused before anything was written

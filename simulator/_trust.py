"""What `resume` and `fork` may take from a manifest: never where to connect or which secret.

A run directory may come from anyone (a colleague, a download), and its manifest's config says
which server to call and which environment variable holds the key. The trust-sensitive
settings of a backend config are its endpoints (``base_url``, a Ray ``address``, and any
setting a backend marks with `ENDPOINT`) and its secrets (``api_key_env``, or marked
`SECRET`), nested backend configs (marked `NESTED`, e.g. ``backend.replica``) included. Before
anything is built, each one with a value must be confirmed by the user: given on the command
line (an override naming it, or a value differing from the manifest's), or covered by an
explicit ``--trust-manifest``. Otherwise `UntrustedManifest` says, in one line, what the
manifest asks and how to confirm it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from societas.simulator._backend_fields import ENDPOINT, NESTED, SECRET
from societas.simulator._errors import ConfigError, UntrustedManifest
from societas.simulator._registry import backend_settings

#: Settings trusted by name in any backend config, declared or not.
SENSITIVE_NAMES = frozenset({"base_url", "address", "api_key_env"})
#: Values that connect nowhere beyond this machine's own defaults.
_LOCAL = (None, "", "auto")


def shown(value: Any, limit: int = 120) -> str:
    """`value` as a safe one-line ASCII repr, cut at `limit` characters."""
    text = ascii(value)
    return text if len(text) <= limit else f"{text[:limit]}...'"


def sensitive_settings(backend: Mapping[str, Any], prefix: str = "backend") -> dict[str, Any]:
    """Each trust-sensitive setting of a backend config with a non-local value, by key path."""
    settings = backend_settings(str(backend.get("name", "scripted")))
    fields = settings.model_fields if settings is not None else {}
    found: dict[str, Any] = {}
    for key, value in backend.items():
        extra = getattr(fields.get(key), "json_schema_extra", None) or {}
        trust = extra.get("trust") if isinstance(extra, Mapping) else None
        if trust == NESTED["trust"] or (isinstance(value, Mapping) and trust is None):
            if isinstance(value, Mapping):
                found.update(sensitive_settings(value, f"{prefix}.{key}"))
        elif (trust is not None or key in SENSITIVE_NAMES) and value not in _LOCAL:
            found[f"{prefix}.{key}"] = value
    return found


def _at(config: Mapping[str, Any], path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def override_keys(overrides: Iterable[str]) -> set[str]:
    """The key paths that command-line overrides (``+key=value``, ``key=value``) set."""
    return {o.partition("=")[0].lstrip("+~") for o in overrides}


def check_trust(run_dir: Path, recorded: Mapping[str, Any], used: Mapping[str, Any],
                confirmed: Iterable[str], *, command: str) -> None:
    """Refuse the manifest's endpoints and secrets that the user did not confirm.

    A sensitive setting of `used` (the config about to run) is confirmed when its key path is
    in `confirmed` or its value differs from `recorded` (the manifest's config): either way the
    user, not the manifest, chose it.

    Raises:
        UntrustedManifest: naming each unconfirmed setting and how to confirm it.
    """
    said = set(confirmed)
    asks = {path: value for path, value in sensitive_settings(used.get("backend") or {}).items()
            if path not in said and _at(recorded, path) == value}
    if not asks:
        return
    what = ", ".join(f"{path}={shown(value)}" for path, value in asks.items())
    how = " ".join(f"{path}=..." for path in asks)
    raise UntrustedManifest(
        f"{shown(str(run_dir / 'manifest.json'))} asks {command} to use {what}, which you did "
        f"not confirm; give them on the command line (societas {command} RUN_DIR {how}) or pass "
        "--trust-manifest (Python: trust_manifest=True) if you trust whoever wrote this run")


def parse_confirmations(tokens: Sequence[str]) -> dict[str, Any]:
    """``backend.KEY=VALUE`` command-line tokens as `resume`'s ``backend_overrides``.

    Values stay strings (``null`` or empty: None), so an address is never read as a number.
    """
    found: dict[str, Any] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        key = key.lstrip("+")
        if not sep or not key.startswith("backend."):
            raise ConfigError(key or token, "resume takes only backend endpoints and "
                              "api_key_env (backend.KEY=VALUE); use fork to change a run")
        found[key.removeprefix("backend.")] = None if value in ("", "null", "~") else value
    return found


def confirm_resume(run_dir: Path, config: Mapping[str, Any],
                   backend_overrides: Mapping[str, Any] | None, *, trusted: bool
                   ) -> dict[str, Any]:
    """The config `resume` continues with: the manifest's, with confirmed endpoints replaced.

    `backend_overrides` maps key paths under ``backend`` (``base_url``, ``replica.address``) to
    the user's values; only trust-sensitive settings may be replaced on resume.

    Raises:
        ConfigError: an override names a setting resume cannot change.
        UntrustedManifest: an endpoint or secret is neither confirmed nor `trusted`.
    """
    result = copy.deepcopy(dict(config))
    backend = result.setdefault("backend", {})
    for key, value in (backend_overrides or {}).items():
        path = key.removeprefix("backend.")
        leaf = path.rpartition(".")[2]
        if leaf not in SENSITIVE_NAMES and not _declared_sensitive(backend, path):
            raise ConfigError(f"backend.{path}", "resume keeps the run's config; only endpoints "
                              "and api_key_env may be given (use fork to change anything else)")
        node = backend
        for part in path.split(".")[:-1]:
            node = node.setdefault(part, {})
        node[leaf] = value
    if not trusted:
        keys = {f"backend.{k.removeprefix('backend.')}" for k in backend_overrides or {}}
        check_trust(run_dir, config, result, keys, command="resume")
    return result


def _declared_sensitive(backend: Mapping[str, Any], path: str) -> bool:
    """Whether a backend's settings mark the setting at `path` as an endpoint or a secret."""
    head, _, rest = path.partition(".")
    settings = backend_settings(str(backend.get("name", "scripted")))
    field = settings.model_fields.get(head) if settings is not None else None
    extra = getattr(field, "json_schema_extra", None) or {}
    trust = extra.get("trust") if isinstance(extra, Mapping) else None
    if rest:
        nested = backend.get(head)
        return trust == NESTED["trust"] and isinstance(nested, Mapping) and \
            _declared_sensitive(nested, rest)
    return trust in (ENDPOINT["trust"], SECRET["trust"])

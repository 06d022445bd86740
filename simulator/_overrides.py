"""Applying command-line overrides to a recorded config (for fork)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from societas.simulator._errors import ConfigError

GROUPS = ("scenario", "backend", "population", "graph")


def apply_overrides(config: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """`config` with Hydra-style overrides applied.

    ``key.path=value`` sets a value (YAML-typed), ``+key.path=value`` adds one, and
    ``group=option`` for a config group (``backend=vllm``) swaps in that option's YAML from the
    config tree.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    result = copy.deepcopy(config)
    dotted = []
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep:
            raise ConfigError(override, "an override is key=value")
        key = key.lstrip("+")
        if key in GROUPS and not value.startswith(("{", "[")):
            result[key] = _group_option(key, value)
        else:
            dotted.append(f"{key}={value}")
    try:
        merged = OmegaConf.merge(OmegaConf.create(result), OmegaConf.from_dotlist(dotted))
    except OmegaConfBaseException as err:
        raise ConfigError("", " ".join(str(err).split())) from None
    out = OmegaConf.to_container(merged, resolve=True)
    assert isinstance(out, dict)
    return {str(k): v for k, v in out.items()}


def _group_option(group: str, option: str) -> dict[str, Any]:
    from societas.simulator.cli import compose_config

    return compose_config([f"{group}={option}"])[group]

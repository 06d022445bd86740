"""Applying command-line overrides to a recorded config (for fork)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from societas.simulator._compose import config_groups, group_option
from societas.simulator._errors import ConfigError


def apply_overrides(config: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """`config` with Hydra-style overrides applied.

    ``key.path=value`` sets a value (YAML-typed), ``+key.path=value`` adds one, and
    ``group=option`` for a config group (``backend=vllm``) swaps in that option's YAML from the
    config tree (registered components included, as in `compose_config`).
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
        if key in config_groups() and not value.startswith(("{", "[")):
            result[key] = group_option(key, value)
        else:
            dotted.append(f"{key}={value}")
    try:
        merged = OmegaConf.merge(OmegaConf.create(result), OmegaConf.from_dotlist(dotted))
    except OmegaConfBaseException as err:
        raise ConfigError("", " ".join(str(err).split())) from None
    out = OmegaConf.to_container(merged, resolve=True)
    assert isinstance(out, dict)
    return {str(k): v for k, v in out.items()}


"""Marks a backend's settings model puts on its fields, and the check of a secret's name.

`simulator._registry` reads `NESTED` to check nested backend configs, `simulator._trust` reads
`ENDPOINT` and `SECRET` to decide what `resume` and `fork` must have confirmed; a backend's
settings model (``backend=openai``'s `OpenAIOptions`) uses `check_env_name` so that a key
pasted where an environment variable's name belongs is refused and never echoed.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic_core import PydanticCustomError

ENDPOINT: dict[str, Any] = {"trust": "endpoint"}
"""``Field(json_schema_extra=ENDPOINT)``: the setting names somewhere to connect."""
SECRET: dict[str, Any] = {"trust": "secret"}
"""``Field(json_schema_extra=SECRET)``: the setting names where a secret is read from."""
NESTED: dict[str, Any] = {"trust": "backend"}
"""``Field(json_schema_extra=NESTED)``: the setting is itself a backend config."""

NO_ECHO = "value_not_shown"
"""The pydantic error type whose input `format_validation_error` never echoes (a secret)."""

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_NAME_MAX = 128
_KEY_PREFIXES = ("sk-", "sk_", "ghp_", "gho_", "ghs_", "github_pat_", "hf_", "xox", "AKIA",
                 "ASIA", "glpat-", "AIza")


def looks_like_key(value: str) -> bool:
    """Whether `value` looks like a pasted API key rather than an environment variable name."""
    if value.startswith(_KEY_PREFIXES) and len(value) >= 12:
        return True
    kinds = sum(any(test(c) for c in value) for test in (str.islower, str.isupper, str.isdigit))
    return len(value) >= 24 and kinds == 3


def check_env_name(value: str | None) -> str | None:
    """`value` if it is an environment variable name; never echoes it when it is not.

    Raises:
        PydanticCustomError: of type `NO_ECHO`, for a pydantic field validator.
    """
    if value is None:
        return None
    if looks_like_key(value):
        raise PydanticCustomError(NO_ECHO, "looks like a secret key, not the name of an "
                                  "environment variable (the value is not shown); put the key in "
                                  "an environment variable and name that variable here")
    if len(value) > _ENV_NAME_MAX or not _ENV_NAME.fullmatch(value):
        raise PydanticCustomError(NO_ECHO, "must name an environment variable "
                                  "([A-Za-z_][A-Za-z0-9_]*, at most {limit} characters; the "
                                  "value is not shown)", {"limit": _ENV_NAME_MAX})
    return value

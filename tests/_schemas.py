"""Valid answers for JSON schemas, for the tests' stand-in OpenAI-compatible servers."""

from __future__ import annotations

from typing import Any


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

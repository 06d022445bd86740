"""Prompt rendering: the shared prefix first, byte-identical across agents; the question last."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from societas.simulator.scenario import Choice, Form, Question


def format_instructions(question: Question[Any]) -> str:
    """How to write the answer, derived from the question's shape."""
    if isinstance(question, Choice) and not question.reasoning:
        return "Reply with exactly one of: " + ", ".join(question.labels) + "."
    fields: dict[str, str] = {}
    if question.reasoning:
        fields["reasoning"] = '"<one or two sentences>"'
    if isinstance(question, Form):
        schema = question.answer_schema()
        for name, prop in schema["properties"].items():
            fields[name] = _describe(prop)
    else:
        fields[question.json_answer_key] = _describe(question.answer_schema())
    body = ", ".join(f'"{name}": {value}' for name, value in fields.items())
    return f"Reply with a JSON object only: {{{body}}}"


def _describe(prop: Mapping[str, Any]) -> str:
    if "enum" in prop:
        return "<one of " + ", ".join(json.dumps(v) for v in prop["enum"]) + ">"
    if "const" in prop:
        return json.dumps(prop["const"])
    kind = prop.get("type")
    if kind in ("number", "integer"):
        noun = "a whole number" if kind == "integer" else "a number"
        if "minimum" in prop and "maximum" in prop:
            return f"<{noun} from {prop['minimum']:g} to {prop['maximum']:g}>"
        return f"<{noun}>"
    if kind == "string":
        return f'"<{prop.get("description", "text")}>"'
    if kind == "boolean":
        return "<true or false>"
    return "<value>"


def render_persona(persona: Mapping[str, Any]) -> str:
    """A persona record as prompt lines (empty when there is none)."""
    if not persona:
        return ""
    lines = [f"- {key}: {value}" for key, value in persona.items()]
    return "Your persona:\n" + "\n".join(lines)


def render_memory(entries: Iterable[str]) -> str:
    """Remembered entries as prompt lines (empty when there are none)."""
    entries = list(entries)
    if not entries:
        return ""
    return "What you remember:\n" + "\n".join(f"- {e}" for e in entries)


def question_message(question: Question[Any], memory: Iterable[str]) -> str:
    """The user turn: memory, the question, then the answer format."""
    parts = [render_memory(memory), question.prompt_text(), format_instructions(question)]
    return "\n\n".join(p for p in parts if p)


def repair_message(error: str) -> str:
    """The user turn sent after a malformed answer."""
    return f"That reply was not valid: {error}. Reply again, in exactly the required format."



"""A question's constraint in the forms inference servers accept."""

from __future__ import annotations

from typing import Any

from societas.simulator._questions import Choice, Question


def structured_outputs(question: Question[Any]) -> dict[str, Any]:
    """The ``structured_outputs`` fields of vLLM: ``{"choice": [...]}`` or ``{"json": schema}``.

    Whitespace between JSON tokens is an engine setting in vLLM 0.32
    (``structured_outputs_config.disable_any_whitespace``; the per-request field is ignored), so
    it is set where the engine starts, not here.
    """
    constraint = question.constraint()
    if constraint.choice is not None:
        return {"choice": list(constraint.choice)}
    return {"json": constraint.json_schema}


def json_schema(question: Question[Any]) -> dict[str, Any]:
    """A JSON schema for every shape; a bare choice becomes ``{"answer": <one of the options>}``.

    Servers that only understand OpenAI's ``response_format`` cannot constrain a bare string, and
    `Choice.parse` accepts the wrapped form too.
    """
    constraint = question.constraint()
    if constraint.json_schema is not None:
        return constraint.json_schema
    assert isinstance(question, Choice)
    key = question.json_answer_key
    return {"type": "object", "properties": {key: question.answer_schema()},
            "required": [key], "additionalProperties": False}


def response_format(question: Question[Any]) -> dict[str, Any]:
    """OpenAI's ``response_format`` with a strict JSON schema named after the question."""
    return {"type": "json_schema",
            "json_schema": {"name": question.name or "answer", "strict": True,
                            "schema": json_schema(question)}}

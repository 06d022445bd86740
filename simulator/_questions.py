r"""Questions: an instruction plus the shape of a valid answer.

A question's shape does four jobs, so that none of them is written twice:

* it validates a model's raw text into a typed answer (`parse`),
* it derives the constraint for structured decoding (`constraint`),
* it writes the canonical raw text of an answer (`encode`), which scripted strategies use so their
  answers travel the same parse path as a model's,
* it samples a uniformly random valid answer (`sample`), the `random` baseline and the fallback.

Shapes: `Choice` (one of fixed options), `Number` (bounded), `Text` (free text with a word and a
character limit) and `Form` (any pydantic model, with optional per-question bounds on numbers and
text length). Text decodes as plain characters (no emoji or escapes), so its length bounds
decoding.

Model text is hostile: `parse` and `from_json` return a valid answer or raise `AnswerError`,
whatever the text (digits beyond Python's int limit, nesting deeper than the recursion limit,
wrong types); any other exception inside them becomes an `AnswerError` naming it, which the
engine counts as an invalid answer. Strings decoded from JSON escapes (``"\\ud800"``,
``"\\u001b"``) are cleaned by the rule of `societas.simulator._text`, as the raw text was, and so
are the strings a `Text` or `Form` answer holds however they came (`parse` or `from_json`).
"""

from __future__ import annotations

import json
import math
import re
import types
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Generic, Literal, TypeVar, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ValidationError

from societas.simulator._text import clean_model_text, is_clean

A = TypeVar("A")
M = TypeVar("M", bound=BaseModel)

REASONING_MAX_CHARS = 600
"""Upper bound on the `reasoning` field's length, so that decoding always terminates."""

_NOT_PLAIN_TEXT = ("\x01-\x1f\x7f-\x9f\"\\\\\u200b-\u200f\u2028-\u202e\u2060-\u206f"
                   "\u2190-\u2bff\ue000-\uf8ff\ufe00-\ufe0f\ufff0-\uffff\U00010000-\U0010ffff")
"""Characters a model may not decode into a text field: control characters, double quotes and
backslashes (so no JSON escapes), zero-width and direction marks, arrows, symbols and dingbats,
private use, variation selectors, and everything beyond the Basic Multilingual Plane (emoji).
Letters, digits and punctuation of every script remain. A small model caught in a loop of emoji
or escapes spends several tokens per character: a length bound alone would not end decoding
before `max_tokens` cut the JSON short."""


def text_schema(low: float, high: float) -> dict[str, Any]:
    """JSON schema of a string of `low` to `high` plain characters (see `_NOT_PLAIN_TEXT`).

    The pattern carries the length: xgrammar ignores minLength/maxLength beside a pattern.
    Parsing checks the length only, so an unconstrained backend's emoji are still accepted.
    The description (about 8 characters a word) is what prompts show the model.
    """
    return {"type": "string", "description": f"text, at most {max(1, int(high) // 8)} words",
            "pattern": f"^[^{_NOT_PLAIN_TEXT}]{{{int(low)},{int(high)}}}$"}


def _reasoning_schema() -> dict[str, Any]:
    return text_schema(0, REASONING_MAX_CHARS)


class AnswerError(ValueError):
    """A raw answer does not fit the question's shape; the message says what was wrong.

    The message is cleaned like model text (it may quote the answer), so logging it cannot fail.
    """

    def __init__(self, message: str) -> None:
        super().__init__(clean_model_text(message))


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""Sentinel: no fallback given, so the engine falls back to a seeded random valid answer."""


@dataclass(frozen=True, slots=True)
class Constraint:
    """What structured decoding must enforce: exactly one of a choice list or a JSON schema."""

    choice: tuple[str, ...] | None = None
    json_schema: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if (self.choice is None) == (self.json_schema is None):
            raise ValueError("a Constraint needs exactly one of `choice` or `json_schema`")


@dataclass(frozen=True, kw_only=True)
class Question(Generic[A]):
    """An instruction to one agent and the shape its answer must have.

    Args:
        name: the rulebook verb this question asks for (``"vote"``, ``"donate"``); it names the
            prompt template, the scripted strategy's branch and the log rows.
        prompt: the question text shown to a model, or a function rendering it (called only
            when a model is asked, so scripted agents never pay for rendering).
        view: a typed view of what the agent knows when asked (a pydantic model or dataclass);
            scripted strategies read it, models see it through `prompt`.
        reasoning: ask for a short ``reasoning`` string before the answer (JSON shapes only).
        fallback: the answer used when every attempt was malformed; `UNSET` means a seeded random
            valid answer.
    """

    name: str
    prompt: str | Callable[[], str]
    view: Any = None
    reasoning: bool = False
    fallback: Any = UNSET

    json_answer_key: ClassVar[str] = "answer"

    def prompt_text(self) -> str:
        """The question text (rendered on first use when `prompt` is a function)."""
        if isinstance(self.prompt, str):
            return self.prompt
        text = self.prompt()
        object.__setattr__(self, "prompt", text)
        return text

    # -- what every shape provides -------------------------------------------------------------
    def answer_schema(self) -> dict[str, Any]:
        """JSON schema of the answer value itself (without the reasoning wrapper)."""
        raise NotImplementedError

    def check(self, value: Any) -> A:
        """Validate a decoded JSON value into a typed answer, or raise `AnswerError`."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> A:
        """A uniformly random valid answer."""
        raise NotImplementedError

    def to_json(self, answer: A) -> Any:
        """The answer as a JSON-compatible value (for logs and replay)."""
        return answer

    def from_json(self, value: Any) -> A:
        """Inverse of `to_json`; raises only `AnswerError` for a value that does not fit."""
        try:
            return self.check(value)
        except AnswerError:
            raise
        except Exception as err:  # noqa: BLE001 - any failure of a hostile value is an answer error
            raise _unexpected(err) from None

    # -- shared machinery ----------------------------------------------------------------------
    def constraint(self) -> Constraint:
        """The structured-decoding constraint derived from the shape."""
        return Constraint(json_schema=self._wrapped_schema())

    def _wrapped_schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        if self.reasoning:
            properties["reasoning"] = _reasoning_schema()
        properties[self.json_answer_key] = self.answer_schema()
        return {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }

    def parse(self, text: str) -> A:
        """Validate a model's raw text into a typed answer, or raise `AnswerError` (only that)."""
        try:
            return self._parse(text)
        except AnswerError:
            raise
        except Exception as err:  # noqa: BLE001 - any failure on hostile text is an answer error
            raise _unexpected(err) from None

    def _parse(self, text: str) -> A:
        """What `parse` does for this shape; it may raise anything, `parse` converts it."""
        obj = _load_json_object(text)
        if self.json_answer_key not in obj:
            raise AnswerError(f"missing key {self.json_answer_key!r} in {_clip(text)}")
        return self.check(obj[self.json_answer_key])

    def encode(self, answer: A) -> str:
        """Canonical raw text of a valid answer (what a perfectly obedient model would write)."""
        obj: dict[str, Any] = {}
        if self.reasoning:
            obj["reasoning"] = ""
        obj[self.json_answer_key] = self.to_json(answer)
        return json.dumps(obj, ensure_ascii=False)

    def fallback_answer(self, rng: np.random.Generator) -> A:
        """The answer used after the last malformed attempt."""
        return self.sample(rng) if self.fallback is UNSET else self.fallback


@dataclass(frozen=True, kw_only=True)
class Choice(Question[Any]):
    """Choose exactly one of `options` (strings, ints or other hashables shown by `str()`)."""

    options: Sequence[Hashable]
    _labels: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.options:
            raise ValueError(f"Choice {self.name!r} has no options")
        labels = {str(o): o for o in self.options}
        if len(labels) != len(self.options):
            raise ValueError(f"Choice {self.name!r} has options with the same label: "
                             f"{self.options}")
        object.__setattr__(self, "options", tuple(self.options))
        object.__setattr__(self, "_labels", labels)

    @property
    def labels(self) -> tuple[str, ...]:
        """The options as shown to a model."""
        return tuple(self._labels)

    def answer_schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self._labels)}

    def constraint(self) -> Constraint:
        if self.reasoning:
            return super().constraint()
        return Constraint(choice=self.labels)

    def check(self, value: Any) -> Any:
        label = str(value).strip()
        if label in self._labels:
            return self._labels[label]
        raise AnswerError(f"{_clip(label)} is not one of {list(self._labels)}")

    def _parse(self, text: str) -> Any:
        if self.reasoning:
            return super()._parse(text)
        stripped = text.strip().strip("\"'").strip()
        if stripped in self._labels:
            return self._labels[stripped]
        if stripped.startswith("{"):
            return super()._parse(stripped)
        raise AnswerError(f"{_clip(text)} is not one of {list(self._labels)}")

    def encode(self, answer: Any) -> str:
        return super().encode(answer) if self.reasoning else str(answer)

    def to_json(self, answer: Any) -> Any:
        return str(answer)

    def sample(self, rng: np.random.Generator) -> Any:
        return self.options[int(rng.integers(len(self.options)))]


@dataclass(frozen=True, kw_only=True)
class Number(Question[float]):
    """A number in ``[low, high]``; integers only when `integer` is set."""

    low: float
    high: float
    integer: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ValueError(f"Number {self.name!r} needs finite low <= high, got "
                             f"[{self.low}, {self.high}]")
        if self.integer and math.ceil(self.low) > math.floor(self.high):
            raise ValueError(f"Number {self.name!r} has no integer in [{self.low}, {self.high}]")

    def answer_schema(self) -> dict[str, Any]:
        if self.integer:
            return {"type": "integer", "minimum": math.ceil(self.low),
                    "maximum": math.floor(self.high)}
        return {"type": "number", "minimum": self.low, "maximum": self.high}

    def check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise AnswerError(f"expected a number, got {_clip(repr(value))}")
        try:
            number = float(value)
        except (ValueError, OverflowError):  # OverflowError: an int beyond a float's range
            raise AnswerError(f"expected a number, got {_clip(repr(value))}") from None
        if not math.isfinite(number):
            raise AnswerError(f"expected a finite number, got {_clip(repr(value))}")
        if self.integer:
            if number != int(number):
                raise AnswerError(f"expected a whole number, got {_clip(repr(value))}")
            number = int(number)
        if not self.low <= number <= self.high:
            raise AnswerError(f"{_clip(repr(value))} is outside [{self.low:g}, {self.high:g}]")
        return number

    def _parse(self, text: str) -> float:
        stripped = text.strip()
        if stripped and not stripped.startswith("{"):
            return self.check(stripped)
        return super()._parse(text)

    def sample(self, rng: np.random.Generator) -> float:
        if self.integer:
            return int(rng.integers(math.ceil(self.low), math.floor(self.high) + 1))
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True, kw_only=True)
class Text(Question[str]):
    """Free text of at most `max_words` words and `max_chars` characters.

    The rule: an answer longer than `max_words` words is cut to its first `max_words` words
    (joined by single spaces); if what remains is longer than `max_chars` characters the answer
    is refused (an `AnswerError`, counted as an invalid answer), never cut mid-word. `max_chars`
    defaults to ``CHARS_PER_WORD * max_words``, the bound structured decoding enforces, so a
    constrained and an unconstrained backend accept the same answers; a 20,000-character
    "word" is refused.
    """

    max_words: int = 100
    max_chars: int | None = None
    """Character bound after the word cut; None: ``CHARS_PER_WORD * max_words``."""

    CHARS_PER_WORD: ClassVar[int] = 8
    """About 8 characters a word bounds decoding without cutting normal prose."""

    def __post_init__(self) -> None:
        if self.max_words < 1:
            raise ValueError(f"Text {self.name!r} needs max_words >= 1, got {self.max_words}")
        if self.max_chars is not None and self.max_chars < 1:
            raise ValueError(f"Text {self.name!r} needs max_chars >= 1, got {self.max_chars}")

    @property
    def char_limit(self) -> int:
        """The character bound in force (`max_chars`, or its default from `max_words`)."""
        return self.CHARS_PER_WORD * self.max_words if self.max_chars is None else self.max_chars

    def answer_schema(self) -> dict[str, Any]:
        return text_schema(1, self.char_limit)

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise AnswerError(f"expected text, got {_clip(repr(value))}")
        value = clean_model_text(value)  # from_json's values too obey the rule for model text
        words = value.split()
        if not words:
            raise AnswerError("the answer is empty")
        text = " ".join(words[: self.max_words]) if len(words) > self.max_words else value.strip()
        if len(text) > self.char_limit:
            raise AnswerError(f"the answer has {len(text)} characters, more than "
                              f"{self.char_limit}: {_clip(text)}")
        return text

    def sample(self, rng: np.random.Generator) -> str:
        n = int(rng.integers(1, min(self.max_words, 12) + 1))
        return " ".join(_FILLER[int(i)] for i in rng.integers(len(_FILLER), size=n))


@dataclass(frozen=True, kw_only=True)
class Form(Question[M]):
    """An answer with the fields of a pydantic `model`.

    `limits` bounds fields for this question only: a number by value
    (``{"amount": (0, resources)}``), a string by its length in characters
    (``{"say": (1, 300)}``, which also bounds how long decoding can run). The bounds enter the
    JSON schema for decoding and are checked on parse.
    """

    model: type[M]
    limits: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.limits) - set(self.model.model_fields)
        if unknown:
            raise ValueError(f"Form {self.name!r}: limits name unknown fields {sorted(unknown)}")

    def answer_schema(self) -> dict[str, Any]:
        schema = self.model.model_json_schema()
        for name, (low, high) in self.limits.items():
            field_schema = schema["properties"][name]
            if self._is_text(name):  # the pattern replaces the model's own length bounds
                field_schema = {k: v for k, v in field_schema.items()
                                if k not in ("minLength", "maxLength")}
                bounds = text_schema(low, high)
            else:
                bounds = {"minimum": low, "maximum": high}
            schema["properties"][name] = {**field_schema, **bounds}
        schema["additionalProperties"] = False
        return schema

    def _is_text(self, name: str) -> bool:
        return self.model.model_fields[name].annotation is str

    def _wrapped_schema(self) -> dict[str, Any]:
        if not self.reasoning:
            return self.answer_schema()
        schema = self.answer_schema()
        properties = {"reasoning": _reasoning_schema(),
                      **schema["properties"]}
        return {**schema, "properties": properties,
                "required": ["reasoning", *schema.get("required", [])]}

    def check(self, value: Any) -> M:
        if isinstance(value, self.model):
            answer = value
        else:
            if not isinstance(value, dict):
                raise AnswerError(f"expected a JSON object, got {_clip(repr(value))}")
            # strings cleaned like model text, so an answer never holds what the log refuses
            value = {k: _clean_strings(v) for k, v in value.items() if k != "reasoning"}
            try:
                answer = self.model.model_validate(value)
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "answer"
                raise AnswerError(f"{where}: {first['msg']}") from None
        for name, (low, high) in self.limits.items():
            value = getattr(answer, name)
            if self._is_text(name):
                if not low <= len(value) <= high:
                    raise AnswerError(f"{name} has {len(value)} characters, outside "
                                      f"[{low:g}, {high:g}]")
            elif not low <= value <= high:
                raise AnswerError(f"{name}={value!r} is outside [{low:g}, {high:g}]")
        return answer

    def _parse(self, text: str) -> M:
        return self.check(_load_json_object(text))

    def encode(self, answer: M) -> str:
        obj = {"reasoning": ""} if self.reasoning else {}
        obj.update(answer.model_dump(mode="json"))
        return json.dumps(obj, ensure_ascii=False)

    def to_json(self, answer: M) -> Any:
        return answer.model_dump(mode="json")

    def sample(self, rng: np.random.Generator) -> M:
        values = {}
        for name, info in self.model.model_fields.items():
            bounds = self.limits.get(name) or _field_bounds(info)
            values[name] = _sample_type(info.annotation, bounds, rng)
        return self.model.model_validate(values)


# -- helpers ---------------------------------------------------------------------------------------
_FILLER = ("I", "think", "we", "should", "trust", "each", "other", "and", "share", "fairly",
           "today", "maybe", "not", "sure", "agree")


def _clip(text: str, limit: int = 80) -> str:
    text = text.replace("\n", " ")
    return repr(text) if len(text) <= limit else repr(text[:limit] + "…")


def _unexpected(err: Exception) -> AnswerError:
    """An `AnswerError` for an exception a hostile answer caused (named, message clipped)."""
    detail = str(err) if not isinstance(err, RecursionError) else "nested too deeply"
    return AnswerError(f"unreadable answer ({type(err).__name__}: {_clip(detail)})")


_ESCAPE = re.compile(r"\\[bfru]")
"""JSON escapes that can decode to characters the cleaning rule removes or replaces."""


def _load_json_object(text: str) -> dict[str, Any]:
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`").removeprefix("json").strip()
    start, end = stripped.find("{"), stripped.rfind("}")
    if start < 0 or end < start:
        raise AnswerError(f"expected a JSON object, got {_clip(text)}")
    body = stripped[start : end + 1]
    try:
        # strict=False: a line break inside a string is accepted, since cleaning turns a valid
        # JSON string's U+2028 or U+0085 into one
        obj = json.loads(body, strict=False)
    except json.JSONDecodeError as err:
        raise AnswerError(f"invalid JSON ({err.msg}) in {_clip(text)}") from None
    except ValueError as err:  # an integer beyond Python's digit limit
        raise AnswerError(f"invalid JSON ({_clip(str(err))}) in {_clip(text)}") from None
    except RecursionError:
        raise AnswerError(f"invalid JSON (nested too deeply) in {_clip(text)}") from None
    if not isinstance(obj, dict):
        raise AnswerError(f"expected a JSON object, got {_clip(text)}")
    return _clean_strings(obj) if _ESCAPE.search(body) or not is_clean(body) else obj


def _clean_strings(value: Any) -> Any:
    """`value` with every string in it (keys too) cleaned by `clean_model_text`."""
    if isinstance(value, str):
        return clean_model_text(value)
    if isinstance(value, dict):
        return {clean_model_text(k): _clean_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_strings(v) for v in value]
    return value


def _field_bounds(info: Any) -> tuple[float, float] | None:
    low = high = None
    for meta in info.metadata:
        low = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else low
        high = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else high
    return None if low is None or high is None else (low, high)


def _sample_type(annotation: Any, bounds: tuple[float, float] | None,
                 rng: np.random.Generator) -> Any:
    origin = get_origin(annotation)
    if origin is Literal:
        choices = get_args(annotation)
        return choices[int(rng.integers(len(choices)))]
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return _sample_type(options[0], bounds, rng)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        members = list(annotation)
        return members[int(rng.integers(len(members)))]
    if annotation is bool:
        return bool(rng.integers(2))
    if annotation is int:
        low, high = bounds or (0, 10)
        return int(rng.integers(math.ceil(low), math.floor(high) + 1))
    if annotation is float:
        low, high = bounds or (0.0, 1.0)
        return float(rng.uniform(low, high))
    if annotation is str:
        text = " ".join(_FILLER[int(i)] for i in rng.integers(len(_FILLER), size=4))
        return text[: int(bounds[1])] if bounds else text
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {name: _sample_type(f.annotation, _field_bounds(f), rng)
                for name, f in annotation.model_fields.items()}
    raise TypeError(f"cannot sample a random value of type {annotation!r}; give the question a "
                    "fallback or answer it with a scripted strategy")

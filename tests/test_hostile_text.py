"""Hostile model text: parsing never crashes, and nothing it holds can break the log.

Two halves (issue 11, failures 3 and 6):

* property tests push generated malformed answers (any unicode with lone surrogates and
  controls, JSON of wrong types, integers past Python's 4,300-digit limit, nesting 5,000 deep,
  NaN and Infinity, near-valid answers with one thing wrong) through `parse` and `from_json` of
  every question shape: each returns an answer that fits the shape or raises `AnswerError`,
  nothing else;
* runs of the ``societas`` console script against a real OpenAI-compatible server on loopback
  (`tests.test_openai_malformed.ChatServer`) whose replies hold a lone surrogate, raw control and
  line-separator characters, a 5,000-digit integer or arrays nested 5,000 deep: each run
  completes, counts what was invalid, and its Parquet log reads back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field

from societas import simulator
from societas.simulator._questions import AnswerError, Choice, Form, Number, Question, Text
from societas.simulator._text import clean_model_text
from tests.test_openai_malformed import (
    ChatServer,
    Reply,
    any_text,
    calls_table,
    chat_reply,
    donor_run,
    huge_ints,
    json_values,
    serve,
    valid_content,
)

__all__ = ["serve"]  # the fixture, imported for this module's tests


class Pledge(BaseModel):
    """A form answer with a choice, numeric and text fields."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["give", "keep"]
    amount: float = Field(ge=0)
    count: int
    say: str


QUESTIONS: dict[str, Question[Any]] = {
    "choice": Choice(name="q", prompt="", options=("give", "keep", "punish")),
    "choice with reasoning": Choice(name="q", prompt="", options=("give", "keep"),
                                    reasoning=True),
    "choice of integers": Choice(name="q", prompt="", options=(0, 1, 10)),
    "integer": Number(name="q", prompt="", low=-3, high=12, integer=True),
    "float": Number(name="q", prompt="", low=-2.5, high=7.25),
    "float with reasoning": Number(name="q", prompt="", low=0, high=1e6, reasoning=True),
    "text, word bound": Text(name="q", prompt="", max_words=4),
    "text, char bound": Text(name="q", prompt="", max_words=30, max_chars=25),
    "form": Form(name="q", prompt="", model=Pledge,
                 limits={"amount": (0, 10), "count": (1, 5), "say": (1, 30)}),
    "form with reasoning": Form(name="q", prompt="", model=Pledge, reasoning=True,
                                limits={"amount": (0.5, 2), "say": (2, 12)}),
}
EXAMPLES = 500
"""Generated answers per (shape, method): 10 shapes x 2 methods x 500 = 10,000 in all."""

DEEP = st.integers(1000, 6000)
"""Nesting depths around and past the recursion limit (5,000 deep included)."""
NON_FINITE = ["NaN", "Infinity", "-Infinity", "nan", "inf", "-inf", "1e999", "-1e999", "1e308"]


def nested(depth: int, leaf: Any = 1) -> Any:
    """A Python list `depth` deep."""
    for _ in range(depth):
        leaf = [leaf]
    return leaf


# -- generated raw texts (for parse) -------------------------------------------------------------
def wrap(question: Question[Any], value: Any, reasoning: Any) -> dict[str, Any]:
    """`value` where the question expects its answer (beside an optional reasoning)."""
    obj = {"reasoning": reasoning} if reasoning is not None else {}
    if isinstance(question, Form) and isinstance(value, dict):
        return {**obj, **value}
    return {**obj, question.json_answer_key: value}


def json_text(value: Any, ensure_ascii: bool) -> str:
    try:
        return json.dumps(value, ensure_ascii=ensure_ascii)
    except ValueError:  # an integer past the digit limit: write it by hand
        return '{"answer": 7' + "0" * 4400 + "}"


def near_valid(question: Question[Any], seed: int, edit: int, position: int, char: str) -> str:
    """A valid answer's canonical text with one edit: a character in, one out, or cut short."""
    text = question.encode(question.sample(np.random.default_rng(seed)))
    at = position % (len(text) + 1)
    if edit == 0:
        return text[:at] + char + text[at:]
    if edit == 1:
        return text[:at] + text[at + 1:]
    if edit == 2:
        return text[:at]
    if edit == 3:
        return f"```json\n{text}\n```{char}"
    return text.replace("0", char).replace('"', char * 2)


def raw_texts(question: Question[Any]) -> st.SearchStrategy[str]:
    """Malformed (and a few valid) raw answers for `question`."""
    reasoning = st.one_of(st.none(), any_text, json_values)
    decoys = st.one_of(json_values, st.dictionaries(st.sampled_from(list(Pledge.model_fields)),
                                                    json_values, max_size=5))
    return st.one_of(
        any_text,
        st.builds(lambda v, r, a: json_text(wrap(question, v, r), a), decoys, reasoning,
                  st.booleans()),
        st.builds(lambda pre, body, post: pre + body + post, any_text,
                  st.builds(lambda v, a: json_text(wrap(question, v, None), a), decoys,
                            st.booleans()), any_text),
        st.integers(4301, 6000).map(lambda n: "7" * n),
        st.integers(4301, 6000).map(lambda n: '{"answer": ' + "7" * n + "}"),
        st.integers(4301, 6000).map(lambda n: '{"action": "give", "amount": 1, "count": '
                                    + "7" * n + ', "say": "hi"}'),
        DEEP.map(lambda n: '{"answer": ' + "[" * n + "]" * n + "}"),
        DEEP.map(lambda n: '{"say": ' + '{"a": ' * n + "1" + "}" * n + "}"),
        DEEP.map(lambda n: "[" * n),
        st.sampled_from(NON_FINITE).map(lambda s: s),
        st.sampled_from(NON_FINITE).map(lambda s: '{"answer": ' + s + "}"),
        st.sampled_from(NON_FINITE).map(lambda s: '{"action": "keep", "amount": ' + s
                                        + ', "count": 2, "say": "ok"}'),
        st.integers(0, 2**32).map(lambda seed: question.encode(
            question.sample(np.random.default_rng(seed)))),  # valid, to check what passes
        st.builds(lambda *args: near_valid(question, *args), st.integers(0, 2**32),
                  st.integers(0, 4), st.integers(0, 200),
                  st.one_of(st.characters(exclude_categories=()), st.just("\ud800"))),
    )


# -- generated JSON values (for from_json) --------------------------------------------------------
def mutated(question: Question[Any], seed: int, field_value: Any) -> Any:
    """A valid answer's JSON value with one field (or the whole value) replaced."""
    value = question.to_json(question.sample(np.random.default_rng(seed)))
    if isinstance(value, dict):
        name = sorted(value)[seed % len(value)]
        return {**value, name: field_value}
    return field_value


def json_answers(question: Question[Any]) -> st.SearchStrategy[Any]:
    """Malformed (and a few valid) decoded JSON values for `question`."""
    odd = st.one_of(json_values, huge_ints, DEEP.map(nested),
                    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0]))
    return st.one_of(
        odd,
        st.integers(0, 2**32).map(lambda seed: question.to_json(
            question.sample(np.random.default_rng(seed)))),  # valid, to check what passes
        st.dictionaries(st.sampled_from([*Pledge.model_fields, "reasoning"]), odd, max_size=5),
        st.builds(lambda seed, v: mutated(question, seed, v), st.integers(0, 2**32), odd),
        st.builds(lambda seed, s: mutated(question, seed, s), st.integers(0, 2**32),
                  any_text),
        DEEP.map(lambda n: {"action": "give", "amount": 1, "count": 1, "say": nested(n)}),
    )


# -- the contract ------------------------------------------------------------------------------
def is_clean(text: str) -> bool:
    return clean_model_text(text) == text


def assert_fits(question: Question[Any], answer: Any) -> None:
    """`answer` fits the shape, and `check` accepts it again unchanged."""
    if isinstance(question, Choice):
        assert any(answer == o and type(answer) is type(o) for o in question.options)
    elif isinstance(question, Number):
        assert type(answer) is (int if question.integer else float)
        assert math.isfinite(answer) and question.low <= answer <= question.high
    elif isinstance(question, Text):
        assert isinstance(answer, str) and is_clean(answer)
        assert 1 <= len(answer.split()) <= question.max_words
        assert len(answer) <= question.char_limit
    else:
        assert isinstance(question, Form) and isinstance(answer, Pledge)
        Pledge.model_validate(answer.model_dump())
        assert is_clean(answer.say)
        for name, (low, high) in question.limits.items():
            value = getattr(answer, name)
            assert low <= (len(value) if isinstance(value, str) else value) <= high
    assert question.check(answer) == answer


def assert_answer_or_answer_error(question: Question[Any], attempt: Callable[[], Any]) -> None:
    """`attempt()` returns an answer that fits, or raises `AnswerError` with a clean message.

    Any other exception escapes and fails the test.
    """
    try:
        answer = attempt()
    except AnswerError as err:
        assert is_clean(str(err)) and str(err)
        return
    assert_fits(question, answer)


def count_examples(prop: Callable[[], None], seen: list[None]) -> None:
    """Run a hypothesis property and check that it really ran `EXAMPLES` times."""
    prop()
    assert len(seen) >= EXAMPLES


HYPOTHESIS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow,
                                             HealthCheck.data_too_large])


@pytest.mark.slow
@pytest.mark.parametrize("shape", list(QUESTIONS))
def test_parse_returns_an_answer_that_fits_or_raises_answer_error(shape):
    question, seen = QUESTIONS[shape], []

    @HYPOTHESIS
    @given(text=raw_texts(question))
    def prop(text: str) -> None:
        seen.append(None)
        assert_answer_or_answer_error(question, lambda: question.parse(text))

    count_examples(prop, seen)


@pytest.mark.slow
@pytest.mark.parametrize("shape", list(QUESTIONS))
def test_from_json_returns_an_answer_that_fits_or_raises_answer_error(shape):
    question, seen = QUESTIONS[shape], []

    @HYPOTHESIS
    @given(value=json_answers(question))
    def prop(value: Any) -> None:
        seen.append(None)
        assert_answer_or_answer_error(question, lambda: question.from_json(value))

    count_examples(prop, seen)


@pytest.mark.parametrize("shape", list(QUESTIONS))
def test_each_kind_of_hostile_answer_is_an_answer_error(shape):
    """The named cases, so that a failure says which one (the properties above may shrink)."""
    question = QUESTIONS[shape]
    texts = ["7" * 5000, '{"answer": ' + "7" * 5000 + "}", '{"answer": ' + "[" * 5000
             + "]" * 5000 + "}", "[" * 5000, '{"answer": NaN}', '{"answer": Infinity}',
             '{"answer": {"x": 1}}', '{"answer": [1, 2]}', '{"answer": null}', "\ud800",
             '{"action": "give", "amount": NaN, "count": 1, "say": "x"}']
    for text in texts:
        with pytest.raises(AnswerError):
            question.parse(text)
    for value in [7 * 10**5000, nested(5000), math.nan, math.inf, None, [1, 2], {"x": [1]}]:
        with pytest.raises(AnswerError):
            question.from_json(value)


def test_escaped_surrogates_and_controls_are_cleaned_in_answers():
    text = QUESTIONS["text, word bound"]
    assert text.parse('{"answer": "a\\ud800b \\u001b[2Jc"}') == "a\ufffdb [2Jc"
    assert text.parse('{"answer": "a\ud800b \x1b[2Jc"}') == "a\ufffdb [2Jc"  # raw, not escaped
    assert text.from_json("one\u2028two\x85three\x00") == "one\ntwo\nthree"
    form = QUESTIONS["form"]
    answer = form.parse('{"action": "give", "amount": 1, "count": 2, "say": "hi\\udfff\\u009b"}')
    assert answer.say == "hi\ufffd"
    assert form.from_json({"action": "keep", "amount": 0, "count": 1,
                           "say": "\x1b]8;;x\x07a"}).say == "]8;;xa"


# -- runs against a hostile server -----------------------------------------------------------------
RAW = "\u2028\u2029\x85\x7f\x9b"
"""Line separators, NEL, DEL and a C1 control: sent raw (UTF-8) inside the reply's JSON."""
SUFFIX = "\ud800\x0b\u2028\x1b[2J"
"""Raw noise after the answer's JSON object: a surrogate, VT, LS and a clear-screen escape."""
STRATEGY = '{"answer": "share \ud800 and \\udfff fairly' + RAW + ' \\u001b[2J always"}'
"""A strategy answer holding a lone surrogate twice: once raw in the content (the HTTP body
escapes it) and once as an escape in the answer's own JSON, and an escaped ESC."""
CLEAN_STRATEGY = "share \ufffd and \ufffd fairly\n\n\n [2J always"
"""What the log must hold for it: surrogates replaced, line breaks LF, controls gone."""


def hostile_chat(request: dict[str, Any], server: ChatServer) -> Reply:
    """A valid answer wrapped in hostile characters; strategy texts hold them inside too."""
    content = valid_content(request)
    if content.startswith('{"answer": "'):  # the donor game's strategy question (text)
        content = STRATEGY
    content += SUFFIX
    body = json.dumps({"choices": [{"message": {"content": content}}]}, ensure_ascii=False)
    # a lone surrogate travels as the JSON escape "\ud800" (UTF-8 cannot hold it raw); the
    # other characters stay raw, as a careless server writes them
    body = body.replace("\ud800", "\\ud800")
    assert "\\ud800" in body and "\u2028" in body
    return Reply(body.encode("utf-8"))


def test_a_reply_with_a_lone_surrogate_completes_and_the_log_reads_back(serve, tmp_path):
    # Before issue 11 this run died: the surrogate went into the event and call buffers as is,
    # and pyarrow's UTF-8 encoding raised UnicodeEncodeError ("surrogates not allowed") when
    # the buffer flushed inside `finally: log.close()`; the manifest stayed "running" without
    # counts and every buffered row was lost. Now `Response` cleans the reply, and `parse`
    # cleans what the answer's own JSON escapes decode to.
    server = serve(hostile_chat)
    done = donor_run(server, tmp_path, "max_fallback_share=0")
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "r"
    manifest = simulator.read_manifest(run_dir)
    assert manifest["status"] == "completed"
    counts = manifest["counts"]
    assert counts["model_answers"] == server.chats == counts["call_rows"] > 0
    assert counts["model_fallbacks"] == counts["parse_failures"] == 0
    events = pq.read_table(run_dir / "events").to_pylist()
    calls = calls_table(run_dir)
    assert len(events) == counts["event_rows"] and len(calls) == counts["call_rows"]
    strategies = [json.loads(e["data"])["strategy"] for e in events
                  if e["kind"] == "strategy_chosen"]
    assert len(strategies) == 4 and all(s == CLEAN_STRATEGY for s in strategies)
    assert all(c["raw_text"].endswith("}\ufffd\n\n[2J") for c in calls)
    for table in (events, calls):
        for row in table:
            for value in row.values():
                assert not isinstance(value, str) or is_clean(value)


def bad_number_chat(bad: str) -> Callable[[dict[str, Any], ChatServer], Reply]:
    """Answers every question with `bad` where the donation should be; strategies are fine."""
    def chat(request: dict[str, Any], server: ChatServer) -> Reply:
        content = valid_content(request)
        if '"answer": 0' in content:
            return chat_reply('{"answer": ' + bad + "}")
        return chat_reply(content)
    return chat


@pytest.mark.parametrize(("bad", "error"), [
    ("7" * 5000, "Exceeds the limit (4300 digits)"),
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
])
def test_answers_that_crashed_parse_are_counted_invalid(bad, error, serve, tmp_path):
    # Before issue 11 `parse` caught only JSONDecodeError: int() raised ValueError on the
    # 5,000-digit integer and json.loads raised RecursionError on the nesting, out of the engine,
    # and the whole run crashed. Now both are invalid answers, counted, their error logged.
    server = serve(bad_number_chat(bad))
    done = donor_run(server, tmp_path, "max_fallback_share=1.0")
    assert done.returncode == 0, done.stderr
    manifest = simulator.read_manifest(tmp_path / "r")
    assert manifest["status"] == "completed"
    counts = manifest["counts"]
    calls = calls_table(tmp_path / "r")
    donations = [c for c in calls if c["question"] == "donate"]
    strategies = [c for c in calls if c["question"] == "strategy"]
    # every donation failed 3 times (max_attempts) and fell back; every strategy parsed
    assert donations and len(donations) == 3 * counts["fallbacks"]
    assert counts["parse_failures"] == len(donations) == counts["invalid_by_question"]["donate"]
    assert counts["model_fallbacks"] == counts["fallbacks"]
    assert counts["transport_failures"] == 0
    assert all(error in c["error"] and "\n" not in c["error"] for c in donations), donations[0]
    assert all(c["fallback"] == (c["attempt"] == 2) for c in donations)
    assert all(c["error"] is None for c in strategies)

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from societas.simulator.scenario import AnswerError, Choice, Form, Number, Text


class Vote(BaseModel):
    target: str
    confidence: float = Field(ge=0, le=1)


def test_choice_constraint_is_the_option_list_and_parses_only_options():
    q = Choice(name="vote", prompt="Vote", options=["p1", "p2", 3])
    assert q.constraint().choice == ("p1", "p2", "3")
    assert q.parse(" p2\n") == "p2"
    assert q.parse("3") == 3  # the original option object comes back
    with pytest.raises(AnswerError, match="not one of"):
        q.parse("p9")


def test_choice_with_reasoning_uses_a_json_schema_with_an_enum():
    q = Choice(name="vote", prompt="Vote", options=["a", "b"], reasoning=True)
    schema = q.constraint().json_schema
    assert schema["properties"]["answer"]["enum"] == ["a", "b"]
    assert schema["required"] == ["reasoning", "answer"]
    assert q.parse('{"reasoning": "b is shifty", "answer": "b"}') == "b"
    with pytest.raises(AnswerError):
        q.parse('{"reasoning": "x", "answer": "c"}')


def test_number_bounds_are_in_the_schema_and_enforced():
    q = Number(name="bid", prompt="Bid", low=0, high=4, integer=True)
    assert q.answer_schema() == {"type": "integer", "minimum": 0, "maximum": 4}
    assert q.parse('{"answer": 3}') == 3
    assert q.parse("2") == 2
    for bad in ('{"answer": 5}', '{"answer": 2.5}', '{"answer": "x"}', "nonsense", '{"a": 1}'):
        with pytest.raises(AnswerError):
            q.parse(bad)


def test_text_cuts_long_answers_and_rejects_empty_ones():
    q = Text(name="say", prompt="Speak", max_words=3)
    assert q.parse('{"answer": "one two three four five"}') == "one two three"
    with pytest.raises(AnswerError, match="empty"):
        q.parse('{"answer": "   "}')


def test_form_applies_per_question_limits():
    q = Form(name="vote", prompt="Vote", model=Vote, limits={"confidence": (0.5, 1.0)})
    schema = q.constraint().json_schema
    assert schema["properties"]["confidence"]["minimum"] == 0.5
    assert q.parse('{"target": "p1", "confidence": 0.9}') == Vote(target="p1", confidence=0.9)
    with pytest.raises(AnswerError, match="confidence"):
        q.parse('{"target": "p1", "confidence": 0.2}')
    with pytest.raises(AnswerError):
        q.parse('{"target": "p1"}')
    with pytest.raises(ValueError, match="unknown fields"):
        Form(name="x", prompt="x", model=Vote, limits={"nope": (0, 1)})


class Said(BaseModel):
    say: str = Field(max_length=1000)


def test_form_limits_bound_the_length_of_text_fields():
    q = Form(name="debate", prompt="Speak", model=Said, limits={"say": (1, 12)})
    pattern = re.compile(q.answer_schema()["properties"]["say"]["pattern"])
    assert pattern.match("short") and pattern.match("twelve chars")
    assert not pattern.match("thirteen char") and not pattern.match("")
    assert q.parse('{"say": "short"}') == Said(say="short")
    with pytest.raises(AnswerError, match="say has 13 characters"):
        q.parse('{"say": "far too long."}')
    assert len(q.sample(np.random.default_rng(3)).say) <= 12


SHAPES = [
    Choice(name="c", prompt="", options=["x", "y", "z"]),
    Choice(name="c", prompt="", options=[1, 2], reasoning=True),
    Number(name="n", prompt="", low=-2, high=2),
    Number(name="n", prompt="", low=0, high=10, integer=True, reasoning=True),
    Text(name="t", prompt="", max_words=5),
    Form(name="f", prompt="", model=Vote, reasoning=True),
]


@pytest.mark.parametrize("question", SHAPES, ids=lambda q: type(q).__name__)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_sampled_answer_round_trips_through_encode_and_parse(question, seed):
    answer = question.sample(np.random.default_rng(seed))
    assert question.parse(question.encode(answer)) == answer
    assert question.from_json(json.loads(json.dumps(question.to_json(answer)))) == answer


def test_text_fields_decode_only_plain_characters_so_decoding_ends_within_its_bound():
    """A 135M model looping on emoji or escapes spends several tokens per character; the
    grammar vLLM compiles (xgrammar) must refuse them and accept prose in any script."""
    import xgrammar
    from vllm.v1.structured_output.backend_xgrammar import (
        has_xgrammar_unsupported_json_features,
    )
    from xgrammar.testing import _is_grammar_accept_string as accepts

    q = Form(name="debate", prompt="Speak", model=Said, limits={"say": (1, 40)})
    schema = q.constraint().json_schema
    assert not has_xgrammar_unsupported_json_features(schema)  # vLLM would refuse the request
    grammar = xgrammar.Grammar.from_json_schema(json.dumps(schema), any_whitespace=False)
    for said in ["I trust a3 — it’s obvious…", "café d'été, 你好", "x" * 40]:
        assert accepts(grammar, json.dumps({"say": said}, ensure_ascii=False)), said
    for said in ["👧👧", "a\u200db", "a\\u200db", 'say \\"hi\\"', "a\\nb", "x" * 41, ""]:
        assert not accepts(grammar, f'{{"say": "{said}"}}'), said

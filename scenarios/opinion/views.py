"""What an agent knows when asked about its opinion: typed views read by prompts and strategies.

`UpdateView` and `SpeakView` are shared by every opinion scenario (the debate uses them too), so
one set of classical strategies answers them all. Another agent's words reach a prompt only as
`quoted` text.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict


def quoted(text: str) -> str:
    """`text` as one JSON string literal, the way prompts show an agent's words.

    Quotes and line breaks are escaped, so the words can never start a line of their own in a
    prompt or a memory (a fake instruction after a newline stays inside the author's quotes).
    """
    return json.dumps(text, ensure_ascii=False)


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Heard(_View):
    """A message an agent read: its author, text, and the author's stated opinion.

    `opinion` is the author's latest reported opinion, which classical updaters use (the
    observable-opinion assumption of DeGroot and its relatives); models read only the text.
    """

    author: str
    text: str
    opinion: float

    @property
    def quoted(self) -> str:
        """The text as prompts show it: one JSON string literal (see `quoted`)."""
        return quoted(self.text)


class UpdateView(_View):
    """Asked for a (private) opinion report after reading messages."""

    name: str
    claim: str
    own: float
    anchor: float
    heard: tuple[Heard, ...] = ()
    low: int
    high: int
    reflection: str = ""

    def heard_opinions(self) -> list[float]:
        """The stated opinions of what was heard, in order."""
        return [h.opinion for h in self.heard]


class SpeakView(_View):
    """Asked for a public message about the claim."""

    name: str
    claim: str
    own: float
    anchor: float
    low: int
    high: int
    audience: str | None = None
    reflection: str = ""


class ReflectView(_View):
    """Asked to summarise what happened so far (reflective memory)."""

    name: str
    claim: str
    previous: str
    happened: str

"""The 15 topics of Chuang et al. (2024), each with a true and a false framing.

Claims follow the ``DICT_TOPIC_FRAMING_STATEMENT`` table of the authors' released code
(github.com/yunshiuan/llm-agent-opinion-dynamics), reworded only to read as one clause after
"Theory XYZ that claims that". The released table swaps the framings of the ``brain`` topic;
here the true framing is the true claim.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Framing = Literal["true", "false"]


class Topic(NamedTuple):
    """A claim with a known truth value, in its true and false framing."""

    category: str
    true: str
    false: str

    def claim(self, framing: Framing) -> str:
        """The claim as agents read it under `framing`."""
        return self.true if framing == "true" else self.false


TOPICS: dict[str, Topic] = {
    "flat_earth": Topic(
        "science", "the Earth is an irregularly shaped ellipsoid rather than flat",
        "the Earth is flat"),
    "trex": Topic(
        "science", "the Tyrannosaurus Rex and humans did not co-exist on Earth at the same time",
        "the Tyrannosaurus Rex and humans co-existed on Earth at the same time"),
    "talk_death": Topic(
        "science", "it is not possible for humans to communicate with the dead",
        "it is possible for humans to communicate with the dead"),
    "palm": Topic(
        "science", "it is not possible to predict someone's future by looking at their palm "
        "characteristics",
        "it is possible to predict someone's future by looking at their palm characteristics"),
    "global_warming": Topic(
        "science", "global warming is a real phenomenon and global climate is rapidly growing "
        "warmer",
        "global warming is a conspiracy by governments worldwide and is not a real phenomenon"),
    "moon": Topic(
        "history", "US astronauts have landed on the moon",
        "US astronauts have not landed on the moon"),
    "twin_towers": Topic(
        "history", "the twin towers were not brought down from the inside by explosives during "
        "the 9/11 attack",
        "the twin towers were brought down from the inside by explosives during the 9/11 "
        "attack"),
    "holocaust": Topic(
        "history", "the Nazi government in Germany murdered approximately 6 million Jewish "
        "people during the second world war",
        "the Nazi government in Germany did not murder approximately 6 million Jewish people "
        "during the second world war"),
    "us_unemployment": Topic(
        "history", "the US unemployment rate in 2016 was lower than 40%",
        "the US unemployment rate in 2016 was higher than 40%"),
    "obama": Topic(
        "history", "Barack Obama was born in Hawaii", "Barack Obama was born in Kenya"),
    "bicycle": Topic(
        "common_sense", "a bicycle usually has two wheels", "a bicycle usually has four wheels"),
    "washington_dc": Topic(
        "common_sense", "Washington DC is in the United States",
        "Washington DC is not in the United States"),
    "brain": Topic(
        "common_sense", "human beings are born with a brain",
        "human beings are not born with a brain"),
    "fire": Topic("common_sense", "fire is hot", "fire is cold"),
    "sky": Topic(
        "common_sense", "on a clear sunny day, the sky is usually blue",
        "on a clear sunny day, the sky is usually red"),
}

LEVELS: dict[int, str] = {
    -2: "strongly negative", -1: "slightly negative", 0: "neutral", 1: "slightly positive",
    2: "strongly positive",
}
"""Chuang et al.'s opinion scale: the attitude towards Theory XYZ."""

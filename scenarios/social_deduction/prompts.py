"""Prompt blocks shared by social-deduction games: a player's memory and quoted transcripts."""

from __future__ import annotations

from collections.abc import Sequence

from societas.agents import MemorySnapshot
from societas.scenarios._templates import Prompts
from societas.scenarios.social_deduction.table import Line

BLOCKS = Prompts(__file__)


def render_memory(memory: MemorySnapshot) -> str:
    """Announcements, private observations and own notes (empty when there are none)."""
    return BLOCKS.render("memory", memory=memory)


def render_transcript(title: str, lines: Sequence[Line], me: str) -> str:
    """Speeches as quoted data under each speaker's name (``me`` is marked as you)."""
    return BLOCKS.render("transcript", title=title, lines=lines, me=me)

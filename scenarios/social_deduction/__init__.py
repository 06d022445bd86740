"""Shared core of social-deduction games: roles, memories, ballots and parity wins."""

from societas.agents import Note
from societas.scenarios.social_deduction.answers import SPEECH_MAX_CHARS, Speech, Summary
from societas.scenarios.social_deduction.config import MEMORY_CHANNELS, BallotRules, VotingRules
from societas.scenarios.social_deduction.events import Announced, RoleAssigned, Summarized, Voted
from societas.scenarios.social_deduction.kernels import (
    Majority,
    TieBreak,
    Verdict,
    count_votes,
    deal_roles,
    decide,
    parity_winner,
)
from societas.scenarios.social_deduction.moderator import announce, open_table, poll, record_roles
from societas.scenarios.social_deduction.prompts import render_memory, render_transcript
from societas.scenarios.social_deduction.table import Line, Public, Table

__all__ = [
    "MEMORY_CHANNELS", "SPEECH_MAX_CHARS", "Announced", "BallotRules", "Line", "Majority", "Note",
    "Public", "RoleAssigned", "Speech", "Summarized", "Summary", "Table", "TieBreak", "Verdict",
    "VotingRules", "Voted", "announce", "count_votes", "deal_roles", "decide", "open_table",
    "parity_winner", "poll", "record_roles", "render_memory", "render_transcript",
]

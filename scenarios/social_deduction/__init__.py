"""Shared core of social-deduction games: roles, memories, ballots and parity wins."""

from societas.scenarios.social_deduction.answers import SPEECH_MAX_CHARS, Speech, Summary
from societas.scenarios.social_deduction.config import BallotRules, MemoryLimits, VotingRules
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
from societas.scenarios.social_deduction.moderator import announce, poll, record_roles
from societas.scenarios.social_deduction.prompts import render_memory, render_transcript
from societas.scenarios.social_deduction.table import Line, Memory, Note, Public, Table

__all__ = [
    "SPEECH_MAX_CHARS", "Announced", "BallotRules", "Line", "Majority", "Memory",
    "MemoryLimits", "Note", "Public", "RoleAssigned", "Speech", "Summarized", "Summary", "Table",
    "TieBreak", "Verdict", "VotingRules", "Voted", "announce", "count_votes", "deal_roles",
    "decide", "parity_winner", "poll", "record_roles", "render_memory", "render_transcript",
]

"""Agents: personas, bounded memory and prompt rendering behind the engine's agent protocol."""

from agents._agent import Agent
from agents._memory import Memory
from agents._prompt import format_instructions, render_memory, render_persona

__all__ = ["Agent", "Memory", "format_instructions", "render_memory", "render_persona"]

"""Agents: personas, bounded memory and prompt rendering behind the engine's agent protocol."""

from societas.agents._agent import Agent
from societas.agents._memory import Memory
from societas.agents._prompt import format_instructions, render_memory, render_persona

__all__ = ["Agent", "Memory", "format_instructions", "render_memory", "render_persona"]

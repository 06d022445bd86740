"""Agents: personas, memory in bounded channels, prompt rendering behind the agent protocol."""

from societas.agents._agent import Agent
from societas.agents._memory import Memory, MemorySnapshot, Note
from societas.agents._prompt import format_instructions, render_memory, render_persona

__all__ = ["Agent", "Memory", "MemorySnapshot", "Note", "format_instructions", "render_memory",
           "render_persona"]

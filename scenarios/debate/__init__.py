"""Small-group debates with private and public opinions (DEBATE, Chuang et al. 2025)."""

from societas.scenarios.debate.rules import Debate, DebateConfig

__all__ = ["Debate", "DebateConfig"]
